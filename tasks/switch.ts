import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { renderSwitch, switchJson } from "../src/ui/approval-view.js";
import { requireOption } from "../src/approval/cli-args.js";
import { openApprovalContext } from "../src/approval/hardhat-context.js";
import { type SwitchReleaseOutcome, switchRelease } from "../src/approval/release-switch.js";
import { runCommand } from "../src/ui/output.js";

interface SwitchArgs {
  release: string;
  signer: string;
  json: boolean;
}

export default async function switchTask(args: SwitchArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  let outcome: SwitchReleaseOutcome | undefined;
  await runCommand(
    args.json,
    async (out) => {
      const release = requireOption(args.release, "--release <id>");
      const ctx = await openApprovalContext(hre, args.signer);
      out.info(`Checking and executing the switch of release ${release}...`);
      outcome = await switchRelease(ctx, release, { executor: await ctx.signer() });
      return switchJson(outcome);
    },
    () => renderSwitch(outcome!),
  );
}
