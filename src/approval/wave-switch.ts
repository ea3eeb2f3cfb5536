/**
 * The promote of one wave of a multi-proxy release through the approval
 * path: `bg:propose --wave`, `bg:approve` and `bg:switch --wave`.
 *
 * A fleet shares one blue and one green (the release's), so a wave is one
 * `promoteBatch` call: every proxy of the wave switches in the same Safe
 * transaction, or none does. Each wave gets its own proposal folder
 * (`wave-<name>/` beside the record), so signatures of one wave never mix
 * with another's, and the execution journal of one wave resumes only that
 * wave.
 *
 * The record's lifecycle follows the first wave: proposed → approved → live.
 * Once one wave is live the release is live; later waves keep their
 * progress in `steps.waves` (proposals, signatures, promotions) and add notes
 * to the history without changing the state.
 *
 * Waves go in order, and the next waits until the previous one has baked
 * healthy (`mayPromoteWave`). The approver may override the bake and health
 * rules explicitly: the override travels in the proposal (signers see it in
 * summary.md), and is recorded in the history and in `steps.waves`.
 */
import path from "node:path";

import { type Signer, getAddress } from "ethers";

import { BlueGreenError } from "../errors.js";
import { type ReleaseRecord, transition } from "../release/record.js";
import { isoFromUnix, readStep, withStep } from "../release/steps.js";
import { readProxyRelease } from "../switch/read-switch.js";
import { type WaveDecision, mayPromoteWave } from "../waves/may-promote-wave.js";
import { readWaveFacts } from "../waves/wave-facts.js";
import { type WaveOverride, type WavePromotion, type WaveProposal, requirePlannedWave, withWavesStep } from "../waves/waves-step.js";
import { type SwitchRef, switchCallSpec } from "./approver-call.js";
import type { ApproveInput, ApproveOutcome } from "./approve.js";
import { type ApprovalFlow, approveFlow, executeFlow, proposeFlow } from "./pipeline.js";
import { type ProposalFolder, SUMMARY_FILE } from "./proposal-folder.js";
import type { ProposeOutcome } from "./propose.js";
import { assertEvidenceUnchanged, assertReadyToPropose, recordedEvidenceHash } from "./readiness.js";
import type { ApproverCallSpec } from "./proposal-schema.js";
import {
  type ReleaseApprovalContext,
  approvalStep,
  assertGreenDeployed,
  assertPromotedToGreen,
  assertProxiesRunBlue,
  updateRelease,
} from "./release-flow.js";
import { assertWaveStillAllowed, refusalMessage, waveDetails, waveFacts } from "./wave-proposal.js";
import {
  assertWaveName,
  leadsLifecycle,
  noteHistory,
  openWaves,
  overrideNote,
  plural,
  recordedWaveProposal,
  requirePlan,
  waveFolderName,
  waveProposalFolder,
  waveToActOn,
} from "./wave-plan.js";
import { renderWaveSummary } from "./wave-summary.js";
import { ethersProvider } from "./chain.js";

/**
 * A wave's promoteBatch as a flow: the wave's folder, the promoteBatch the
 * record makes for it (the release's blue, green and evidence over the
 * proxies and with the override recorded for the wave's proposal), and,
 * before a signature and the send, unchanged evidence and a wave that may still go.
 */
function waveFlow(ctx: ReleaseApprovalContext, record: ReleaseRecord, wave: string): ApprovalFlow {
  const folder = waveProposalFolder(ctx.store, ctx.env.chainId, record.id, wave);
  return {
    folder,
    senderLockDir: ctx.store.chainDir(ctx.env.chainId),
    source: `release.json of ${record.id} (wave ${wave})`,
    expected: async () => {
      const entry = recordedWaveProposal(record, wave);
      return waveSpec(ctx, record, wave, entry.proxies, recordedEvidenceHash(record), entry.override);
    },
    recheck: async (proposal, verb) => {
      const fresh = await ctx.store.get(ctx.env.chainId, record.id);
      await assertEvidenceUnchanged(fresh, proposal.pinned.evidenceHash, ctx.projectRoot);
      await assertWaveStillAllowed(ctx, fresh, wave, verb);
    },
  };
}

/**
 * The promoteBatch of a wave, as bg:propose --wave proposes it and as the
 * pipeline rebuilds it from the record before each signature and send: one
 * Promotion (the tuple order of the switch's struct) per proxy.
 */
