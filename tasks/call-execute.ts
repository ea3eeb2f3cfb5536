import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { executeJson, renderExecute } from "../src/ui/approval-view.js";
import { requireOption } from "../src/approval/cli-args.js";
import type { ExecuteOutcome } from "../src/approval/execute.js";
import { openApprovalContext } from "../src/approval/hardhat-context.js";
import { executeFlow } from "../src/approval/pipeline.js";
import { approverCallFlow } from "../src/approval/release-window.js";
import { runCommand } from "../src/ui/output.js";

interface CallExecuteArgs {
  call: string;
  signer: string;
  json: boolean;
}

export default async function callExecute(args: CallExecuteArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  let outcome: ExecuteOutcome | undefined;
  await runCommand(
    args.json,
    async () => {
      const id = requireOption(args.call, "--call <id>");
      const ctx = await openApprovalContext(hre, args.signer);
      outcome = await executeFlow(ctx.env, await approverCallFlow(ctx, id), { executor: await ctx.signer() });
      return executeJson(outcome);
    },
    () => renderExecute(outcome!),
  );
}
