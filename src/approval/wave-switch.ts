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

import { type ContractRunner, type Provider, type Result, type Signer, getAddress } from "ethers";

import { BlueGreenError } from "../errors.js";
import { type HistoryEntry, type ReleaseRecord, transition } from "../release/record.js";
import type { ReleaseStore } from "../release/store.js";
import { IMPLEMENTATION_SLOT } from "../stage/read-proxy.js";
import { readProxyRelease } from "../switch/read-switch.js";
import { type WaveDecision, explainWaveDecision, mayPromoteWave } from "../waves/may-promote-wave.js";
import { readWaveFacts } from "../waves/wave-facts.js";
import {
  type PlannedWave,
  type WaveOverride,
  type WavePromotion,
  type WaveProposal,
  type WavesStep,
  readWavesStep,
  waveOverrideSchema,
  withWavesStep,
} from "../waves/waves-step.js";
import { type SwitchRef, switchCallSpec, switchView } from "./approver-call.js";
import { executeProposal } from "./execute.js";
import type { FactQuery } from "./facts.js";
import { type ApproveOutcome, type Proposal, type ProposeOutcome, approveProposal, proposeApproverCall, requireProposal } from "./proposal.js";
import { type ProposalFolder, SUMMARY_FILE } from "./proposal-folder.js";
import { assertEvidenceUnchanged, assertReadyToPropose } from "./readiness.js";
import type { ReleaseApprovalContext } from "./release-switch.js";
import { isoFromUnix, readStep, withStep } from "../release/steps.js";
import { renderWaveSummary } from "./wave-summary.js";

/** The folder of a wave's proposal files, relative to the release's folder. */
export function waveFolderName(wave: string): string {
  return `wave-${wave}`;
}

// Wave names come from blueGreen.waves (letters, digits, '_', '.', '-'), so they are safe folder names.
const WAVE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/**
 * The proposal folder of one wave: `wave-<name>/` inside the release's
 * folder, with the same files as a release's promote (proposal.json,
 * signatures.json, execution.json, summary.md...).
 */