async function waveSpec(
  ctx: ReleaseApprovalContext,
  record: ReleaseRecord,
  wave: string,
  proxies: readonly string[],
  evidenceHash: string,
  override: WaveOverride | undefined,
  text?: { title: string; details: Array<{ label: string; value: string }> },
): Promise<ApproverCallSpec> {
  const initData = "0x";
  const promotions = proxies.map((p) => [p, record.green.address, record.green.codehash, record.blue.address, initData, evidenceHash]);
  const sw: SwitchRef = { address: ctx.switchAddress, iface: ctx.env.errors };
  return switchCallSpec(ctx.env, sw, "promoteBatch", [promotions], {
    id: `${record.id}/${waveFolderName(wave)}`,
    ...(text ?? {}),
    facts: waveFacts(sw, record, [...proxies]),
    pinned: { evidenceHash, wave, ...(override !== undefined ? { waveOverride: JSON.stringify(override) } : {}) },
  });
}

export interface ProposeWaveOutcome extends ProposeOutcome {
  record: ReleaseRecord;
  wave: string;
  /** Position of the wave in the plan (1-based) and the number of waves. */
  position: { index: number; of: number };
  /** The proxies the promoteBatch moves. */
  proxies: string[];
  evidenceHash: string;
  decision: WaveDecision;
  /** The approver's override, when the wave goes before the previous one baked healthy. */
  override?: WaveOverride;
  /** True when an override was asked for but nothing needed overriding (so none was recorded). */
  overrideUnneeded: boolean;
  folder: ProposalFolder;
}

/**
 * bg:propose --wave: checks that the wave may be promoted now (in order, the
 * previous wave baked healthy, or the approver's explicit override), that
 * each of its proxies runs the release's blue on the switch, and that the
 * gates passed; then proposes one `promoteBatch` for all its proxies.
 */
export async function proposeWave(
  ctx: ReleaseApprovalContext,
  releaseId: string,
  options: { wave: string; actor: string; nonce?: bigint; override?: { reason: string }; now?: Date },
): Promise<ProposeWaveOutcome> {
  assertWaveName(options.wave);
  const now = options.now ?? new Date();
  const record = await ctx.store.get(ctx.env.chainId, releaseId);
  const plan = requirePlan(record);
  requirePlannedWave(record.id, plan, options.wave);
  const open = openWaves(plan).filter((w) => w !== options.wave);
  if (open.length > 0) {
    throw new BlueGreenError(
      "BG_APPROVAL_WAVE_ORDER",
      `Wave "${open[0]}" of release "${record.id}" has a proposal that is not recorded as switched, and waves go in order. ` +
        `Have it signed and switched first: npx hardhat bg:switch --release ${record.id} --wave ${open[0]} ` +
        "(if the Safe already executed it elsewhere, that command finds the transaction and records it).",
    );
  }
  const reason = options.override?.reason.trim();
  if (options.override !== undefined && reason === "") {
    throw new BlueGreenError(
      "BG_APPROVAL_OVERRIDE_REASON",
      'An override needs a reason, for the record and for the signers: --override-bake "<why the bake can be skipped>".',
    );
  }

  const facts = await readWaveFacts(ctx.env.provider, ctx.switchAddress, record);
  const decision = mayPromoteWave(record, facts, {
    wave: options.wave,
    ...(reason !== undefined ? { override: { by: options.actor, reason } } : {}),
    at: now,
  });
  if (!decision.allowed) {
    const unrecorded = decision.refusals.some((r) => r.kind === "already-promoted") && openWaves(plan).includes(options.wave);
    throw new BlueGreenError(
      "BG_APPROVAL_WAVE_REFUSED",
      unrecorded
        ? `Wave "${options.wave}" is already live on chain, but its switch is not recorded. Record it: npx hardhat bg:switch --release ${record.id} --wave ${options.wave}`
        : refusalMessage(record.id, decision),
    );
  }

  const { evidenceHash } = await assertReadyToPropose(record, { projectRoot: ctx.projectRoot, ...(ctx.gatesConfig ? { config: ctx.gatesConfig } : {}) });
  await assertProxiesRunBlue(ctx, record, decision.proxies, decision.wave);
  await assertGreenDeployed(ctx, record);

  const wave = plan.waves[decision.index]!;
  const position = { index: decision.index + 1, of: plan.waves.length };
  const override = decision.overridden ? decision.override : undefined;
  const spec = await waveSpec(ctx, record, wave.name, decision.proxies, evidenceHash, override, {
    title:
      `Promote wave ${wave.name} (${position.index} of ${position.of}) of release ${record.id}: ` +
      `${plural(decision.proxies.length, "proxy", "proxies")} from blue ${record.blue.address} to green ${record.green.address}`,
    details: waveDetails(ctx, record, wave, position, decision, evidenceHash, override),
  });
  const flow = waveFlow(ctx, record, wave.name);
  const { folder } = flow;
  const outcome = await proposeFlow(ctx.env, flow, spec, { ...(options.nonce !== undefined ? { nonce: options.nonce } : {}), now });
  const { proposal } = outcome;
  // The generic summary does not know waves: rewrite it with the wave, its bake and any override.
  outcome.summaryFile = await folder.write(
    SUMMARY_FILE,
    renderWaveSummary(proposal, {
      release: record.id,
      wave: wave.name,
      position,
      proxies: decision.proxies,
      blue: record.blue.address,
      green: record.green.address,
      ...(decision.previous !== undefined ? { previous: decision.previous } : {}),
      ...(override !== undefined ? { override } : {}),
    }),
  );

  const rel = (file: string) => path.relative(ctx.store.releaseDir(ctx.env.chainId, record.id), file);
  const entry: WaveProposal = {
    proxies: decision.proxies,
    folder: waveFolderName(wave.name),
    approver: { kind: proposal.actor.kind, address: proposal.actor.address },
    ...(proposal.safe !== undefined ? { safeTxHash: proposal.safe.safeTxHash, nonce: proposal.safe.tx.nonce } : {}),
    evidenceHash,
    blockNumber: proposal.blockNumber,
    by: options.actor,
    at: now.toISOString(),
    ...(override !== undefined ? { override } : {}),
  };
  const how = proposal.safe !== undefined ? `safeTxHash ${proposal.safe.safeTxHash}, Safe nonce ${proposal.safe.tx.nonce}` : `approver ${proposal.actor.address} (plain account)`;
  const note = `wave ${wave.name} proposed (${plural(decision.proxies.length, "proxy", "proxies")}, ${rel(outcome.proposalFile)}): ${how}${overrideNote(override)}`;

  const updated = await updateRelease(ctx, record.id, "while its wave was being proposed", (current) => {
    const step = requirePlan(current);
    const previous = step.proposals?.[wave.name];
    // A new Safe transaction starts a new collection of signatures.
    const kept = outcome.signaturesKept > 0 && previous?.approval !== undefined ? { approval: previous.approval } : {};
    const withProposal = withWavesStep(current, { ...step, proposals: { ...(step.proposals ?? {}), [wave.name]: { ...entry, ...kept } } });
    // The lifecycle follows the first wave; later waves leave notes in the history.
    return leadsLifecycle(current, step)
      ? transition(withProposal, "proposed", { actor: options.actor, note, at: now })
      : noteHistory(withProposal, { actor: options.actor, note, at: now });
  });
  return {
    ...outcome,
    record: updated,
    wave: wave.name,
    position,
    proxies: decision.proxies,
    evidenceHash,
    decision,
    ...(override !== undefined ? { override } : {}),
    overrideUnneeded: reason !== undefined && override === undefined,
    folder,
  };
}

