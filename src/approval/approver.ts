/**
 * Who acts for the switch's approver: a Safe (1.3.0 or 1.4.1), a plain
 * account, or a TimelockController's proposer (itself a Safe or an account)
 * scheduling the call on the timelock. What the approver is comes from the
 * chain's one recognition (../chain/approver-kind.ts), the same bg:init and
 * bg:adopt check it with.
 */
import { type Provider, getAddress } from "ethers";

import { type ApproverKind, approverKindOf } from "../chain/approver-kind.js";
import { BlueGreenError } from "../errors.js";
import { undrivableApproverRecovery } from "../switch/approver-check.js";
import type { Actor, ApprovalEnv } from "./proposal-schema.js";
import { type TimelockOperation, assertCanPropose, timelockOperation } from "./timelock.js";
import { ethersProvider } from "./chain.js";

/** The switch's approver as the approval path drives it: who acts, and the timelock in between if there is one. */
export async function resolveApprover(
  env: ApprovalEnv,
  approver: string,
  proposalId: string,
  call: { to: string; data: string },
): Promise<{ actor: Actor; timelock?: TimelockOperation }> {
  const found = await approverKindOf(ethersProvider(env), approver);
  if (found.kind === "timelock") {
    if (env.timelockProposer === undefined) throw timelockWithoutProposer(found.address);
    const proposer = getAddress(env.timelockProposer);
    await assertCanPropose(ethersProvider(env), found.address, proposer);
    const actor = actorOf(await approverKindOf(ethersProvider(env), proposer), "timelockProposer");
    return { actor, timelock: timelockOperation(found.address, call, proposalId, found.minDelay) };
  }
  return { actor: actorOf(found, "approver", call.to) };
}

/**
 * Says whether an account is a Safe (1.3.0+) or a plain account. Any other
 * contract is refused: the approval path would not know how to make it act.
 */
export async function describeActor(provider: Provider, account: string): Promise<Actor> {
  return actorOf(await approverKindOf(provider, account), "approver");
}

/**
 * The actor the approval path makes act, or a coded refusal that says what
 * really recovers (never a call the refused contract itself would have to sign).
 */
function actorOf(found: ApproverKind, as: "approver" | "timelockProposer", switchAddress?: string): Actor {
  if (found.kind === "account") return { kind: "account", address: found.address };
  if (found.kind === "safe") {
    const { safe } = found;
    return { kind: "safe", address: found.address, version: safe.version, threshold: safe.threshold, owners: safe.owners };
  }
  if (as === "timelockProposer") {
    throw new BlueGreenError(
      "BG_APPROVAL_APPROVER_KIND",
      `blueGreen.approval.timelockProposer ${found.address} is ${found.kind === "timelock" ? "a TimelockController itself" : "a contract but neither a Safe (1.3.0 or 1.4.1) nor an account"}: ` +
        "hardhat-bluegreen schedules on the timelock through a Safe or a plain account only.",
      { hint: "Set timelockProposer to the Safe or account that holds PROPOSER_ROLE on the approver timelock, or grant that role to one through the timelock." },
    );
  }
  // A timelock acts through its proposer, which resolveApprover makes the actor.
  if (found.kind === "timelock") throw timelockWithoutProposer(found.address);
  throw new BlueGreenError(
    "BG_APPROVAL_APPROVER_KIND",
    `The switch's approver ${found.address} is a contract, but neither a Safe (1.3.0 or 1.4.1) nor a TimelockController; hardhat-bluegreen proposes through those and plain accounts only, ` +
      "so it can make no approver call of this switch, including proposeApprover. Nothing was proposed or sent.",
    { hint: undrivableApproverRecovery(switchAddress) },
  );
}

function timelockWithoutProposer(timelock: string): BlueGreenError {
  return new BlueGreenError(
    "BG_APPROVAL_APPROVER_KIND",
    `The switch's approver ${timelock} is a TimelockController. Set blueGreen.approval.timelockProposer in hardhat.config.ts ` +
      "to the Safe (or, on a development network, the account) that holds its PROPOSER_ROLE.",
  );
}
