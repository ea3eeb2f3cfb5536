/**
 * The approver must be one the plugin can drive, checked before anything is
 * deployed (bg:init) or handed to the switch (bg:adopt): a plain account, a
 * Safe 1.3.0 or 1.4.1, or a TimelockController. Any other contract could
 * never approve a release through bg:*, nor rotate itself out
 * (`proposeApprover` is an approver call too), so a proxy handed to its
 * switch would be locked.
 */
import type { Provider } from "ethers";

import { type ApproverKind, approverKindOf } from "../chain/approver-kind.js";
import { BlueGreenError } from "../errors.js";

/** What the plugin can drive as the switch's approver, for messages. */
export const DRIVABLE_APPROVERS = "a Safe (1.3.0 or 1.4.1), a TimelockController (its proposer a Safe or an account) or an account without code";

/**
 * What really recovers a switch whose approver is a contract the plugin
 * cannot drive. Not `bg:call propose --function proposeApprover`: that is an
 * approver call, and the approver is the one that cannot be made to sign it.
 */
export function undrivableApproverRecovery(switchAddress?: string): string {
  const sw = switchAddress !== undefined ? `the switch ${switchAddress}` : "the switch";
  return (
    `Only the approver contract itself can hand ${sw} over: it must call proposeApprover(<new approver>) on ${sw} with its own means, ` +
    `then the new approver (${DRIVABLE_APPROVERS}) calls acceptApprover(); bg:call cannot send proposeApprover for it. ` +
    "If the contract cannot make that call, deploy a new switch instead: move .bluegreen/<chainId>/switch.json away, run bg:init with such an approver, and adopt into that switch."
  );
}

/**
 * bg:init: refuses an `--approver` the plugin cannot drive, before the switch
 * is deployed. Returns what the approver is.
 */
export async function checkInitApprover(provider: Provider, approver: string): Promise<ApproverKind> {
  const found = await approverKindOf(provider, approver);
  if (found.kind === "other") {
    throw new BlueGreenError(
      "BG_SWITCH_APPROVER_KIND",
      `--approver ${found.address} is a contract, but neither a Safe (1.3.0 or 1.4.1) nor a TimelockController: hardhat-bluegreen could not make it ` +
        "approve a release, adopt a proxy or hand the switch to another approver, so a switch governed by it could never be driven. Nothing was deployed.",
      { hint: `Pass as --approver ${DRIVABLE_APPROVERS}.` },
    );
  }
  return found;
}

/**
 * bg:adopt: refuses to hand a proxy to a switch whose approver the plugin
 * cannot drive, before any ownership or role moves. Returns what the
 * approver is.
 */
export async function checkAdoptApprover(provider: Provider, switchAddress: string, approver: string, proxy: string): Promise<ApproverKind> {
  const found = await approverKindOf(provider, approver);
  if (found.kind === "other") {
    throw new BlueGreenError(
      "BG_SWITCH_APPROVER_KIND",
      `The approver ${found.address} of the switch ${switchAddress} is a contract, but neither a Safe (1.3.0 or 1.4.1) nor a TimelockController: ` +
        `hardhat-bluegreen could not make it adopt ${proxy}, promote a release or roll one back. bg:adopt stopped before handing anything to the switch: ` +
        `nothing was sent, and ${proxy} keeps its owner or admin.`,
      { hint: undrivableApproverRecovery(switchAddress) },
    );
  }
  return found;
}