export interface ApproveWaveOutcome extends ApproveOutcome {
  record: ReleaseRecord;
  wave: string;
}

/**
 * bg:approve for a wave: adds one owner's signature to the wave's proposal
 * (the one waiting when `wave` is not given), after checking that the wave
 * may still go (nothing rolled back, the previous wave no worse than when it
 * was proposed) and that the evidence is unchanged.
 */
export async function approveWave(ctx: ReleaseApprovalContext, releaseId: string, wave: string | undefined, input: ApproveInput): Promise<ApproveWaveOutcome> {
  const record = await ctx.store.get(ctx.env.chainId, releaseId);
  const { name, done } = waveToActOn(record, wave, "sign");
  if (done !== undefined) {
    throw new BlueGreenError(
      "BG_APPROVAL_ALREADY_EXECUTED",
      `Wave "${name}" of release "${record.id}" is already live (tx ${done.txHash ?? "recorded"}). Nothing to sign.`,
    );
  }
  const outcome = await approveFlow(ctx.env, waveFlow(ctx, record, name), input);
  const at = input.now ?? new Date();

  const updated = await updateRelease(ctx, record.id, "while its wave was being approved", (current) => {
    const step = requirePlan(current);
    const proposalEntry = step.proposals?.[name];
    if (proposalEntry === undefined) return undefined;
    const approval = approvalStep(outcome, at);
    const reached = outcome.missing === 0 && (proposalEntry.approval === undefined || proposalEntry.approval.missing > 0);
    let next = withWavesStep(current, { ...step, proposals: { ...step.proposals, [name]: { ...proposalEntry, approval } } });
    if (reached) {
      const note = `wave ${name} approved: ${outcome.signatures.length} of ${outcome.threshold} signatures`;
      next = next.state === "proposed" ? transition(next, "approved", { actor: outcome.added, note, at }) : noteHistory(next, { actor: outcome.added, note, at });
    }
    return next;
  });
  return { ...outcome, record: updated, wave: name };
}

