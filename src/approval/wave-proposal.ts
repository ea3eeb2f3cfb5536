/**
 * What a wave's proposal is: one promoteBatch of the release's blue to green
 * over the wave's proxies, the facts it pins and the rows signers read; and
 * the check that the wave may still go (that the proposal in a wave's folder
 * is that call, the pipeline checks: proposal-match.ts).
 */
import { getAddress } from "ethers";

import { BlueGreenError } from "../errors.js";
import type { ReleaseRecord } from "../release/record.js";
import { isoFromUnix } from "../release/steps.js";
import { type WaveDecision, explainWaveDecision, mayPromoteWave } from "../waves/may-promote-wave.js";
import { readWaveFacts } from "../waves/wave-facts.js";
import type { PlannedWave, WaveOverride } from "../waves/waves-step.js";
import { type SwitchRef, switchView } from "./approver-call.js";
import type { FactQuery } from "./facts.js";
import { type ReleaseApprovalContext, implementationFact, releaseRows } from "./release-flow.js";
import { recordedWaveProposal } from "./wave-plan.js";

export function refusalMessage(releaseId: string, decision: WaveDecision): string {
  const overridable = decision.refusals.length > 0 && decision.refusals.every((r) => r.overridable);
  return (
    explainWaveDecision(decision) +
    (overridable
      ? ` To promote it anyway: npx hardhat bg:propose --release ${releaseId} --wave ${decision.wave} --override-bake "<reason>" ` +
        "(signers see the override in summary.md; it is recorded in the release)."
      : "")
  );
}


/** What the proposal pins: the switch's record and the slot of each proxy, and green's code. */
export function waveFacts(sw: SwitchRef, record: ReleaseRecord, proxies: string[]): FactQuery[] {
  const proxyState = sw.iface.getFunction("proxyState")!.outputs[0]!.format("sighash");
  return [
    { kind: "codehash", label: `code hash of green ${record.green.address}`, address: record.green.address },
    ...proxies.flatMap((p): FactQuery[] => [
      switchView(sw, "proxyState", [p], `switch's record of proxy ${p}`, [proxyState]),
      implementationFact({ ...record, proxy: p }),
    ]),
  ];
}

export function waveDetails(
  ctx: ReleaseApprovalContext,
  record: ReleaseRecord,
  wave: PlannedWave,
  position: { index: number; of: number },
  decision: WaveDecision,
  evidenceHash: string,
  override: WaveOverride | undefined,
): Array<{ label: string; value: string }> {
  return [
    { label: "release", value: record.id },
    { label: "wave", value: `${wave.name} (${position.index} of ${position.of}), bake ${wave.bakeSeconds}s` },
    ...decision.proxies.map((p, i) => ({ label: `proxy ${i + 1} of ${decision.proxies.length}`, value: p })),
    ...releaseRows(record, evidenceHash),
    ...(decision.previous !== undefined
      ? [
          {
            label: `previous wave ${decision.previous.wave}`,
            value:
              `promoted ${isoFromUnix(decision.previous.promotedAt)}, bake until ${isoFromUnix(decision.previous.bakeEndsAt)}, ` +
              `analysis ${decision.previous.analysisPhase ?? "not run"}` +
              (decision.previous.measuredUntil !== undefined ? ` up to ${isoFromUnix(decision.previous.measuredUntil)}` : ""),
          },
        ]
      : []),
    ...(override !== undefined
      ? [
          { label: "OVERRIDE of the bake rule, by", value: override.by },
          { label: "OVERRIDE reason", value: override.reason },
          ...override.refusals.map((r, i) => ({ label: `OVERRIDE bypasses (${i + 1})`, value: r })),
        ]
      : []),
    { label: "switch", value: getAddress(ctx.switchAddress) },
  ];
}


/**
 * Re-asks "may this wave go now?" before a signature and before the send,
 * with the wave's proposal as the record has it (its proxies, the override
 * it was made with; that the proposal file is that, the pipeline checks): a
 * rollback, a failed analysis or a re-planned wave since the proposal stops
 * it. An override covers only the kinds of refusal it was made for.
 */
export async function assertWaveStillAllowed(ctx: ReleaseApprovalContext, record: ReleaseRecord, wave: string, verb: "sign" | "switch"): Promise<void> {
  const { override, proxies } = recordedWaveProposal(record, wave);
  const facts = await readWaveFacts(ctx.env.provider, ctx.switchAddress, record);
  const decision = mayPromoteWave(record, facts, { wave, ...(override !== undefined ? { override: { by: override.by, reason: override.reason } } : {}) });
  const again = `Propose the wave again (npx hardhat bg:propose --release ${record.id} --wave ${wave}) once it may go.`;
  if (!decision.allowed) {
    throw new BlueGreenError("BG_APPROVAL_WAVE_REFUSED", `Refusing to ${verb} wave "${wave}": ${explainWaveDecision(decision)} ${again}`);
  }
  if (decision.overridden) {
    const covered = override?.kinds ?? [];
    const fresh = decision.refusals.filter((r) => r.overridable && !covered.includes(r.kind));
    if (fresh.length > 0) {
      throw new BlueGreenError(
        "BG_APPROVAL_WAVE_REFUSED",
        `Refusing to ${verb} wave "${wave}": its override was made for ${covered.join(", ") || "other reasons"}, but now also: ${fresh.map((r) => r.message).join(" ")} ` +
          `If it must still go, propose it again with a new override (--override-bake "<reason>") so that signers see why.`,
      );
    }
  }
  const proposed = proxies.map((p) => getAddress(p));
  const same = proposed.length === decision.proxies.length && decision.proxies.every((p) => proposed.includes(getAddress(p)));
  if (!same) {
    throw new BlueGreenError(
      "BG_APPROVAL_WAVE_REFUSED",
      `Refusing to ${verb} wave "${wave}": its proposal moves ${proposed.join(", ")}, but the wave's proxies still on blue are ${decision.proxies.join(", ") || "none"}. ${again}`,
    );
  }
}
