/**
 * What the switch explains. A proxy (or beacon) that no longer runs what one
 * release's record expects is not drift when the switch moved it, for
 * another release or for this one without the record knowing yet:
 *
 * - a finished release (rolled back, finalized) whose proxy the switch has
 *   since promoted for another release is superseded by it;
 * - a release not promoted yet whose blue the switch has since replaced
 *   (another release went live) can no longer be promoted: re-stage it;
 * - a release not promoted yet whose own promotion the switch shows (its
 *   proposal executed in the Safe app, by another owner) is live on chain:
 *   bg:switch records it.
 *
 * "The switch moved it" means the chain runs exactly what the switch's
 * record of the proxy says, and that record's promotion is matched to its
 * release by its transaction (src/status/switch-promotion.ts). Anything else
 * stays drift.
 */
import { getAddress } from "ethers";

import type { ApprovalStatus } from "../approval/approval-status.js";
import { recordKind, type ReleaseRecord, type ReleaseState } from "../release/record.js";
import type { ChainView } from "./reconcile.js";
import type { SwitchPromotion } from "./switch-promotion.js";

export interface StatusNote {
  kind: "superseded" | "blue-moved" | "promoted-unrecorded";
  message: string;
  /** The release whose promotion explains it, when one of this chain's records has it. */
  by?: string;
  /** The promote transaction that explains it, when found. */
  txHash?: string;
}

const FINISHED: readonly ReleaseState[] = ["rolled-back", "finalized"];
const BEFORE_SWITCH: readonly ReleaseState[] = ["staged", "replayed", "gated", "proposed", "approved"];

/** How a person reads who made the switch's latest promotion. */
export function promotionBy(promotion: SwitchPromotion): string {
  const tx = promotion.txHash !== undefined ? ` (tx ${promotion.txHash})` : "";
  return promotion.release !== undefined ? `release ${promotion.release}${tx}` : `a promotion of the switch that no release on this chain records${tx}`;
}

/**
 * Notes for what the switch explains, and whether the record's
 * `implementation` drift is among it (then it is not drift).
 */
export function explainBySwitch(
  record: ReleaseRecord,
  chain: ChainView,
  promotion: SwitchPromotion | undefined,
  approval?: ApprovalStatus,
): { notes: StatusNote[]; implementationExplained: boolean } {
  const none = { notes: [], implementationExplained: false };
  if (promotion === undefined || !promotion.tracked.adopted || promotion.tracked.promotedAt === 0) return none;
  const { tracked } = promotion;
  const own = promotion.release === record.id;
  // The chain runs exactly what the switch says: the switch moved it (else the switch's own record drifted, reported as critical).
  const onSwitch = getAddress(chain.implementation) === getAddress(tracked.implementation);
  const target = recordKind(record) === "beacon" ? `beacon ${record.proxy}` : `proxy ${record.proxy}`;
  const by = promotionBy(promotion);
  const refs = { ...(promotion.release !== undefined ? { by: promotion.release } : {}), ...(promotion.txHash !== undefined ? { txHash: promotion.txHash } : {}) };

  if (FINISHED.includes(record.state) && !own) {
    return {
      notes: [
        {
          kind: "superseded",
          ...refs,
          message:
            `superseded by ${by}: the switch's latest release of ${target} is green ${getAddress(tracked.green)} (${tracked.status}); ` +
            `this release was ${record.state} before it. Nothing to do.`,
        },
      ],
      implementationExplained: onSwitch,
    };
  }
  if (!BEFORE_SWITCH.includes(record.state)) {
    // Live or rolling back, but the switch's latest release is another's: the state drift says what happened; what the chain runs is the switch's.
    return { notes: [], implementationExplained: !own && onSwitch };
  }
  if (own) {
    // This release's promotion, made outside this tool: green (or its canary router) runs, as the switch says.
    const runsThisRelease = getAddress(chain.implementation) === getAddress(record.green.address) || chain.canaryRouter !== undefined;
    if (!onSwitch || !runsThisRelease) return none;
    // An executed proposal is named by the approval status, with the same next step.
    const notes: StatusNote[] =
      approval?.status === "executed"
        ? []
        : [
            {
              kind: "promoted-unrecorded",
              ...refs,
              message: `the switch promoted this release's green on ${target}${promotion.txHash !== undefined ? ` in tx ${promotion.txHash}` : ""}, but the record does not show it yet: record it with npx hardhat bg:switch --release ${record.id}`,
            },
          ];
    return { notes, implementationExplained: true };
  }
  if (onSwitch && getAddress(chain.implementation) !== getAddress(record.blue.address)) {
    return {
      notes: [
        {
          kind: "blue-moved",
          ...refs,
          message:
            `blue moved to ${getAddress(chain.implementation)} by ${by}, through the switch: this release was staged against blue ${record.blue.address}, ` +
            `which ${target} no longer runs, so it can no longer be promoted. Re-stage it against what runs now: ` +
            `npx hardhat bg:stage --release <new id> --proxy ${record.proxy} --contract ${record.green.contract}`,
        },
      ],
      implementationExplained: true,
    };
  }
  return none;
}
