import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { releaseStatus, type ChainStatus } from "../src/release/release-status.js";
import { ReleaseStore } from "../src/release/store.js";
import { runCommand } from "../src/ui/output.js";
import { renderStatus, statusJson } from "../src/ui/release-view.js";

interface StatusArgs {
  release: string;
  json: boolean;
}

export default async function status(args: StatusArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  let view: ChainStatus | undefined;
  let network = "";
  await runCommand(
    args.json,
    async () => {
      const connection = await hre.network.getOrCreate();
      network = connection.networkName;
      const store = new ReleaseStore(hre.config.blueGreen.recordsDir);
      view = await releaseStatus(connection.provider, store, hre.config.paths.root, args.release || undefined, { ethers: connection.ethers.provider });
      return statusJson(view, network);
    },
    () => renderStatus(view!, network),
  );
}
