/** eth_call before anything is proposed or sent, so a call that would revert is refused with its reason. */
import { BlueGreenError } from "../errors.js";
import type { ApprovalEnv } from "./proposal-schema.js";
import { decodeSwitchRevert } from "../switch/read-switch.js";
import { explainSwitchRevert, isExplainedSwitchRevert } from "../switch/switch-errors.js";
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
    // One of the switch's own errors is said as the switch's explanation (what it means, what to do); anything else as decoded.
    const revert = await decodeSwitchRevert(error, env.errors).catch(() => undefined);
    const why = revert !== undefined && isExplainedSwitchRevert(revert) ? ` ${explainSwitchRevert(revert)}` : `: ${describeRevert(error, env.errors)}.`;
    throw new BlueGreenError("BG_APPROVAL_SIMULATION", `${what} would fail if ${call.from} made it now${why} Nothing was proposed or sent.`, {
      cause: error as Error,
    });
  }
}