export type SwitchWaveOutcome =
  | {
      status: "live";
      record: ReleaseRecord;
      wave: string;
      proxies: string[];
      /** Null only for a wave recorded live by other means than bg:switch. */
      txHash: string | null;
      implementation: string;
      /** Latest end of the rollback windows the batch opened. */
      windowEnd: string;
      resumed: boolean;
      alreadyLive: boolean;
      override?: WaveOverride;
    }
  | { status: "waiting"; record: ReleaseRecord; wave: string; signatures: number; threshold: number; missing: number };

/**
 * bg:switch --wave: executes the wave's promoteBatch once it has enough
 * signatures (re-checking drift, the evidence and the wave rules first),
 * verifies every proxy's implementation slot, and records the promotion.
 * Re-running after a crash finds the mined transaction.
 */
export async function switchWave(
  ctx: ReleaseApprovalContext,
  releaseId: string,
  wave: string | undefined,
  options: { executor: Signer; afterSend?: (txHash: string) => void | Promise<void>; now?: () => Date },
): Promise<SwitchWaveOutcome> {
  const now = options.now ?? (() => new Date());
  const record = await ctx.store.get(ctx.env.chainId, releaseId);
  const { entry, name, done } = waveToActOn(record, wave, "switch");
  if (done !== undefined) {
    const windows = await Promise.all(done.proxies.map((p) => readProxyRelease(ethersProvider(ctx.env), ctx.switchAddress, p)));
    return {
      status: "live",
      record,
      wave: name,
      proxies: done.proxies,
      txHash: done.txHash ?? null,
      implementation: getAddress(record.green.address),
      windowEnd: isoFromUnix(Math.max(...windows.map((w) => w.windowEnd))),
      resumed: false,
      alreadyLive: true,
      ...(done.override !== undefined ? { override: done.override } : {}),
    };
  }

  const flow = waveFlow(ctx, record, name);
  const outcome = await executeFlow(ctx.env, flow, {
    executor: options.executor,
    ...(options.afterSend !== undefined ? { afterSend: options.afterSend } : {}),
    now,
  });
  if (outcome.status === "waiting") {
    return { status: "waiting", record, wave: name, signatures: outcome.tally.signatures.length, threshold: outcome.tally.threshold, missing: outcome.tally.missing };
  }

  // The proxies the wave's proposal moves, as the record has them (the pipeline checked the proposal against it before sending).
  const proxies = entry.proxies.map((p) => getAddress(p));
  const promoted = await assertPromotedToGreen(ctx, record, outcome, proxies);
  const green = getAddress(record.green.address);
  const windowEnd = isoFromUnix(Math.max(...proxies.map((p) => Number(promoted.get(p)!.args.windowEnd as bigint))));
  const executor = outcome.executor;
  const override = entry.override;
  const at = now();

  const updated = await updateRelease(ctx, record.id, "while its wave was being switched", (current) => {
    const step = requirePlan(current);
    if (step.promotions.some((p) => p.txHash === outcome.txHash)) return undefined;
    const promotion: WavePromotion = {
      wave: name,
      proxies,
      txHash: outcome.txHash,
      blockNumber: outcome.blockNumber,
      by: executor,
      at: at.toISOString(),
      ...(override !== undefined ? { override } : {}),
    };
    const note = `wave ${name} live on ${plural(proxies.length, "proxy", "proxies")}; rollback window open until ${windowEnd}${overrideNote(override)}`;
    const lead = leadsLifecycle(current, step);
    let next = withWavesStep(current, { ...step, promotions: [...step.promotions, promotion] });
    next =
      lead && (current.state === "proposed" || current.state === "approved")
        ? transition(next, "live", { actor: executor, txHash: outcome.txHash, note, at })
        : noteHistory(next, { actor: executor, txHash: outcome.txHash, note, at });
    // The release's own proxy carries steps.switch, which bg:rollback and bg:finalize act on.
    const own = promoted.get(getAddress(current.proxy));
    if (own !== undefined && proxies.includes(getAddress(current.proxy)) && readStep(current, "switch") === undefined) {
      next = withStep(next, "switch", {
        txHash: outcome.txHash,
        blockNumber: outcome.blockNumber,
        executor,
        implementation: green,
        evidenceHash: own.args.evidenceHash as string,
        promotedAt: isoFromUnix(own.args.promotedAt as bigint),
        windowEnd: isoFromUnix(own.args.windowEnd as bigint),
        resumed: outcome.resumed,
        at: at.toISOString(),
      });
    }
    return next;
  });
  return {
    status: "live",
    record: updated,
    wave: name,
    proxies,
    txHash: outcome.txHash,
    implementation: green,
    windowEnd,
    resumed: outcome.resumed,
    alreadyLive: false,
    ...(override !== undefined ? { override } : {}),
  };
}
