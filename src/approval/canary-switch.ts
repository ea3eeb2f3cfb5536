/**
 * One proxy's canary through the approval path: `bg:propose --step`,
 * `bg:approve --step` and `bg:switch --step`. Each step is one
 * `promoteCanary` call of the switch, proposed, signed and executed through
 * the one pipeline, with its own folder (`canary-<step>/` beside the record)
 * so signatures of one step never mix with another's.
 *
 * The record's lifecycle follows the first step (proposed → approved →
 * live); later steps keep the release live and leave notes in the history,
 * as later waves do. Rollback from any step is the release's ordinary
 * rollback (bg:rollback): the switch takes the proxy to exactly blue.
 *
 * During a canary blue and green write the same storage at the same time,
 * so a release with any finding of the reverse check (green → blue,
 * `rollbackRisks`) is refused, and the step's router is pinned by the code
 * hash this package compiled, with the release's blue and green.
 */
import path from "node:path";

import { Contract, type LogDescription, type Signer, ZeroHash, getAddress, keccak256 } from "ethers";

import { BlueGreenError } from "../errors.js";
import { type ReleaseRecord, recordKind, transition } from "../release/record.js";
import { isoFromUnix, readStep, withStep } from "../release/steps.js";
import type { ReleaseStore } from "../release/store.js";
import { IMPLEMENTATION_SLOT } from "../stage/read-proxy.js";
import { type CanaryRouterArgs, canaryRouterAddress, canaryRouterCodehash } from "../switch/canary-router.js";
import { readProxyRelease } from "../switch/read-switch.js";
import { ALL_CALLERS_BPS, CANARY_STEP_NAME, type CanaryConfig, canarySalt } from "../waves/canary-config.js";
import { type CanaryProposal, type CanaryStepRecord, latestPromotion, readCanaryStep, withCanaryStep } from "../waves/canary-step.js";
import { readWavesStep } from "../waves/waves-step.js";
import { type SwitchRef, switchCallSpec, switchView } from "./approver-call.js";
import type { ApproveInput, ApproveOutcome } from "./approve.js";
import { ethersProvider } from "./chain.js";
import type { TimelockWait } from "./execute.js";
import { type ApprovalFlow, approveFlow, executeFlow, proposeFlow } from "./pipeline.js";
import type { ApproverCallSpec } from "./proposal-schema.js";
import type { ProposalFolder } from "./proposal-folder.js";
import type { ProposeOutcome } from "./propose.js";
import { assertEvidenceUnchanged, assertReadyToPropose, recordedEvidenceHash } from "./readiness.js";
import {
  type ReleaseApprovalContext,
  approvalStep,
  assertGreenDeployed,
  assertProxiesRunBlue,
  implementationAt,
  releaseRows,
  updateRelease,
} from "./release-flow.js";
import { noteHistory } from "./wave-plan.js";

export function canaryFolderName(step: string): string {
  return `canary-${step}`;
}

function assertStepName(step: string): void {
  if (!CANARY_STEP_NAME.test(step)) {
    throw new BlueGreenError("BG_CANARY_STEP_UNKNOWN", `"${step}" is not a canary step name (see blueGreen.canary.steps; the last step is "green" unless you named one with bps 10000).`);
  }
}

/** The proposal folder of one step: `canary-<step>/` inside the release's folder. */
export function canaryProposalFolder(store: ReleaseStore, chainId: number, releaseId: string, step: string): ProposalFolder {
  assertStepName(step);
  const sub = canaryFolderName(step);
  const dir = path.join(store.releaseDir(chainId, releaseId), sub);
  return {
    where: path.relative(process.cwd(), dir) || dir,
    option: `--release ${releaseId} --step ${step}`,
    read: (name, schema) => store.readReleaseFile(chainId, releaseId, path.join(sub, name), schema),
    write: (name, content) => store.writeReleaseFile(chainId, releaseId, path.join(sub, name), content),
    remove: (name) => store.removeReleaseFile(chainId, releaseId, path.join(sub, name)),
  };
}

/** What a step's promoteCanary carries, in the order of the switch's CanaryStep struct. */
interface StepCall {
  name: string;
  bps: number;
  router?: string;
  routerCodehash?: string;
  salt: string;
  cohortByOrigin: boolean;
  evidenceHash: string;
  blue: string;
}

function stepTuple(record: ReleaseRecord, call: StepCall): unknown[] {
  return [
    record.proxy,
    record.green.address,
    record.green.codehash,
    call.blue,
    call.bps,
    call.salt,
    call.cohortByOrigin,
    call.routerCodehash ?? ZeroHash,
    call.evidenceHash,
  ];
}

