import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { ReleaseStore } from "../src/release/store.js";
import { parseAddress } from "../src/stage/read-proxy.js";
import { type AdoptResult, adoptProxy } from "../src/switch/adopt-proxy.js";
import { requireSwitchFile } from "../src/switch/switch-file.js";
import { renderAdopt } from "../src/switch/switch-view.js";
import { runCommand } from "../src/ui/output.js";

interface AdoptArgs {
  proxy: string;
  json: boolean;
}

export default async function adopt(args: AdoptArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runCommand<AdoptResult>(
    args.json,
    async (out) => {
      const proxy = parseAddress(args.proxy, "--proxy");
      const connection = await hre.network.getOrCreate();
      const chainId = Number((await connection.ethers.provider.getNetwork()).chainId);
      const store = new ReleaseStore(hre.config.blueGreen.recordsDir);
      const recorded = await requireSwitchFile(store, chainId, connection.networkName);
      return adoptProxy({
        provider: connection.provider,
        ethersProvider: connection.ethers.provider,
        signers: await connection.ethers.getSigners(),
        switchAddress: recorded.address,
        proxy,
        networkName: connection.networkName,
        log: (line) => out.info(line),
      });
    },
    renderAdopt,
  );
}
