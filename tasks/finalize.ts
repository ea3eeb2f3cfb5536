import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { finalizeJson, renderWindow } from "../src/ui/approval-view.js";
import { requireOption } from "../src/approval/cli-args.js";
import { openApprovalContext } from "../src/approval/hardhat-context.js";
import { finalizeRelease, type WindowOutcome } from "../src/approval/release-window.js";
import { runCommand } from "../src/ui/output.js";

interface FinalizeArgs {
  release: string;
  signer: string;
  json: boolean;
}

export default async function finalize(args: FinalizeArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  let outcome: WindowOutcome | undefined;
  await runCommand(
    args.json,
    async () => {
      const release = requireOption(args.release, "--release <id>");
      const ctx = await openApprovalContext(hre, args.signer);
      outcome = await finalizeRelease(ctx, release, { signer: await ctx.signer() });
      return finalizeJson(outcome);
    },
    () => renderWindow(outcome!, "An early finalize"),
  );
}