/**
 * A step's promoteCanary, as bg:propose --step proposes it and as the
 * pipeline rebuilds it from the record before each signature and send.
 */
async function stepSpec(
  ctx: ReleaseApprovalContext,
  record: ReleaseRecord,
  call: StepCall,
  text?: { title: string; details: Array<{ label: string; value: string }> },
): Promise<ApproverCallSpec> {
  const sw: SwitchRef = { address: ctx.switchAddress, iface: ctx.env.errors };
  return switchCallSpec(ctx.env, sw, "promoteCanary", [stepTuple(record, call)], {
    id: `${record.id}/${canaryFolderName(call.name)}`,
    ...(text ?? {}),
    facts: [
      { kind: "codehash", label: `code hash of green ${record.green.address}`, address: record.green.address },
      { kind: "storage", label: `implementation slot of proxy ${record.proxy}`, address: record.proxy, slot: IMPLEMENTATION_SLOT },
      switchView(sw, "proxyState", [record.proxy], `switch's record of proxy ${record.proxy}`, [sw.iface.getFunction("proxyState")!.outputs[0]!.format("sighash")]),
      switchView(sw, "canaryState", [record.proxy], `switch's canary step of proxy ${record.proxy}`, [sw.iface.getFunction("canaryState")!.outputs[0]!.format("sighash")]),
    ],
    pinned: { evidenceHash: call.evidenceHash, canaryStep: call.name },
  });
}

/**
 * The step's call as the record has it: its share and router from the
 * step's proposal entry, the canary's salt and cohort mode, the release's
 * blue and green, and the gates' evidence hash.
 */
function recordedStepCall(record: ReleaseRecord, canary: CanaryStepRecord, step: string): StepCall {
  const entry = canary.proposals[step];
  if (entry === undefined) {
    throw new BlueGreenError("BG_APPROVAL_NO_PROPOSAL", `Canary step "${step}" of release "${record.id}" has no proposal in the record. Propose it: npx hardhat bg:propose --release ${record.id} --step ${step}`);
  }
  return {
    name: step,
    bps: entry.bps,
    ...(entry.router !== undefined ? { router: entry.router } : {}),
    ...(entry.routerCodehash !== undefined ? { routerCodehash: entry.routerCodehash } : {}),
    salt: canary.salt,
    cohortByOrigin: canary.cohortByOrigin,
    evidenceHash: recordedEvidenceHash(record),
    blue: getAddress(record.blue.address),
  };
}

function canaryFlow(ctx: ReleaseApprovalContext, record: ReleaseRecord, step: string): ApprovalFlow {
  const folder = canaryProposalFolder(ctx.store, ctx.env.chainId, record.id, step);
  return {
    folder,
    senderLockDir: ctx.store.chainDir(ctx.env.chainId),
    source: `release.json of ${record.id} (canary step ${step})`,
    expected: () => stepSpec(ctx, record, recordedStepCall(record, requireCanary(record), step)),
    recheck: async (proposal) => {
      const fresh = await ctx.store.get(ctx.env.chainId, record.id);
      await assertEvidenceUnchanged(fresh, proposal.pinned.evidenceHash, ctx.projectRoot);
      assertCanaryAllowed(fresh);
      await assertStepMayGo(ctx, fresh, requireCanary(fresh), step);
    },
  };
}

function requireCanary(record: ReleaseRecord): CanaryStepRecord {
  const canary = readCanaryStep(record);
  if (canary === undefined) {
    throw new BlueGreenError("BG_CANARY_NOT_STARTED", `Release "${record.id}" has no canary. Propose its first step: npx hardhat bg:propose --release ${record.id} --step <name>.`);
  }
  return canary;
}

/**
 * A canary shares storage between blue and green, so the reverse check
 * (green's layout read by blue) must be clean, and only a proxy whose
 * upgrade path stays outside the implementation can carry the router.
 */
