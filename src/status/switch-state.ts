/**
 * The release's state in the record against the switch's status of its
 * proxy. They part when the switch moved without this tool, or when a reorg
 * undid what the record holds: a rollback whose transaction is gone leaves
 * the switch `live` and the record `rollback-scheduled`.
 *
 * The switch keeps only the latest release of a proxy, so its status is
 * compared with the record of the release that promotion belongs to
 * (src/status/switch-promotion.ts), never with an earlier release of the
 * same proxy or green.
 *
 * That one case is reconciled here (the record goes back to `live`): the
 * switch is the truth, and the transaction can no longer do anything. Every
 * other difference is reported with what to run, and nothing is written.
 */
import type { Eip1193Provider } from "../chain/eip1193.js";
import { isOrphaned, reconcileOrphanedRollback } from "../monitor/orphaned-rollback.js";
import type { ReleaseRecord, ReleaseState } from "../release/record.js";
import { readStep } from "../release/steps.js";
import type { ReleaseStore } from "../release/store.js";
import type { Drift } from "./reconcile.js";
import { promotionBy } from "./switch-explains.js";
import type { SwitchPromotion } from "./switch-promotion.js";

/** Record states the switch has a say on (before the promotion, the approval status speaks). */
const AFTER_SWITCH: readonly ReleaseState[] = ["live", "rollback-scheduled", "rolled-back", "finalized"];

export async function switchStateDrift(
  provider: Eip1193Provider,
  store: ReleaseStore,
  record: ReleaseRecord,
  promotion: SwitchPromotion,
): Promise<{ record: ReleaseRecord; drift: Drift[] }> {
  if (!AFTER_SWITCH.includes(record.state)) return { record, drift: [] };
  const { tracked } = promotion;
  if (!tracked.adopted || tracked.status === "none") return { record, drift: [] };
  if (promotion.release !== record.id) {
    // The switch's latest release of the proxy is another's: a finished release was superseded by it (a note, not drift)…
    if (record.state === "rolled-back" || record.state === "finalized") return { record, drift: [] };
    // …but a release the record still holds open ended without this tool.
    return {
      record,
      drift: [
        {
          field: "state",
          recorded: record.state,
          onChain: `${tracked.status} (${promotion.release !== undefined ? `release ${promotion.release}` : "another promotion"})`,
          message:
            `The record says ${record.state}, but the switch's latest release of ${record.proxy} is ${promotionBy(promotion)}, ${tracked.status}: ` +
            "this release's own promotion ended (rolled back or finalized) without this tool recording it. Nothing was changed here. " +
            `Do not run bg:rollback or bg:finalize for ${record.id}: the switch would apply them to its latest release, not to this one.`,
        },
      ],
    };
  }
  if (tracked.status === record.state) return { record, drift: [] };
  const base = { field: "state" as const, recorded: record.state, onChain: tracked.status };

  if (record.state === "rollback-scheduled" && tracked.status === "live") {
    const tx = readStep(record, "rollback")?.scheduleTx;
    const request = <T>(method: string, params: unknown[]) => provider.request({ method, params }) as Promise<T>;
    if (tx !== undefined && (await isOrphaned(request, tx))) {
      const updated = await reconcileOrphanedRollback(store, record.chainId, record.id, { proxy: record.proxy, txHash: tx, by: "bg:status" });
      return {
        record: updated ?? record,
        drift: [
          {
            ...base,
            reconciled: { from: "rollback-scheduled", to: "live" },
            message:
              `The record said rollback-scheduled, but the switch says live: the rollback transaction ${tx} is no longer on chain (a reorg removed it). ` +
              "bg:status moved the record back to live. If the rollback is still wanted, run bg:monitor --auto-rollback (its analysis of the new chain decides) " +
              "or schedule it again with bg:rollback.",
          },
        ],
      };
    }
    return {
      record,
      drift: [
        {
          ...base,
          message:
            `The record says rollback-scheduled, but the switch says live: the scheduled rollback${tx !== undefined ? ` (${tx})` : ""} was cancelled. ` +
            "Nothing was changed here; bg:rollback or bg:monitor records it, and schedules again only if still wanted.",
        },
      ],
    };
  }
  return {
    record,
    drift: [
      {
        ...base,
        message:
          `The record says ${record.state}, but the switch says ${tracked.status}: the switch moved without this tool recording it. ` +
          "Nothing was changed here; the next bg:rollback or bg:finalize step brings the record in line with the switch.",
      },
    ],
  };
}