export function waveProposalFolder(store: ReleaseStore, chainId: number, releaseId: string, wave: string): ProposalFolder {
  assertWaveName(wave);
  const sub = waveFolderName(wave);
  const dir = path.join(store.releaseDir(chainId, releaseId), sub);
  return {
    where: path.relative(process.cwd(), dir) || dir,
    option: `--release ${releaseId} --wave ${wave}`,
    read: (name, schema) => store.readReleaseFile(chainId, releaseId, path.join(sub, name), schema),
    write: (name, content) => store.writeReleaseFile(chainId, releaseId, path.join(sub, name), content),
    remove: (name) => store.removeReleaseFile(chainId, releaseId, path.join(sub, name)),
  };
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
    throw new BlueGreenError("BG_APPROVAL_OVERRIDE_REASON", 'An override needs a reason, for the record and for the signers: --override-bake "<why the bake can be skipped>".');
  }

  const facts = await readWaveFacts(contractRunner(ctx), ctx.switchAddress, record);
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
  await assertWaveRunsBlue(ctx, record, decision.wave, decision.proxies);
  if ((await ctx.env.provider.getCode(record.green.address)) === "0x") {
    throw new BlueGreenError("BG_APPROVAL_GREEN_MISSING", `Green ${record.green.address} has no code on this chain. Stage the release again.`);
  }

  const wave = plan.waves[decision.index]!;
  const position = { index: decision.index + 1, of: plan.waves.length };
  const override = decision.overridden ? decision.override : undefined;
  const initData = "0x";
  // The tuple order of the switch's Promotion struct.
  const promotions = decision.proxies.map((p) => [p, record.green.address, record.green.codehash, record.blue.address, initData, evidenceHash]);
  const sw: SwitchRef = { address: ctx.switchAddress, iface: ctx.env.errors };
  const spec = await switchCallSpec(ctx.env, sw, "promoteBatch", [promotions], {
    id: `${record.id}/${waveFolderName(wave.name)}`,
    title:
      `Promote wave ${wave.name} (${position.index} of ${position.of}) of release ${record.id}: ` +
      `${plural(decision.proxies.length, "proxy", "proxies")} from blue ${record.blue.address} to green ${record.green.address}`,
    details: waveDetails(ctx, record, wave, position, decision, evidenceHash, override),
    facts: waveFacts(sw, record, decision.proxies),
    pinned: { evidenceHash, wave: wave.name, ...(override !== undefined ? { waveOverride: JSON.stringify(override) } : {}) },
  });
  const folder = waveProposalFolder(ctx.store, ctx.env.chainId, record.id, wave.name);
  const outcome = await proposeApproverCall(ctx.env, folder, spec, { ...(options.nonce !== undefined ? { nonce: options.nonce } : {}), now });
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

  const updated = await ctx.store.update(ctx.env.chainId, record.id, (current) => {
    if (current === undefined) throw new BlueGreenError("BG_APPROVAL_RECORD_GONE", `Release "${record.id}" disappeared while its wave was being proposed.`);
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
    record: updated!,
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
export async function approveWave(
  ctx: ReleaseApprovalContext,
  releaseId: string,
  wave: string | undefined,
  input: { signer?: Signer; signature?: string; now?: Date },
): Promise<ApproveWaveOutcome> {
  const record = await ctx.store.get(ctx.env.chainId, releaseId);
  const plan = requirePlan(record);
  const name = wave ?? pickOpenWave(record, plan, "sign");
  assertWaveName(name);
  const entry = plan.proposals?.[name];
  if (entry === undefined) {
    throw new BlueGreenError("BG_APPROVAL_NO_PROPOSAL", `Wave "${name}" of release "${record.id}" has no proposal. Propose it first: npx hardhat bg:propose --release ${record.id} --wave ${name}`);
  }
  const done = promotionOf(plan, name, entry);
  if (done !== undefined) {
    throw new BlueGreenError("BG_APPROVAL_ALREADY_EXECUTED", `Wave "${name}" of release "${record.id}" is already live (tx ${done.txHash ?? "recorded"}). Nothing to sign.`);
  }
  const folder = waveProposalFolder(ctx.store, ctx.env.chainId, record.id, name);
  const proposal = await requireProposal(folder);
  assertProposalOfWave(ctx, record, plan, name, proposal, folder);
  await assertEvidenceUnchanged(record, proposal.pinned.evidenceHash, ctx.projectRoot);
  await assertWaveStillAllowed(ctx, record, name, proposal, "sign");
  const outcome = await approveProposal(ctx.env, folder, input);
  const at = input.now ?? new Date();

  const updated = await ctx.store.update(ctx.env.chainId, record.id, (current) => {
    if (current === undefined) throw new BlueGreenError("BG_APPROVAL_RECORD_GONE", `Release "${record.id}" disappeared while its wave was being approved.`);
    const step = requirePlan(current);
    const proposalEntry = step.proposals?.[name];
    if (proposalEntry === undefined) return undefined;
    const approval = { signers: outcome.signatures.map((s) => getAddress(s.owner)), threshold: outcome.threshold, missing: outcome.missing, at: at.toISOString() };
    const reached = outcome.missing === 0 && (proposalEntry.approval === undefined || proposalEntry.approval.missing > 0);
    let next = withWavesStep(current, { ...step, proposals: { ...step.proposals, [name]: { ...proposalEntry, approval } } });
    if (reached) {
      const note = `wave ${name} approved: ${outcome.signatures.length} of ${outcome.threshold} signatures`;
      next = next.state === "proposed" ? transition(next, "approved", { actor: outcome.added, note, at }) : noteHistory(next, { actor: outcome.added, note, at });
    }
    return next;
  });
  return { ...outcome, record: updated!, wave: name };
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
  const plan = requirePlan(record);
  const name = wave ?? pickOpenWave(record, plan, "switch");
  assertWaveName(name);
  const entry = plan.proposals?.[name];
  if (entry === undefined) {
    throw new BlueGreenError("BG_APPROVAL_NO_PROPOSAL", `Wave "${name}" of release "${record.id}" has no proposal. Propose it first: npx hardhat bg:propose --release ${record.id} --wave ${name}`);
  }
  const done = promotionOf(plan, name, entry);
  if (done !== undefined) {
    const windows = await Promise.all(done.proxies.map((p) => readProxyRelease(ctx.env.provider, ctx.switchAddress, p)));
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

  const folder = waveProposalFolder(ctx.store, ctx.env.chainId, record.id, name);
  const proposal = await requireProposal(folder);
  const proxies = assertProposalOfWave(ctx, record, plan, name, proposal, folder);
  const outcome = await executeProposal(ctx.env, folder, {
    executor: options.executor,
    // Off-chain drift and the wave rules, before a fresh send; the chain facts are checked inside.
    beforeSend: async () => {
      const fresh = await ctx.store.get(ctx.env.chainId, record.id);
      await assertEvidenceUnchanged(fresh, proposal.pinned.evidenceHash, ctx.projectRoot);
      await assertWaveStillAllowed(ctx, fresh, name, proposal, "switch");
    },
    ...(options.afterSend !== undefined ? { afterSend: options.afterSend } : {}),
    now,
  });
  if (outcome.status === "waiting") {
    return { status: "waiting", record, wave: name, signatures: outcome.tally.signatures.length, threshold: outcome.tally.threshold, missing: outcome.tally.missing };
  }

  // The batch must have done exactly what was proposed, on every proxy.
  const green = getAddress(record.green.address);
  const events = outcome.receipt.logs
    .filter((l) => getAddress(l.address) === getAddress(ctx.switchAddress))
    .map((l) => ctx.env.errors.parseLog(l))
    .filter((e) => e?.name === "Promoted");
  const promoted = new Map(events.map((e) => [getAddress(e!.args.proxy as string), e!]));
  for (const proxy of proxies) {
    const event = promoted.get(proxy);
    if (event === undefined || getAddress(event.args.green as string) !== green) {
      throw new BlueGreenError("BG_APPROVAL_RESULT_MISMATCH", `Transaction ${outcome.txHash} has no Promoted event of green for proxy ${proxy}. Inspect it before going on.`);
    }
    const slot = getAddress("0x" + (await ctx.env.provider.getStorage(proxy, IMPLEMENTATION_SLOT, outcome.blockNumber)).slice(-40));
    if (slot !== green) {
      throw new BlueGreenError(
        "BG_APPROVAL_RESULT_MISMATCH",
        `After transaction ${outcome.txHash}, proxy ${proxy}'s implementation slot holds ${slot}, not green ${green}. Inspect the proxy before going on.`,
      );
    }
  }
  const windowEnd = isoFromUnix(Math.max(...proxies.map((p) => Number(promoted.get(p)!.args.windowEnd as bigint))));
  const executor = getAddress((await ctx.env.provider.getTransaction(outcome.txHash))?.from ?? (await options.executor.getAddress()));
  const override = proposalOverride(proposal);
  const at = now();

  const updated = await ctx.store.update(ctx.env.chainId, record.id, (current) => {
    if (current === undefined) throw new BlueGreenError("BG_APPROVAL_RECORD_GONE", `Release "${record.id}" disappeared while its wave was being switched.`);
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
    record: updated!,
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

/** The release's wave plan, or an error saying how to make one. */
export function requirePlan(record: ReleaseRecord): WavesStep {
  const plan = readWavesStep(record);
  if (plan === undefined) {
    throw new BlueGreenError(
      "BG_APPROVAL_NO_WAVE_PLAN",
      `Release "${record.id}" has no wave plan. Plan its fleet first: npx hardhat bg:waves --release ${record.id} --proxies <a,b,...> ` +
        `(or leave --wave out to promote its single proxy).`,
    );
  }
  return plan;
}

/** Waves with a proposal that is not recorded as live, in plan order. */
export function openWaves(plan: WavesStep): string[] {
  return plan.waves.map((w) => w.name).filter((name) => {
    const entry = plan.proposals?.[name];
    return entry !== undefined && promotionOf(plan, name, entry) === undefined;
  });
}

/** The wave whose proposal waits, for commands run without --wave. */
function pickOpenWave(record: ReleaseRecord, plan: WavesStep, verb: "sign" | "switch"): string {
  const open = openWaves(plan);
  if (open.length === 1) return open[0]!;
  const next = plan.waves.find((w) => !plan.promotions.some((p) => p.wave === w.name))?.name ?? plan.waves[0]!.name;
  if (open.length === 0) {
    throw new BlueGreenError(
      "BG_APPROVAL_WAVE_CHOICE",
      `Release "${record.id}" is rolled out in waves and no wave proposal waits to ${verb === "sign" ? "be signed" : "be switched"}. ` +
        `Propose the next wave: npx hardhat bg:propose --release ${record.id} --wave ${next}`,
    );
  }
  throw new BlueGreenError("BG_APPROVAL_WAVE_CHOICE", `Release "${record.id}" has proposals of waves ${open.join(", ")} waiting. Say which: --wave <name>.`);
}

/** The recorded promotion covering a wave proposal's proxies, if any. */
function promotionOf(plan: WavesStep, wave: string, entry: WaveProposal): WavePromotion | undefined {
  return plan.promotions.find((p) => p.wave === wave && entry.proxies.every((x) => p.proxies.map((y) => getAddress(y)).includes(getAddress(x))));
}

/** True while no wave is recorded live: the first wave moves the record's state. */
function leadsLifecycle(record: ReleaseRecord, step: WavesStep): boolean {
  return step.promotions.length === 0 && record.state !== "live";
}

/**
 * A history entry that records a step of a later wave without changing the
 * release's state (the lifecycle has no state for "live, and one more wave").
 */
function noteHistory(record: ReleaseRecord, entry: { actor: string; txHash?: string; note: string; at: Date }): ReleaseRecord {
  const at = entry.at.toISOString();
  const line: HistoryEntry = { at, state: record.state, actor: entry.actor, ...(entry.txHash !== undefined ? { txHash: entry.txHash } : {}), note: entry.note };
  return { ...record, updatedAt: at, history: [...record.history, line] };
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function overrideNote(override: WaveOverride | undefined): string {
  return override === undefined ? "" : `; OVERRIDE of the bake rule by ${override.by}: ${override.reason}`;
}

function refusalMessage(releaseId: string, decision: WaveDecision): string {
  const overridable = decision.refusals.length > 0 && decision.refusals.every((r) => r.overridable);
  return (
    explainWaveDecision(decision) +
    (overridable
      ? ` To promote it anyway: npx hardhat bg:propose --release ${releaseId} --wave ${decision.wave} --override-bake "<reason>" ` +
        "(signers see the override in summary.md; it is recorded in the release)."
      : "")
  );
}

function assertWaveName(wave: string): void {
  if (!WAVE_NAME.test(wave)) {
    throw new BlueGreenError("BG_APPROVAL_WAVE_NAME", `"${wave}" is not a wave name. Wave names start with a letter and use letters, digits, '_', '.', '-' (see blueGreen.waves).`);
  }
}

function contractRunner(ctx: ReleaseApprovalContext): Provider & ContractRunner {
  return ctx.env.provider as Provider & ContractRunner;
}

/**
 * Every proxy a wave moves must be adopted by the switch and tracked there
 * with the release's blue: the fleet shares one blue, and green's upgrade
 * checks were made against it.
 */
async function assertWaveRunsBlue(ctx: ReleaseApprovalContext, record: ReleaseRecord, wave: string, proxies: string[]): Promise<void> {
  const blue = getAddress(record.blue.address);
  for (const proxy of proxies) {
    const tracked = await readProxyRelease(ctx.env.provider, ctx.switchAddress, proxy);
    if (!tracked.adopted) {
      throw new BlueGreenError(
        "BG_APPROVAL_NOT_ADOPTED",
        `Proxy ${proxy} of wave "${wave}" is not adopted by the switch ${ctx.switchAddress}. Adopt it first: npx hardhat bg:adopt --proxy ${proxy}`,
      );
    }
    if (getAddress(tracked.implementation) !== blue) {
      throw new BlueGreenError(
        "BG_APPROVAL_BLUE_MISMATCH",
        `Proxy ${proxy} of wave "${wave}" runs ${tracked.implementation} on the switch, not the release's blue ${blue}. ` +
          "A wave release moves proxies that all run the same blue to the same green. " +
          `Re-plan the fleet without it (bg:waves --release ${record.id} --proxies ...) and stage a separate release for that proxy.`,
      );
    }
  }
}

/** What the proposal pins: the switch's record and the slot of each proxy, and green's code. */
function waveFacts(sw: SwitchRef, record: ReleaseRecord, proxies: string[]): FactQuery[] {
  const proxyState = sw.iface.getFunction("proxyState")!.outputs[0]!.format("sighash");
  return [
    { kind: "codehash", label: `code hash of green ${record.green.address}`, address: record.green.address },
    ...proxies.flatMap((p): FactQuery[] => [
      switchView(sw, "proxyState", [p], `switch's record of proxy ${p}`, [proxyState]),
      { kind: "storage", label: `implementation slot of proxy ${p}`, address: p, slot: IMPLEMENTATION_SLOT },
    ]),
  ];
}

function waveDetails(
  ctx: ReleaseApprovalContext,
  record: ReleaseRecord,
  wave: PlannedWave,
  position: { index: number; of: number },
  decision: WaveDecision,
  evidenceHash: string,
  override: WaveOverride | undefined,
): Array<{ label: string; value: string }> {
  const gates = (record.steps.gates as { results?: Array<{ name: string; status: string; required: boolean }> } | undefined)?.results ?? [];
  return [
    { label: "release", value: record.id },
    { label: "wave", value: `${wave.name} (${position.index} of ${position.of}), bake ${wave.bakeSeconds}s` },
    ...decision.proxies.map((p, i) => ({ label: `proxy ${i + 1} of ${decision.proxies.length}`, value: p })),
    { label: "blue (now)", value: record.blue.address },
    { label: "blue codehash", value: record.blue.codehash },
    { label: "green (next)", value: `${record.green.address} (${record.green.contract})` },
    { label: "green codehash", value: record.green.codehash },
    { label: "evidence hash", value: evidenceHash },
    ...((record.steps.gates as { waiver?: { reason: string } } | undefined)?.waiver !== undefined
      ? [{ label: "gates WAIVED", value: (record.steps.gates as { waiver: { reason: string } }).waiver.reason }]
      : []),
    ...gates.map((g) => ({ label: `gate ${g.name}`, value: `${g.status}${g.required ? " (required)" : ""}` })),
    ...record.rollbackRisks.map((r) => ({ label: `rollback risk: ${r.kind}`, value: r.message })),
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

/** The override a proposal carries, if any. */
export function proposalOverride(proposal: Proposal): WaveOverride | undefined {
  const raw = proposal.pinned.waveOverride;
  if (raw === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    json = undefined;
  }
  const parsed = waveOverrideSchema.safeParse(json);
  if (!parsed.success) throw new BlueGreenError("BG_APPROVAL_TAMPERED", "The proposal's wave override is unreadable: the file was changed after it was made. Propose the wave again.");
  return parsed.data;
}

/**
 * The proposal in a wave's folder must be a promoteBatch of this release
 * (its green, blue and evidence) over proxies of this wave. Returns the
 * proxies it moves.
 */
function assertProposalOfWave(
  ctx: ReleaseApprovalContext,
  record: ReleaseRecord,
  plan: WavesStep,
  wave: string,
  proposal: Proposal,
  folder: ProposalFolder,
): string[] {
  const again = `Propose the wave again: npx hardhat bg:propose ${folder.option}`;
  if (proposal.call.functionName !== "promoteBatch" || proposal.pinned.wave !== wave) {
    throw new BlueGreenError("BG_APPROVAL_PROPOSAL_MISMATCH", `The proposal in ${folder.where} is not a promote of wave "${wave}". ${again}`);
  }
  if (getAddress(proposal.call.to) !== getAddress(ctx.switchAddress)) {
    throw new BlueGreenError("BG_APPROVAL_PROPOSAL_MISMATCH", `The proposal in ${folder.where} calls ${proposal.call.to}, not this chain's switch ${ctx.switchAddress}. ${again}`);
  }
  const [tuples] = ctx.env.errors.decodeFunctionData("promoteBatch", proposal.call.data) as unknown as [Result[]];
  const planned = plan.waves.find((w) => w.name === wave)?.proxies.map((p) => getAddress(p)) ?? [];
  const proxies: string[] = [];
  for (const t of tuples) {
    const [proxy, green, codehash, blue, , evidenceHash] = t as unknown as [string, string, string, string, string, string];
    if (
      getAddress(green) !== getAddress(record.green.address) ||
      codehash.toLowerCase() !== record.green.codehash.toLowerCase() ||
      getAddress(blue) !== getAddress(record.blue.address) ||
      evidenceHash.toLowerCase() !== (proposal.pinned.evidenceHash ?? "").toLowerCase()
    ) {
      throw new BlueGreenError("BG_APPROVAL_PROPOSAL_MISMATCH", `The proposal in ${folder.where} does not promote this release's blue and green with its evidence hash. ${again}`);
    }
    if (!planned.includes(getAddress(proxy))) {
      throw new BlueGreenError("BG_APPROVAL_PROPOSAL_MISMATCH", `The proposal in ${folder.where} moves ${getAddress(proxy)}, which is not in wave "${wave}" of the current plan. ${again}`);
    }
    proxies.push(getAddress(proxy));
  }
  return proxies;
}

/**
 * Re-asks "may this wave go now?" before a signature and before the send,
 * with the override the proposal carries: a rollback, a failed analysis or a
 * re-planned wave since the proposal stops it. An override covers only the
 * kinds of refusal it was made for.
 */
async function assertWaveStillAllowed(
  ctx: ReleaseApprovalContext,
  record: ReleaseRecord,
  wave: string,
  proposal: Proposal,
  verb: "sign" | "switch",
): Promise<void> {
  const override = proposalOverride(proposal);
  const facts = await readWaveFacts(contractRunner(ctx), ctx.switchAddress, record);
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
  const proposed = proxiesOfProposal(proposal, ctx);
  const same = proposed.length === decision.proxies.length && decision.proxies.every((p) => proposed.includes(getAddress(p)));
  if (!same) {
    throw new BlueGreenError(
      "BG_APPROVAL_WAVE_REFUSED",
      `Refusing to ${verb} wave "${wave}": its proposal moves ${proposed.join(", ")}, but the wave's proxies still on blue are ${decision.proxies.join(", ") || "none"}. ${again}`,
    );
  }
}

function proxiesOfProposal(proposal: Proposal, ctx: ReleaseApprovalContext): string[] {
  const [tuples] = ctx.env.errors.decodeFunctionData("promoteBatch", proposal.call.data) as unknown as [Result[]];
  return tuples.map((t) => getAddress(t[0] as string));
}