export function assertCanaryAllowed(record: ReleaseRecord): void {
  if (readWavesStep(record) !== undefined) {
    throw new BlueGreenError("BG_CANARY_WAVES", `Release "${record.id}" is rolled out in waves; a canary splits one proxy's callers. Use waves or a canary, not both.`);
  }
  if (recordKind(record) === "uups") {
    throw new BlueGreenError(
      "BG_CANARY_UUPS",
      `Release "${record.id}" upgrades a UUPS proxy. Behind the canary router its upgrade function would run by the upgrader's cohort, ` +
        "and OpenZeppelin's onlyProxy check refuses it there, so the proxy could never leave the router. Promote it without --step.",
    );
  }
  if (record.rollbackRisks.length > 0) {
    throw new BlueGreenError(
      "BG_CANARY_ROLLBACK_RISK",
      `Release "${record.id}" has ${record.rollbackRisks.length} finding(s) of the reverse check (green → blue): ` +
        record.rollbackRisks.map((r) => `[${r.kind}] ${r.message.replace(/\.$/, "")}`).join("; ") +
        ". During a canary blue and green write the same storage at once, so blue must read everything green writes. " +
        "Fix green's layout and stage again, or promote without --step.",
    );
  }
}

/** The step the switch must be at for `step` to go next; throws when it is not. */
async function assertStepMayGo(ctx: ReleaseApprovalContext, record: ReleaseRecord, canary: CanaryStepRecord, step: string): Promise<void> {
  const planned = canary.steps.find((s) => s.name === step);
  if (planned === undefined) {
    throw new BlueGreenError("BG_CANARY_STEP_UNKNOWN", `Release "${record.id}" has no canary step "${step}". Its steps: ${canary.steps.map((s) => `${s.name} (${s.bps} bps)`).join(", ")}.`);
  }
  const latest = latestPromotion(canary);
  if (latest !== undefined && planned.bps <= latest.bps) {
    throw new BlueGreenError(
      "BG_CANARY_STEP_ORDER",
      `Canary step "${step}" (${planned.bps} bps) of release "${record.id}" is not after the live step "${latest.step}" (${latest.bps} bps): steps only go forward. ` +
        `Go back to blue with bg:rollback --release ${record.id}.`,
    );
  }
  if (latest === undefined) return;
  const provider = ethersProvider(ctx.env);
  const tracked = await readProxyRelease(provider, ctx.switchAddress, record.proxy);
  const sw = new Contract(ctx.switchAddress, ctx.env.errors, provider);
  const state = await sw.getFunction("canaryState")(record.proxy);
  if (tracked.status !== "live" || latest.router === undefined || getAddress(state.router as string) !== getAddress(latest.router) || Number(state.bps) !== latest.bps) {
    throw new BlueGreenError(
      "BG_CANARY_NOT_LIVE",
      `The switch does not show canary step "${latest.step}" of release "${record.id}" live on proxy ${record.proxy} ` +
        `(status ${tracked.status}, router ${state.router as string} at ${Number(state.bps)} bps): it was rolled back, has a rollback scheduled, or ended. ` +
        `Run npx hardhat bg:status --release ${record.id}.`,
    );
  }
}

export interface ProposeCanaryStepOutcome extends ProposeOutcome {
  record: ReleaseRecord;
  step: string;
  bps: number;
  router?: string;
  routerCodehash?: string;
  evidenceHash: string;
  folder: ProposalFolder;
}

/**
 * bg:propose --step: checks that the release may run a canary (no reverse
 * check finding, not UUPS, gates passed), that the step comes after the live
 * one, computes the step's router and its code hash from the shipped
 * artifact (and checks them against the switch's own derivation), then
 * proposes `promoteCanary(...)`.
 */
