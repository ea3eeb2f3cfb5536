/** eth_call before anything is proposed or sent, so a call that would revert is refused with its reason. */
import { BlueGreenError } from "../errors.js";
import type { ApprovalEnv } from "./proposal-schema.js";
import { describeRevert } from "./revert.js";
import { ethersProvider } from "./chain.js";

/**
 * Calls `to` from `from` with eth_call and turns a revert into an error that
 * names the contract's custom error.
 */
export async function simulateCall(env: ApprovalEnv, call: { from: string; to: string; data: string }, what: string): Promise<void> {
  try {
    await ethersProvider(env).call({ from: call.from, to: call.to, data: call.data });
  } catch (error) {
    throw new BlueGreenError(
      "BG_APPROVAL_SIMULATION",
      `${what} would fail if ${call.from} made it now: ${describeRevert(error, env.errors)}. Nothing was proposed or sent.`,
      { cause: error as Error },
    );
  }
}
