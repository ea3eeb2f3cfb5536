import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { nextAfterPropose, proposeJson, renderPropose } from "../src/ui/approval-view.js";
import { defaultCallId, switchCallSpec } from "../src/approval/approver-call.js";
import { parseCallArgs, parseNonce, requireOption } from "../src/approval/cli-args.js";
import { openApprovalContext } from "../src/approval/hardhat-context.js";
import { callFlow, proposeFlow } from "../src/approval/pipeline.js";
import type { ProposeOutcome } from "../src/approval/propose.js";
import { runCommand } from "../src/ui/output.js";

interface CallProposeArgs {
  function: string;
  args: string;
  id: string;
  nonce: string;
  json: boolean;
}

export default async function callPropose(args: CallProposeArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  let outcome: ProposeOutcome | undefined;
  let id = "";
  await runCommand(
    args.json,
    async () => {
      const fn = requireOption(args.function, "--function <switch function>");
      const callArgs = parseCallArgs(args.args);
      const nonce = parseNonce(args.nonce);
      const ctx = await openApprovalContext(hre, "");
      const sw = { address: ctx.switchAddress, iface: ctx.env.errors };
      const draft = await switchCallSpec(ctx.env, sw, fn, callArgs, { id: args.id || "pending" });
      id = args.id || defaultCallId(draft);
      outcome = await proposeFlow(ctx.env, callFlow(ctx.store, ctx.env.chainId, id, sw), { ...draft, id }, nonce !== undefined ? { nonce } : {});
      return { ...proposeJson(outcome), call: id };
    },
    () => renderPropose(outcome!, `Call id: ${id}. ` + nextAfterPropose(outcome!.proposal, `--call ${id}`, `npx hardhat bg:call execute --call ${id}`)),
  );
}
