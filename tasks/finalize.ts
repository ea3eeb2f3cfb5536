import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { finalizeJson, renderFinalize } from "../src/ui/approval-view.js";
import { requireOption } from "../src/approval/cli-args.js";
import { openApprovalContext } from "../src/approval/hardhat-context.js";
import { type FinalizeOutcome, finalizeRelease } from "../src/approval/release-window.js";
import { runCommand } from "../src/ui/output.js";

interface FinalizeArgs {
  release: string;
  signer: string;
  json: boolean;
}

export default async function finalize(args: FinalizeArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  let outcome: FinalizeOutcome | undefined;
  await runCommand(
    args.json,
    async () => {
      const release = requireOption(args.release, "--release <id>");
      const ctx = await openApprovalContext(hre, args.signer);
      outcome = await finalizeRelease(ctx, release, { signer: await ctx.signer() });
      return finalizeJson(outcome);
    },
    () => renderFinalize(outcome!),
  );
}