export async function proposeCanaryStep(
  ctx: ReleaseApprovalContext,
  releaseId: string,
  options: { step: string; actor: string; config: CanaryConfig | undefined; nonce?: bigint; now?: Date; proposer?: Signer },
): Promise<ProposeCanaryStepOutcome> {
  assertStepName(options.step);
  const now = options.now ?? new Date();
  const record = await ctx.store.get(ctx.env.chainId, releaseId);
  assertCanaryAllowed(record);
  let canary = readCanaryStep(record);
  if (canary === undefined) {
    if (options.config === undefined) {
      throw new BlueGreenError("BG_CANARY_NOT_CONFIGURED", "No canary steps are configured. Add blueGreen.canary.steps to hardhat.config.ts (see docs/canary.md).");
    }
    canary = { salt: canarySalt(options.config, record.id), cohortByOrigin: options.config.cohortByOrigin, steps: options.config.steps, proposals: {}, promotions: [] };
  }
  await assertStepMayGo(ctx, record, canary, options.step);
  const first = latestPromotion(canary) === undefined;
  if (first && !["staged", "replayed", "gated", "proposed", "approved"].includes(record.state)) {
    throw new BlueGreenError("BG_APPROVAL_RELEASE_STATE", `Release "${record.id}" is ${record.state}; a canary starts from a release that is staged, replayed, gated or proposed.`);
  }
  const { evidenceHash } = await assertReadyToPropose(record, { projectRoot: ctx.projectRoot, ...(ctx.gatesConfig ? { config: ctx.gatesConfig } : {}) });
  if (first) {
    await assertProxiesRunBlue(ctx, record, [record.proxy]);
    await assertGreenDeployed(ctx, record);
  }
  const planned = canary.steps.find((s) => s.name === options.step)!;
  const blue = getAddress(record.blue.address);
  const args: CanaryRouterArgs = { blue, green: getAddress(record.green.address), bps: planned.bps, salt: canary.salt, cohortByOrigin: canary.cohortByOrigin };
  const toGreen = planned.bps === ALL_CALLERS_BPS;
  const router = toGreen ? undefined : await assertRouterAsCompiled(ctx, args);
  const call: StepCall = { name: planned.name, bps: planned.bps, ...(router ?? {}), salt: canary.salt, cohortByOrigin: canary.cohortByOrigin, evidenceHash, blue };

  const index = canary.steps.findIndex((s) => s.name === planned.name);
  const percent = `${planned.bps / 100}%`;
  const spec = await stepSpec(ctx, record, call, {
    title: toGreen
      ? `End the canary of release ${record.id}: proxy ${record.proxy} to green ${record.green.address} for every caller`
      : `Canary step ${planned.name} of release ${record.id}: ${percent} of proxy ${record.proxy}'s callers on green ${record.green.address}, the rest on blue ${blue}`,
    details: [
      { label: "release", value: record.id },
      { label: "canary step", value: `${planned.name} (${index + 1} of ${canary.steps.length}): ${planned.bps} bps = ${percent} of callers on green` },
      { label: "proxy", value: record.proxy },
      ...(router !== undefined
        ? [
            { label: "router", value: `${router.router} (CanaryRouter, deployed by the switch if missing)` },
            { label: "router code hash (pinned)", value: router.routerCodehash },
          ]
        : [{ label: "router", value: "none: every caller runs green" }]),
      { label: "cohort", value: `${canary.cohortByOrigin ? "tx.origin" : "msg.sender"}, salt ${canary.salt}` },
      ...releaseRows(record, evidenceHash),
      { label: "switch", value: getAddress(ctx.switchAddress) },
    ],
  });
  const flow = canaryFlow(ctx, withCanaryStep(record, canary), planned.name);
  const outcome = await proposeFlow(ctx.env, flow, spec, {
    ...(options.nonce !== undefined ? { nonce: options.nonce } : {}),
    ...(options.proposer !== undefined ? { proposer: options.proposer } : {}),
    now,
  });
  const { proposal } = outcome;
  const rel = (file: string) => path.relative(ctx.store.releaseDir(ctx.env.chainId, record.id), file);
  const entry: CanaryProposal = {
    bps: planned.bps,
    ...(router ?? {}),
    folder: canaryFolderName(planned.name),
    approver: { kind: proposal.actor.kind, address: proposal.actor.address },
    ...(proposal.safe !== undefined ? { safeTxHash: proposal.safe.safeTxHash, nonce: proposal.safe.tx.nonce } : {}),
    evidenceHash,
    blockNumber: proposal.blockNumber,
    by: options.actor,
    at: now.toISOString(),
  };
  const how = proposal.safe !== undefined ? `safeTxHash ${proposal.safe.safeTxHash}, Safe nonce ${proposal.safe.tx.nonce}` : `approver ${proposal.actor.address} (plain account)`;
  const note = `canary step ${planned.name} (${planned.bps} bps) proposed (${rel(outcome.proposalFile)}): ${how}`;
  const started = canary;
  const updated = await updateRelease(ctx, record.id, "while its canary step was being proposed", (current) => {
    const step = readCanaryStep(current) ?? started;
    const previous = step.proposals[planned.name];
    const kept = outcome.signaturesKept > 0 && previous?.approval !== undefined ? { approval: previous.approval } : {};
    const next = withCanaryStep(current, { ...step, proposals: { ...step.proposals, [planned.name]: { ...entry, ...kept } } });
    return step.promotions.length === 0 && current.state !== "proposed"
      ? transition(next, "proposed", { actor: options.actor, note, at: now })
      : noteHistory(next, { actor: options.actor, note, at: now });
  });
  return { ...outcome, record: updated, step: planned.name, bps: planned.bps, ...(router ?? {}), evidenceHash, folder: flow.folder };
}

