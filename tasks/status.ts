import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import type { ApprovalStatus } from "../src/approval/approval-status.js";
import { ReleaseStore } from "../src/release/store.js";
import { releaseStatus, type ChainStatus } from "../src/status/release-status.js";
import { renderApprovalStatus } from "../src/ui/approval-view.js";
import { runCommand } from "../src/ui/output.js";
import { renderStatus, statusJson } from "../src/ui/release-view.js";
import { openConnection } from "../src/chain/hardhat-connection.js";

interface StatusArgs {
  release: string;
  json: boolean;
}

export default async function status(args: StatusArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  let view: ChainStatus | undefined;
  const approvals: Array<{ release: string } & ApprovalStatus> = [];
  let network = "";
  await runCommand(
    args.json,
    async () => {
      const connection = await openConnection(hre);
      network = connection.networkName;
      const store = new ReleaseStore(hre.config.blueGreen.recordsDir);
      view = await releaseStatus(connection.provider, store, hre.config.paths.root, args.release || undefined, { ethers: connection.ethers.provider });
      // A proposed or approved release may have moved on chain without this tool: the Safe app, another owner, a timelock.
      // bg:status read where each proposal stands (an executed one explains what the proxy runs); it is shown apart.
      for (const { record, approval } of view.releases) {
        if (approval !== undefined) approvals.push({ release: record.id, ...approval });
      }
      return { ...statusJson(view, network), approvals };
    },
    () => [renderStatus(view!, network), ...approvals.map((a) => renderApprovalStatus(a.release, a))].join("\n"),
  );
}
