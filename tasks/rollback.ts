import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { renderRollback, rollbackJson } from "../src/ui/approval-view.js";
import { requireOption } from "../src/approval/cli-args.js";
import { openApprovalContext } from "../src/approval/hardhat-context.js";
import { type RollbackOutcome, cancelRollback, executeRollback, rollbackNow, scheduleRollback } from "../src/approval/release-window.js";
import { BlueGreenError } from "../src/errors.js";
import { runCommand } from "../src/ui/output.js";

interface RollbackArgs {
  release: string;
  execute: boolean;
  cancel: boolean;
  now: boolean;
  signer: string;
  json: boolean;
}

export default async function rollback(args: RollbackArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  let outcome: RollbackOutcome | undefined;
  let verb = "Rollback";
  await runCommand(
    args.json,
    async () => {
      const release = requireOption(args.release, "--release <id>");
      if ([args.execute, args.cancel, args.now].filter(Boolean).length > 1) {
        throw new BlueGreenError("BG_APPROVAL_CLI_ARGS", "Pass at most one of --execute, --cancel and --now.");
      }
      const ctx = await openApprovalContext(hre, args.signer);
      const signer = await ctx.signer();
      if (args.execute) outcome = await executeRollback(ctx, release, { signer });
      else if (args.cancel) {
        verb = "The veto";
        outcome = await cancelRollback(ctx, release, { executor: signer });
      } else if (args.now) {
        verb = "The immediate rollback";
        outcome = await rollbackNow(ctx, release, { executor: signer });
      } else outcome = await scheduleRollback(ctx, release, { signer });
      return rollbackJson(outcome);
    },
    () => renderRollback(outcome!, verb),
  );
}