/**
 * The router the switch will deploy for `args`: our own derivation of its
 * address must equal the switch's (so the switch embeds the router this
 * package compiled), and if something already lives there it must have the
 * code hash we compute from the artifact.
 */
async function assertRouterAsCompiled(ctx: ReleaseApprovalContext, args: CanaryRouterArgs): Promise<{ router: string; routerCodehash: string }> {
  const provider = ethersProvider(ctx.env);
  const [router, routerCodehash] = await Promise.all([canaryRouterAddress(ctx.switchAddress, args), canaryRouterCodehash(args)]);
  const sw = new Contract(ctx.switchAddress, ctx.env.errors, provider);
  const onSwitch = getAddress((await sw.getFunction("canaryRouterFor")(args.blue, args.green, args.bps, args.salt, args.cohortByOrigin)) as string);
  if (onSwitch !== router) {
    throw new BlueGreenError(
      "BG_CANARY_ROUTER_MISMATCH",
      `The switch ${ctx.switchAddress} would deploy the ${args.bps} bps router at ${onSwitch}, but this package's CanaryRouter goes to ${router}: ` +
        "the switch was built with another router. Use the hardhat-bluegreen version that deployed the switch.",
    );
  }
  const code = await provider.getCode(router);
  if (code !== "0x" && keccak256(code) !== routerCodehash) {
    throw new BlueGreenError("BG_CANARY_ROUTER_MISMATCH", `The code at the router address ${router} is not the CanaryRouter this package compiled (code hash ${routerCodehash} expected).`);
  }
  return { router, routerCodehash };
}

export interface ApproveCanaryStepOutcome extends ApproveOutcome {
  record: ReleaseRecord;
  step: string;
}

/** bg:approve --step: one owner's signature on the step's proposal; the first step's threshold approves the release. */
export async function approveCanaryStep(ctx: ReleaseApprovalContext, releaseId: string, step: string, input: ApproveInput): Promise<ApproveCanaryStepOutcome> {
  assertStepName(step);
  const record = await ctx.store.get(ctx.env.chainId, releaseId);
  const canary = requireCanary(record);
  if (canary.proposals[step] === undefined) {
    throw new BlueGreenError("BG_APPROVAL_NO_PROPOSAL", `Canary step "${step}" of release "${record.id}" has no proposal. Propose it first: npx hardhat bg:propose --release ${record.id} --step ${step}`);
  }
  if (canary.promotions.some((p) => p.step === step)) {
    throw new BlueGreenError("BG_APPROVAL_ALREADY_EXECUTED", `Canary step "${step}" of release "${record.id}" is already live. Nothing to sign.`);
  }
  const outcome = await approveFlow(ctx.env, canaryFlow(ctx, record, step), input);
  const at = input.now ?? new Date();
  const updated = await updateRelease(ctx, record.id, "while its canary step was being approved", (current) => {
    const c = requireCanary(current);
    const entry = c.proposals[step];
    if (entry === undefined) return undefined;
    const reached = outcome.missing === 0 && (entry.approval === undefined || entry.approval.missing > 0);
    let next = withCanaryStep(current, { ...c, proposals: { ...c.proposals, [step]: { ...entry, approval: approvalStep(outcome, at) } } });
    if (reached) {
      const note = `canary step ${step} approved: ${outcome.signatures.length} of ${outcome.threshold} signatures`;
      next = next.state === "proposed" ? transition(next, "approved", { actor: outcome.added, note, at }) : noteHistory(next, { actor: outcome.added, note, at });
    }
    return next;
  });
  return { ...outcome, record: updated, step };
}

export type SwitchCanaryStepOutcome =
  | {
      status: "live";
      record: ReleaseRecord;
      step: string;
      bps: number;
      /** What the proxy runs now: the step's router, or green after the last step. */
      implementation: string;
      txHash: string;
      windowEnd: string;
      resumed: boolean;
      alreadyLive: boolean;
    }
  | { status: "waiting"; record: ReleaseRecord; step: string; signatures: number; threshold: number; missing: number; timelock?: TimelockWait };

/**
 * bg:switch --step: executes the step's promoteCanary once signed (drift,
 * evidence and step order re-checked first), verifies the event and the
 * proxy's implementation slot (the router, or green at the last step), and
 * records the step. Re-running after a crash finds the mined transaction.
 */
