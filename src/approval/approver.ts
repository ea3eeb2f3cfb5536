/**
 * Who acts for the switch's approver: a Safe (1.3.0 or 1.4.1), a plain
 * account, or a TimelockController's proposer (itself a Safe or an account)
 * scheduling the call on the timelock.
 */
import { type Provider, getAddress } from "ethers";

import { BlueGreenError } from "../errors.js";
import type { Actor, ApprovalEnv } from "./proposal-schema.js";
import { type SafeState, readSafeState } from "./safe-transaction.js";
import { type TimelockOperation, assertCanPropose, readTimelockDelay, timelockOperation } from "./timelock.js";
import { ethersProvider } from "./chain.js";

/** The switch's approver as the approval path drives it: who acts, and the timelock in between if there is one. */
export async function resolveApprover(
  env: ApprovalEnv,
  approver: string,
  proposalId: string,
  call: { to: string; data: string },
): Promise<{ actor: Actor; timelock?: TimelockOperation }> {
  const addr = getAddress(approver);
  const code = await ethersProvider(env).getCode(addr);
  if (code !== "0x") {
    const delay = await readTimelockDelay(ethersProvider(env), addr);
    if (delay !== undefined) {
      if (env.timelockProposer === undefined) {
        throw new BlueGreenError(
          "BG_APPROVAL_APPROVER_KIND",
          `The switch's approver ${addr} is a TimelockController. Set blueGreen.approval.timelockProposer in hardhat.config.ts ` +
            "to the Safe (or, on a development network, the account) that holds its PROPOSER_ROLE.",
        );
      }
      const proposer = getAddress(env.timelockProposer);
      await assertCanPropose(ethersProvider(env), addr, proposer);
      const actor = await describeActor(ethersProvider(env), proposer);
      return { actor, timelock: timelockOperation(addr, call, proposalId, delay) };
    }
  }
  return { actor: await describeActor(ethersProvider(env), addr) };
}

/**
 * Says whether an account is a Safe (1.3.0+) or a plain account. Any other
 * contract is refused: the approval path would not know how to make it act.
 */
export async function describeActor(provider: Provider, account: string): Promise<Actor> {
  const addr = getAddress(account);
  if ((await provider.getCode(addr)) === "0x") return { kind: "account", address: addr };
  let state: SafeState;
  try {
    state = await readSafeState(provider, addr);
  } catch (error) {
    // A Safe of a version we do not sign for says so; anything else is not a Safe at all.
    if (BlueGreenError.is(error, "BG_APPROVAL_SAFE_VERSION")) throw error;
    throw new BlueGreenError(
      "BG_APPROVAL_APPROVER_KIND",
      `The approver ${addr} is a contract but neither a Safe (1.3.0 or 1.4.1) nor a TimelockController; hardhat-bluegreen proposes through those and plain accounts only. ` +
        "Rotate the switch's approver (bg:call propose --function proposeApprover), or make the call with that contract's own tooling.",
      { cause: error as Error },
    );
  }
  return { kind: "safe", address: addr, version: state.version, threshold: state.threshold, owners: state.owners };
}