export async function switchCanaryStep(
  ctx: ReleaseApprovalContext,
  releaseId: string,
  step: string,
  options: { executor: Signer; afterSend?: (txHash: string) => void | Promise<void>; now?: () => Date },
): Promise<SwitchCanaryStepOutcome> {
  assertStepName(step);
  const now = options.now ?? (() => new Date());
  const record = await ctx.store.get(ctx.env.chainId, releaseId);
  const canary = requireCanary(record);
  const done = canary.promotions.find((p) => p.step === step);
  if (done !== undefined) {
    return {
      status: "live",
      record,
      step,
      bps: done.bps,
      implementation: done.router ?? getAddress(record.green.address),
      txHash: done.txHash,
      windowEnd: done.windowEnd,
      resumed: false,
      alreadyLive: true,
    };
  }
  const entry = canary.proposals[step];
  if (entry === undefined) {
    throw new BlueGreenError("BG_APPROVAL_NO_PROPOSAL", `Canary step "${step}" of release "${record.id}" has no proposal. Propose it first: npx hardhat bg:propose --release ${record.id} --step ${step}`);
  }
  const outcome = await executeFlow(ctx.env, canaryFlow(ctx, record, step), {
    executor: options.executor,
    ...(options.afterSend !== undefined ? { afterSend: options.afterSend } : {}),
    now,
  });
  if (outcome.status === "waiting") {
    return {
      status: "waiting",
      record,
      step,
      signatures: outcome.tally.signatures.length,
      threshold: outcome.tally.threshold,
      missing: outcome.tally.missing,
      ...(outcome.timelock !== undefined ? { timelock: outcome.timelock } : {}),
    };
  }

  const toGreen = entry.bps === ALL_CALLERS_BPS;
  const expected = toGreen ? getAddress(record.green.address) : getAddress(entry.router!);
  let event: LogDescription | undefined;
  for (const log of outcome.receipt.logs) {
    if (getAddress(log.address) !== getAddress(ctx.switchAddress)) continue;
    const parsed = ctx.env.errors.parseLog(log);
    if (parsed?.name === (toGreen ? "Promoted" : "CanaryStepPromoted") && getAddress(parsed.args.proxy as string) === getAddress(record.proxy)) event = parsed;
  }
  const slot = await implementationAt(ctx, record.proxy, outcome.blockNumber);
  if (event === undefined || slot !== expected || (!toGreen && getAddress(event.args.router as string) !== expected)) {
    throw new BlueGreenError(
      "BG_APPROVAL_RESULT_MISMATCH",
      `After transaction ${outcome.txHash}, proxy ${record.proxy} runs ${slot}, not ${toGreen ? "green" : "the step's router"} ${expected}, or the switch logged no such step. Inspect it before going on.`,
    );
  }
  const windowEnd = isoFromUnix(event.args.windowEnd as bigint);
  const at = now();
  const executor = outcome.executor;
  const updated = await updateRelease(ctx, record.id, "while its canary step was being switched", (current) => {
    const c = requireCanary(current);
    if (c.promotions.some((p) => p.txHash === outcome.txHash)) return undefined;
    const promotion = {
      step,
      bps: entry.bps,
      ...(toGreen ? {} : { router: expected, routerCodehash: entry.routerCodehash! }),
      txHash: outcome.txHash,
      blockNumber: outcome.blockNumber,
      windowEnd,
      by: executor,
      at: at.toISOString(),
    };
    const note = toGreen
      ? `canary ended on green for every caller; rollback window open until ${windowEnd}`
      : `canary step ${step} live: ${entry.bps} bps of callers on green through router ${expected}; rollback window open until ${windowEnd}`;
    let next = withCanaryStep(current, { ...c, promotions: [...c.promotions, promotion] });
    next =
      current.state === "proposed" || current.state === "approved"
        ? transition(next, "live", { actor: executor, txHash: outcome.txHash, note, at })
        : noteHistory(next, { actor: executor, txHash: outcome.txHash, note, at });
    // steps.switch is what bg:rollback and bg:finalize act on: the latest step's promote.
    const switchStep = readStep(current, "switch");
    return withStep(next, "switch", {
      ...(switchStep ?? {}),
      txHash: outcome.txHash,
      blockNumber: outcome.blockNumber,
      executor,
      implementation: expected,
      evidenceHash: event!.args.evidenceHash as string,
      promotedAt: switchStep?.promotedAt ?? at.toISOString(),
      windowEnd,
      resumed: outcome.resumed,
      at: at.toISOString(),
    });
  });
  return { status: "live", record: updated, step, bps: entry.bps, implementation: expected, txHash: outcome.txHash, windowEnd, resumed: outcome.resumed, alreadyLive: false };
}
