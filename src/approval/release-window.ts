/**
 * The rollback window of a live release: `bg:rollback` (schedule by a
 * guardian, execute by anyone, cancel or roll back at once by the approver)
 * and `bg:finalize` (anyone after the window, the approver before it).
 *
 * Calls open to a guardian or to anyone are sent directly by the chosen
 * account. Approver-only ones (cancelRollback, rollbackNow, an early
 * finalize) are flows of the one approval pipeline (pipeline.ts), as promote is.
 *
 * Each step first brings the record in line with the switch (reconcile.ts),
 * so re-running is always safe.
 */
import { Contract, type LogDescription, type Signer, type TransactionReceipt, getAddress } from "ethers";

import { BlueGreenError } from "../errors.js";
import { type ReleaseRecord, type ReleaseState, canTransition, recordKind, transition } from "../release/record.js";
import { isoFromUnix, readStep, withStep } from "../release/steps.js";
import { readSwitchSettings } from "../switch/read-switch.js";
import { type SwitchRef, switchCallSpec } from "./approver-call.js";
import type { TimelockWait } from "./execute.js";
import { type ApprovalFlow, advanceFlow, callFlow } from "./pipeline.js";
import type { ApproverCallSpec } from "./proposal-schema.js";
import { reconcileWithSwitch } from "./reconcile.js";
import { type ReleaseApprovalContext, implementationAt, implementationWhere, kindNounInText, updateRelease, upgradePathWords } from "./release-flow.js";
import { describeRevert } from "./revert.js";
import { ethersProvider } from "./chain.js";
import { latestPromotion, readCanaryStep } from "../waves/canary-step.js";
import { readWavesStep } from "../waves/waves-step.js";
import { type ReleaseBatch, batchWords, isOpen, readReleaseBatches } from "./release-batches.js";
import { noteHistory, plural } from "./wave-plan.js";

export type WindowOutcome =
  | {
      status: "done";
      record: ReleaseRecord;
      state: ReleaseState;
      txHash?: string;
      /** When a scheduled rollback becomes executable (ISO 8601). */
      readyAt?: string;
      /** True when nothing had to be sent: the chain was already there. */
      already: boolean;
    }
  | {
      /** An approver call was proposed (or still waits for signatures). */
      status: "proposed";
      record: ReleaseRecord;
      state: ReleaseState;
      callId: string;
      callFolder: string;
      signatures: number;
      threshold: number;
      missing: number;
      readyAt?: string;
      /** A timelock approver: the call is scheduled and waits for its delay (run the command again after the ETA). */
      timelock?: TimelockWait;
    };

/** A guardian (or the approver) schedules a rollback to blue; it becomes executable after the delay. */
export async function scheduleRollback(ctx: ReleaseApprovalContext, releaseId: string, options: { signer: Signer }): Promise<RollbackOutcome> {
  const { record, chain } = await reconcileWithSwitch(ctx, releaseId);
  const waves = await waveBatches(ctx, record);
  if (waves !== undefined) return scheduleBatches(ctx, record, waves, options.signer);
  if (record.state === "rollback-scheduled") {
    return { status: "done", record, state: record.state, readyAt: isoFromUnix(chain.rollbackReadyAt), already: true };
  }
  assertWindowState(record, ["live"], "schedule a rollback");
  const { who } = await assertMaySchedule(ctx, options.signer);
  const { receipt, events } = await sendSwitchCall(ctx, options.signer, "scheduleRollback", [record.proxy]);
  const scheduled = events.find((e) => e.name === "RollbackScheduled");
  const readyAt = isoFromUnix(scheduled!.args.readyAt as bigint);
  const updated = await updateRelease(ctx, record.id, "from the store", (current) =>
    withStep(transition(current, "rollback-scheduled", { actor: who, txHash: receipt.hash, note: `executable from ${readyAt}` }), "rollback", {
      scheduledBy: who,
      scheduleTx: receipt.hash,
      readyAt,
      at: new Date().toISOString(),
    }),
  );
  return { status: "done", record: updated, state: updated.state, txHash: receipt.hash, readyAt, already: false };
}

/** Anyone executes a scheduled rollback once its delay has passed: the proxy goes back to exactly blue. */
export async function executeRollback(ctx: ReleaseApprovalContext, releaseId: string, options: { signer: Signer }): Promise<RollbackOutcome> {
  const { record, chain } = await reconcileWithSwitch(ctx, releaseId);
  const waves = await waveBatches(ctx, record);
  if (waves !== undefined) return executeBatches(ctx, record, waves, options.signer);
  if (record.state === "rolled-back") return { status: "done", record, state: record.state, already: true };
  assertWindowState(record, ["rollback-scheduled"], "execute a rollback");
  if (!chain.canExecuteRollback) {
    const now = await latestTimestamp(ctx);
    throw new BlueGreenError(
      "BG_APPROVAL_ROLLBACK_NOT_READY",
      `The rollback of release "${record.id}" is executable from ${isoFromUnix(chain.rollbackReadyAt)} (in ${Math.max(0, chain.rollbackReadyAt - now)}s). ` +
        "Run this again then; the approver can still veto it until that time.",
    );
  }
  const who = getAddress(await options.signer.getAddress());
  const { receipt } = await sendSwitchCall(ctx, options.signer, "executeRollback", [record.proxy]);
  const updated = await recordRolledBack(ctx, record, receipt, who, false);
  return { status: "done", record: updated, state: updated.state, txHash: receipt.hash, already: false };
}

/**
 * Vetoes a scheduled rollback: a canceller directly with its own key (during
 * the delay only), the approver through a proposal (also after the delay,
 * for a rollback that cannot run).
 */
export async function cancelRollback(ctx: ReleaseApprovalContext, releaseId: string, options: { executor: Signer }): Promise<RollbackOutcome> {
  const { record, chain } = await reconcileWithSwitch(ctx, releaseId);
  const waves = await waveBatches(ctx, record);
  if (waves !== undefined) return cancelBatches(ctx, record, waves, options.executor);
  if (record.state === "live" && readStep(record, "rollback")?.cancelledTx !== undefined) {
    return { status: "done", record, state: record.state, already: true };
  }
  assertWindowState(record, ["rollback-scheduled"], "cancel a rollback");
  // A canceller vetoes on its own key: the role exists so the veto needs no slow approval.
  const who = getAddress(await options.executor.getAddress());
  const sw = new Contract(ctx.switchAddress, ctx.env.errors, ethersProvider(ctx.env));
  const [isCanceller, approver] = await Promise.all([sw.getFunction("isCanceller")(who) as Promise<boolean>, sw.getFunction("approver")() as Promise<string>]);
  if (isCanceller && who !== getAddress(approver)) {
    const now = await latestTimestamp(ctx);
    if (now >= chain.rollbackReadyAt) {
      throw new BlueGreenError(
        "BG_APPROVAL_VETO_TOO_LATE",
        `The rollback of release "${record.id}" became executable at ${isoFromUnix(chain.rollbackReadyAt)}: a canceller can no longer veto it. ` +
          "Only the approver can still cancel it (bg:rollback --cancel with the approver's signer), or anyone can execute it (--execute).",
      );
    }
    const { receipt } = await sendSwitchCall(ctx, options.executor, "cancelRollback", [record.proxy]);
    const vetoed = await updateRelease(ctx, record.id, "from the store", (current) =>
      withStep(transition(current, "live", { actor: who, txHash: receipt.hash, note: "rollback vetoed by a canceller" }), "rollback", {
        ...(readStep(current, "rollback") ?? {}),
        cancelledTx: receipt.hash,
        at: new Date().toISOString(),
      }),
    );
    return { status: "done", record: vetoed, state: vetoed.state, txHash: receipt.hash, already: false };
  }
  const callId = `${record.id}-cancel-rollback-${chain.rollbackReadyAt}`;
  const readyAt = isoFromUnix(chain.rollbackReadyAt);
  const outcome = await approverStep(ctx, record, "cancelRollback", callId, options.executor, `Veto the rollback of release ${record.id} (${kindNounInText(record)} ${record.proxy}) scheduled for ${readyAt}`);
  if (outcome.status === "proposed") return { ...outcome, record, state: record.state, readyAt };
  const updated = await updateRelease(ctx, record.id, "from the store", (current) =>
    withStep(transition(current, "live", { actor: outcome.actor, txHash: outcome.txHash, note: "rollback vetoed by the approver" }), "rollback", {
      ...(readStep(current, "rollback") ?? {}),
      cancelledTx: outcome.txHash,
      at: new Date().toISOString(),
    }),
  );
  return { status: "done", record: updated, state: updated.state, txHash: outcome.txHash, already: false };
}

/** The approver rolls back at once, skipping the delay, through a proposal. */
export async function rollbackNow(ctx: ReleaseApprovalContext, releaseId: string, options: { executor: Signer }): Promise<RollbackOutcome> {
  const { record, chain } = await reconcileWithSwitch(ctx, releaseId);
  const waves = await waveBatches(ctx, record);
  if (waves !== undefined) return rollbackBatchesNow(ctx, record, waves, options.executor);
  if (record.state === "rolled-back") return { status: "done", record, state: record.state, already: true };
  assertWindowState(record, ["live", "rollback-scheduled"], "roll back");
  const callId = `${record.id}-rollback-now-${chain.promotedAt}`;
  const outcome = await approverStep(ctx, record, "rollbackNow", callId, options.executor, `Roll release ${record.id} (${kindNounInText(record)} ${record.proxy}) back to blue ${record.blue.address} now`);
  if (outcome.status === "proposed") return { ...outcome, record, state: record.state };
  const updated = await recordRolledBack(ctx, record, outcome.receipt, outcome.actor, true);
  return { status: "done", record: updated, state: updated.state, txHash: outcome.txHash, already: false };
}

/** What bg:rollback did on one batch of a wave release, or what is left for it. */
export interface RollbackBatch {
  wave?: string;
  proxies: string[];
  /** The batch's status on the switch after this run. */
  status: string;
  /** What this run did on it. */
  action: "scheduled" | "executed" | "rolled-back-now" | "vetoed" | "none";
  txHash?: string;
  /** When its scheduled rollback becomes executable (ISO 8601). */
  readyAt?: string;
  /** What is left to run for it, when anything is. */
  run?: string;
  /** True when this run could not do what was asked on this batch (the message is in `run`). */
  blocked?: boolean;
}

/** bg:rollback's outcome; a wave release adds each of its batches. */
export type RollbackOutcome = WindowOutcome & { batches?: RollbackBatch[] };

/**
 * The batches of a wave release whose rollback spans more than the batch of
 * the release's own proxy (a later wave was promoted), or undefined: then
 * bg:rollback acts on the release's proxy alone, as for a single proxy.
 */
async function waveBatches(ctx: ReleaseApprovalContext, record: ReleaseRecord): Promise<ReleaseBatch[] | undefined> {
  if (readWavesStep(record) === undefined) return undefined;
  const batches = await readReleaseBatches(ctx, record);
  const own = getAddress(record.proxy);
  return batches.some((b) => !b.proxies.includes(own)) ? batches : undefined;
}

async function assertMaySchedule(ctx: ReleaseApprovalContext, signer: Signer): Promise<{ who: string; isApprover: boolean }> {
  const who = getAddress(await signer.getAddress());
  const settings = await readSwitchSettings(ethersProvider(ctx.env), ctx.switchAddress);
  const isApprover = who === getAddress(settings.approver);
  if (!isApprover && !settings.guardians.map((g) => getAddress(g)).includes(who)) {
    throw new BlueGreenError(
      "BG_APPROVAL_NOT_GUARDIAN",
      `${who} is neither a guardian nor the approver of the switch, so it cannot schedule a rollback. ` +
        `Guardians: ${settings.guardians.join(", ") || "none"}. Run with --signer <guardian address>.`,
    );
  }
  return { who, isApprover };
}

function batchBase(b: ReleaseBatch): Pick<RollbackBatch, "wave" | "proxies" | "status"> {
  return { ...(b.wave !== undefined ? { wave: b.wave } : {}), proxies: b.proxies, status: b.status };
}

/** What is left for a batch still open after a bg:rollback run (undefined when nothing is). */
function leftFor(record: ReleaseRecord, b: ReleaseBatch, now: number): string | undefined {
  if (b.status === "rollback-scheduled") {
    return now >= b.rollbackReadyAt
      ? `npx hardhat bg:rollback --release ${record.id} --execute`
      : `npx hardhat bg:rollback --release ${record.id} --execute after ${isoFromUnix(b.rollbackReadyAt)} (the approver or a canceller may veto it until then: --cancel)`;
  }
  if (b.status === "live") {
    return now >= b.windowEnd
      ? `nothing rolls it back any more: its rollback window closed at ${isoFromUnix(b.windowEnd)} (bg:finalize --release ${record.id})`
      : `a guardian schedules its rollback: npx hardhat bg:rollback --release ${record.id} --signer <guardian> (or the approver at once: --now)`;
  }
  return undefined;
}

function describeBatches(batches: RollbackBatch[]): string {
  return batches
    .map((b) => `${b.wave !== undefined ? `wave ${b.wave}` : b.proxies.join(", ")}: ${b.action === "none" ? b.status : b.action}${b.txHash !== undefined ? ` (tx ${b.txHash})` : ""}`)
    .join("; ");
}

/** Every open batch of the release after this run, with what is left for it, plus those this run acted on. */
async function batchReport(ctx: ReleaseApprovalContext, record: ReleaseRecord, acted: Map<bigint, RollbackBatch>): Promise<{ batches: RollbackBatch[]; open: number }> {
  const after = await readReleaseBatches(ctx, record);
  const now = await latestTimestamp(ctx);
  const batches = after.map((b) => {
    const did = acted.get(b.switchReleaseId);
    const run = leftFor(record, b, now);
    return {
      ...batchBase(b),
      action: did?.action ?? "none",
      ...(did?.txHash !== undefined ? { txHash: did.txHash } : {}),
      ...(b.status === "rollback-scheduled" ? { readyAt: isoFromUnix(b.rollbackReadyAt) } : {}),
      ...(did?.run !== undefined ? { run: did.run } : run !== undefined ? { run } : {}),
      ...(did?.blocked === true ? { blocked: true } : {}),
    } satisfies RollbackBatch;
  });
  return { batches, open: after.filter(isOpen).length };
}

/**
 * A guardian (or the approver) schedules the rollback of every live batch of
 * a wave release. The switch lets a guardian schedule once per batch (each
 * wave's promoteBatch is its own release on the switch): a batch it already
 * scheduled once (and the approver vetoed) is left to another guardian or to
 * the approver, and said so.
 */
async function scheduleBatches(ctx: ReleaseApprovalContext, record: ReleaseRecord, batches: ReleaseBatch[], signer: Signer): Promise<RollbackOutcome> {
  if (!batches.some((b) => b.status === "live")) {
    if (batches.some((b) => b.status === "rollback-scheduled")) {
      const { batches: report } = await batchReport(ctx, record, new Map());
      const readyAt = Math.max(...batches.filter((b) => b.status === "rollback-scheduled").map((b) => b.rollbackReadyAt));
      return { status: "done", record, state: record.state, readyAt: isoFromUnix(readyAt), already: true, batches: report };
    }
    assertWindowState(record, [], "schedule a rollback");
  }
  assertWindowState(record, ["live", "rollback-scheduled"], "schedule a rollback");
  const { who, isApprover } = await assertMaySchedule(ctx, signer);
  const sw = new Contract(ctx.switchAddress, ctx.env.errors, ethersProvider(ctx.env));
  const now = await latestTimestamp(ctx);
  const acted = new Map<bigint, RollbackBatch>();
  let lastTx: string | undefined;
  for (const b of batches.filter((x) => x.status === "live")) {
    if (now >= b.windowEnd) continue; // leftFor says the window closed
    if (!isApprover && (await sw.getFunction("hasScheduled")(b.switchReleaseId, who)) === true) {
      acted.set(b.switchReleaseId, {
        ...batchBase(b),
        action: "none",
        blocked: true,
        run:
          `${who} already scheduled a rollback of this batch once (a guardian may schedule once per batch; it was vetoed since): ` +
          `another guardian (npx hardhat bg:rollback --release ${record.id} --signer <guardian>) or the approver (--now) must roll it back`,
      });
      continue;
    }
    const { receipt, events } = await sendSwitchCall(ctx, signer, "scheduleRollback", [b.proxies[0]]);
    const readyAt = events.find((e) => e.name === "RollbackScheduled")?.args.readyAt as bigint | undefined;
    lastTx = receipt.hash;
    acted.set(b.switchReleaseId, { ...batchBase(b), action: "scheduled", txHash: receipt.hash, ...(readyAt !== undefined ? { readyAt: isoFromUnix(readyAt) } : {}) });
  }
  const { batches: report } = await batchReport(ctx, record, acted);
  const scheduled = report.filter((b) => b.status === "rollback-scheduled");
  const readyAt = scheduled.length > 0 ? scheduled.map((b) => b.readyAt!).sort().at(-1) : undefined;
  if (lastTx === undefined) {
    return { status: "done", record, state: record.state, ...(readyAt !== undefined ? { readyAt } : {}), already: true, batches: report };
  }
  const note = `rollback scheduled per batch: ${describeBatches(report.filter((b) => b.action === "scheduled"))}`;
  const updated = await updateRelease(ctx, record.id, "from the store", (current) =>
    current.state === "live"
      ? withStep(transition(current, "rollback-scheduled", { actor: who, txHash: lastTx, note }), "rollback", {
          scheduledBy: who,
          scheduleTx: lastTx,
          ...(readyAt !== undefined ? { readyAt } : {}),
          at: new Date().toISOString(),
        })
      : noteHistory(current, { actor: who, txHash: lastTx, note, at: new Date() }),
  );
  return { status: "done", record: updated, state: updated.state, txHash: lastTx, ...(readyAt !== undefined ? { readyAt } : {}), already: false, batches: report };
}

/**
 * Anyone executes every scheduled rollback of a wave release whose delay has
 * passed, one call per batch; each proxy must then run exactly blue. The
 * record is rolled-back only once no batch of the release is open.
 */
async function executeBatches(ctx: ReleaseApprovalContext, record: ReleaseRecord, batches: ReleaseBatch[], signer: Signer): Promise<RollbackOutcome> {
  if (!batches.some(isOpen)) return finishRolledBack(ctx, record, undefined, "chain", false, new Map());
  assertWindowState(record, ["live", "rollback-scheduled"], "execute a rollback");
  const now = await latestTimestamp(ctx);
  const scheduled = batches.filter((b) => b.status === "rollback-scheduled");
  const ready = scheduled.filter((b) => now >= b.rollbackReadyAt);
  if (ready.length === 0) {
    if (scheduled.length === 0) {
      throw new BlueGreenError(
        "BG_APPROVAL_WINDOW_STATE",
        `Cannot execute a rollback for release "${record.id}": no batch of it has a rollback scheduled (${batches.filter(isOpen).map(batchWords).join("; ")} live). ` +
          `A guardian schedules one first: npx hardhat bg:rollback --release ${record.id} --signer <guardian>.`,
      );
    }
    const first = Math.min(...scheduled.map((b) => b.rollbackReadyAt));
    throw new BlueGreenError(
      "BG_APPROVAL_ROLLBACK_NOT_READY",
      `The rollback of release "${record.id}" is executable from ${isoFromUnix(first)} (in ${Math.max(0, first - now)}s): ` +
        scheduled.map((b) => `${batchWords(b)} from ${isoFromUnix(b.rollbackReadyAt)}`).join("; ") +
        ". Run this again then; the approver can still veto it until that time. Nothing was sent.",
    );
  }
  const who = getAddress(await signer.getAddress());
  const acted = new Map<bigint, RollbackBatch>();
  let lastReceipt: TransactionReceipt | undefined;
  for (const b of ready) {
    const { receipt } = await sendSwitchCall(ctx, signer, "executeRollback", [b.proxies[0]]);
    await assertBlue(ctx, record, b.proxies, receipt);
    lastReceipt = receipt;
    acted.set(b.switchReleaseId, { ...batchBase(b), action: "executed", txHash: receipt.hash });
  }
  return finishRolledBack(ctx, record, lastReceipt, who, false, acted);
}

/**
 * The approver rolls back a wave release at once: one rollbackNow per open
 * batch, each its own proposal. One batch goes through the proposal path as
 * for a single proxy; several are refused with one command per batch
 * (BG_APPROVAL_ROLLBACK_BATCHES), as bg:finalize does.
 */
async function rollbackBatchesNow(ctx: ReleaseApprovalContext, record: ReleaseRecord, batches: ReleaseBatch[], executor: Signer): Promise<RollbackOutcome> {
  const open = batches.filter(isOpen);
  if (open.length === 0) return finishRolledBack(ctx, record, undefined, "chain", true, new Map());
  assertWindowState(record, ["live", "rollback-scheduled"], "roll back");
  if (open.length > 1) {
    throw new BlueGreenError(
      "BG_APPROVAL_ROLLBACK_BATCHES",
      `Release "${record.id}" is open in ${plural(open.length, "batch", "batches")} on the switch (one per wave promoted): ` +
        open.map((b) => `${batchWords(b)} ${b.status}`).join("; ") +
        ". The approver rolls back one batch per call, so this needs one proposal per batch. Nothing was sent.",
      {
        hint:
          `A guardian rolls back every batch with one command: \`npx hardhat bg:rollback --release ${record.id} --signer <guardian>\`, then --execute after the delay. ` +
          "Or roll each batch back at once through the approver: " +
          perBatchProposals(open, "rollbackNow", (b) => batchCallId(record, "rollback-now", b), `bg:rollback --release ${record.id} --now`),
      },
    );
  }
  const b = open[0]!;
  const outcome = await approverStep(
    ctx,
    record,
    "rollbackNow",
    `${record.id}-rollback-now-${b.promotedAt}`,
    executor,
    `Roll ${batchWords(b)} of release ${record.id} back to blue ${record.blue.address} now`,
    b.proxies[0],
  );
  if (outcome.status === "proposed") {
    const { batches: report } = await batchReport(ctx, record, new Map());
    return { ...outcome, record, state: record.state, batches: report };
  }
  await assertBlue(ctx, record, b.proxies, outcome.receipt);
  return finishRolledBack(ctx, record, outcome.receipt, outcome.actor, true, new Map([[b.switchReleaseId, { ...batchBase(b), action: "rolled-back-now", txHash: outcome.txHash }]]));
}

/**
 * Vetoes the scheduled rollbacks of a wave release: a canceller directly,
 * one call per batch still in its delay; the approver through a proposal,
 * one batch at a time (several are refused with one command per batch).
 */
async function cancelBatches(ctx: ReleaseApprovalContext, record: ReleaseRecord, batches: ReleaseBatch[], executor: Signer): Promise<RollbackOutcome> {
  const scheduled = batches.filter((b) => b.status === "rollback-scheduled");
  if (scheduled.length === 0) {
    if (record.state === "live" && readStep(record, "rollback")?.cancelledTx !== undefined) {
      return { status: "done", record, state: record.state, already: true, batches: (await batchReport(ctx, record, new Map())).batches };
    }
    assertWindowState(record, ["rollback-scheduled"], "cancel a rollback");
    throw new BlueGreenError("BG_APPROVAL_WINDOW_STATE", `Cannot cancel a rollback for release "${record.id}": no batch of it has a rollback scheduled on the switch.`);
  }
  const who = getAddress(await executor.getAddress());
  const sw = new Contract(ctx.switchAddress, ctx.env.errors, ethersProvider(ctx.env));
  const [isCanceller, approver] = await Promise.all([sw.getFunction("isCanceller")(who) as Promise<boolean>, sw.getFunction("approver")() as Promise<string>]);
  const acted = new Map<bigint, RollbackBatch>();
  let lastTx: string | undefined;
  let actor = who;
  if (isCanceller && who !== getAddress(approver)) {
    const now = await latestTimestamp(ctx);
    for (const b of scheduled) {
      if (now >= b.rollbackReadyAt) {
        acted.set(b.switchReleaseId, {
          ...batchBase(b),
          action: "none",
          blocked: true,
          run: `its rollback became executable at ${isoFromUnix(b.rollbackReadyAt)}: only the approver can still cancel it (bg:rollback --release ${record.id} --cancel with the approver's signer), or anyone executes it (--execute)`,
        });
        continue;
      }
      lastTx = (await sendSwitchCall(ctx, executor, "cancelRollback", [b.proxies[0]])).receipt.hash;
      acted.set(b.switchReleaseId, { ...batchBase(b), action: "vetoed", txHash: lastTx });
    }
    if (lastTx === undefined) {
      throw new BlueGreenError(
        "BG_APPROVAL_VETO_TOO_LATE",
        `Every scheduled rollback of release "${record.id}" is executable already (${scheduled.map((b) => `${batchWords(b)} from ${isoFromUnix(b.rollbackReadyAt)}`).join("; ")}): a canceller can no longer veto them. ` +
          "Only the approver can still cancel them (bg:rollback --cancel with the approver's signer), or anyone can execute them (--execute).",
      );
    }
  } else {
    if (scheduled.length > 1) {
      throw new BlueGreenError(
        "BG_APPROVAL_ROLLBACK_BATCHES",
        `Release "${record.id}" has a rollback scheduled in ${scheduled.length} batches on the switch (one per wave promoted): ` +
          scheduled.map((b) => `${batchWords(b)} executable from ${isoFromUnix(b.rollbackReadyAt)}`).join("; ") +
          ". The approver vetoes one batch per call, so this needs one proposal per batch. Nothing was sent.",
        {
          hint:
            `A canceller vetoes every batch with one command during the delay: \`npx hardhat bg:rollback --release ${record.id} --cancel --signer <canceller>\`. ` +
            "Or veto each batch through the approver: " +
            perBatchProposals(scheduled, "cancelRollback", (b) => batchCallId(record, "cancel-rollback", b), `bg:rollback --release ${record.id} --cancel`),
        },
      );
    }
    const b = scheduled[0]!;
    const outcome = await approverStep(
      ctx,
      record,
      "cancelRollback",
      `${record.id}-cancel-rollback-${b.rollbackReadyAt}`,
      executor,
      `Veto the rollback of ${batchWords(b)} of release ${record.id} scheduled for ${isoFromUnix(b.rollbackReadyAt)}`,
      b.proxies[0],
    );
    if (outcome.status === "proposed") {
      const { batches: report } = await batchReport(ctx, record, new Map());
      return { ...outcome, record, state: record.state, readyAt: isoFromUnix(b.rollbackReadyAt), batches: report };
    }
    lastTx = outcome.txHash;
    actor = outcome.actor;
    acted.set(b.switchReleaseId, { ...batchBase(b), action: "vetoed", txHash: lastTx });
  }
  const { batches: report } = await batchReport(ctx, record, acted);
  const stillScheduled = report.some((b) => b.status === "rollback-scheduled");
  const note = `rollback vetoed per batch: ${describeBatches(report.filter((b) => b.action === "vetoed"))}`;
  const updated = await updateRelease(ctx, record.id, "from the store", (current) =>
    current.state === "rollback-scheduled" && !stillScheduled
      ? withStep(transition(current, "live", { actor, txHash: lastTx, note }), "rollback", {
          ...(readStep(current, "rollback") ?? {}),
          cancelledTx: lastTx,
          at: new Date().toISOString(),
        })
      : noteHistory(current, { actor, txHash: lastTx, note, at: new Date() }),
  );
  return { status: "done", record: updated, state: updated.state, txHash: lastTx, already: false, batches: report };
}

/** The id bg:rollback suggests for the approver's call on one batch through bg:call. */
/**
 * The approver's way through several batches: one proposal per batch, each
 * signed and executed, then the release's own command again to record it.
 */
function perBatchProposals(batches: ReleaseBatch[], fn: "rollbackNow" | "cancelRollback" | "finalize", callId: (b: ReleaseBatch) => string, rerun: string): string {
  return (
    batches.map((b) => `\`npx hardhat bg:call propose --function ${fn} --args '["${b.proxies[0]}"]' --id ${callId(b)}\``).join(", ") +
    `, have each signed (bg:approve --call <id>) and executed (bg:call execute --call <id>), then run ${rerun} to record it.`
  );
}

function batchCallId(record: ReleaseRecord, what: string, batch: ReleaseBatch): string {
  return `${record.id}-${what}-${batch.wave ?? "batch"}-${batch.switchReleaseId}`.slice(0, 64);
}

/** Each proxy of a rolled-back batch must run exactly blue. */
async function assertBlue(ctx: ReleaseApprovalContext, record: ReleaseRecord, proxies: string[], receipt: TransactionReceipt): Promise<void> {
  const kind = recordKind(record);
  for (const proxy of proxies) {
    const implementation = await implementationAt(ctx, proxy, receipt.blockNumber, kind);
    if (implementation !== getAddress(record.blue.address)) {
      throw new BlueGreenError(
        "BG_APPROVAL_RESULT_MISMATCH",
        `After the rollback (tx ${receipt.hash}) ${implementationWhere(kind, proxy)} holds ${implementation}, not blue ${record.blue.address}. Inspect the ${kind === "beacon" ? "beacon" : "proxy"}.`,
      );
    }
  }
}

/**
 * After rollbacks of a wave release's batches: the record becomes rolled-back
 * once no batch of the release is open on the switch (none still runs green
 * with its window open); until then the history notes what was rolled back
 * and the state stays.
 */
async function finishRolledBack(
  ctx: ReleaseApprovalContext,
  record: ReleaseRecord,
  receipt: TransactionReceipt | undefined,
  by: string,
  immediate: boolean,
  acted: Map<bigint, RollbackBatch>,
): Promise<RollbackOutcome> {
  const { batches: report, open } = await batchReport(ctx, record, acted);
  const done = report.filter((b) => b.action !== "none");
  const note = `${immediate ? "rolled back at once by the approver" : "scheduled rollback executed"} per batch: ${describeBatches(done)}`;
  if (open > 0) {
    const updated = receipt === undefined ? record : await updateRelease(ctx, record.id, "from the store", (current) => noteHistory(current, { actor: by, txHash: receipt.hash, note: `batch rolled back, release not yet: ${note}`, at: new Date() }));
    return { status: "done", record: updated, state: updated.state, ...(receipt !== undefined ? { txHash: receipt.hash } : {}), already: receipt === undefined, batches: report };
  }
  if (record.state === "rolled-back") return { status: "done", record, state: record.state, already: true, batches: report };
  const updated = await updateRelease(ctx, record.id, "from the store", (current) =>
    current.state === "rolled-back" || !canTransition(current.state, "rolled-back")
      ? undefined
      : withStep(
          transition(current, "rolled-back", {
            actor: by,
            ...(receipt !== undefined ? { txHash: receipt.hash } : {}),
            note: receipt !== undefined ? note : "reconciled from the switch: every batch rolled back",
          }),
          "rollback",
          {
            ...(readStep(current, "rollback") ?? {}),
            ...(receipt !== undefined ? { rolledBackTx: receipt.hash } : {}),
            ...(by !== "chain" ? { rolledBackBy: by } : {}),
            immediate,
            implementation: getAddress(record.blue.address),
            at: new Date().toISOString(),
          },
        ),
  );
  return { status: "done", record: updated, state: updated.state, ...(receipt !== undefined ? { txHash: receipt.hash } : {}), already: receipt === undefined, batches: report };
}

/** A batch bg:finalize closed, and how. */
export interface FinalizedBatch {
  wave?: string;
  proxies: string[];
  txHash: string;
  early: boolean;
}

/** A batch of the release the switch still keeps open after bg:finalize, and what to run for it. */
export interface OpenBatch {
  wave?: string;
  proxies: string[];
  status: string;
  windowEnd: string;
  run: string;
}

export type FinalizeOutcome = WindowOutcome & { early?: boolean; finalized?: FinalizedBatch[]; open?: OpenBatch[] };

/**
 * Closes the rollback window: green stays. After the window anyone may send
 * it; before, only the approver, through a proposal.
 *
 * A wave release is one batch per wave on the switch (each wave its own
 * promoteBatch), and `finalize(proxy)` closes the batch of that proxy only:
 * every batch of the release still open is finalized, one call each, and the
 * record is finalized only once the switch shows none of them open.
 */
export async function finalizeRelease(ctx: ReleaseApprovalContext, releaseId: string, options: { signer: Signer }): Promise<FinalizeOutcome> {
  const { record, chain } = await reconcileWithSwitch(ctx, releaseId);
  const batches = await readReleaseBatches(ctx, record);
  const open = batches.filter(isOpen);
  if (record.state === "finalized" && open.length === 0) return { status: "done", record, state: record.state, already: true };
  if (record.state === "rollback-scheduled") {
    throw new BlueGreenError(
      "BG_APPROVAL_WINDOW_STATE",
      `A rollback of release "${record.id}" is scheduled (executable from ${isoFromUnix(chain.rollbackReadyAt)}). ` +
        "The switch finalizes only a live release: veto the rollback first (bg:rollback --cancel), or let it execute.",
    );
  }
  // The record may say finalized while a batch is open (a finalize of its first batch only, by an earlier version): close the rest.
  if (record.state !== "finalized") assertWindowState(record, ["live"], "finalize");
  const scheduled = open.filter((b) => b.status === "rollback-scheduled");
  if (scheduled.length > 0) {
    throw new BlueGreenError(
      "BG_APPROVAL_WINDOW_STATE",
      `A rollback of ${scheduled.map((b) => `${batchWords(b)} (executable from ${isoFromUnix(b.rollbackReadyAt)})`).join(" and ")} of release "${record.id}" is scheduled. ` +
        "The switch finalizes only a live batch: veto the rollback first (bg:rollback --cancel), or let it execute.",
    );
  }
  const step = latestPromotion(readCanaryStep(record));
  if (step?.router !== undefined) {
    throw new BlueGreenError(
      "BG_CANARY_STEP_OPEN",
      `Release "${record.id}" is at canary step "${step.step}" (${step.bps} bps through router ${step.router}); a step is never final, so the proxy never stays on a router. ` +
        `End the canary on green (npx hardhat bg:propose --release ${record.id} --step <last step>) or roll back to blue (bg:rollback).`,
    );
  }
  if (open.length === 0) {
    if (!batches.some((b) => b.status === "finalized")) {
      throw new BlueGreenError(
        "BG_APPROVAL_WINDOW_STATE",
        `Cannot finalize release "${record.id}": the switch shows none of its proxies (${[record.proxy, ...(readWavesStep(record)?.fleet ?? [])].filter((p, i, all) => all.indexOf(p) === i).join(", ")}) running its green with an open window. Look at bg:status.`,
      );
    }
  }

  const now = await latestTimestamp(ctx);
  const late = open.filter((b) => now >= b.windowEnd);
  const early = open.filter((b) => now < b.windowEnd);
  if (early.length > 1) {
    const lastEnd = Math.max(...early.map((b) => b.windowEnd));
    throw new BlueGreenError(
      "BG_APPROVAL_FINALIZE_BATCHES",
      `Release "${record.id}" is live in ${plural(open.length, "batch", "batches")} on the switch (one per wave promoted), and ${early.length} of them are still in their rollback window: ` +
        early.map((b) => `${batchWords(b)} until ${isoFromUnix(b.windowEnd)}`).join("; ") +
        ". Before its window ends only the approver can finalize a batch, one proposal per batch. Nothing was sent.",
      {
        hint:
          `Run \`npx hardhat bg:finalize --release ${record.id}\` again after ${isoFromUnix(lastEnd)}: anyone may then finalize every batch. ` +
          "Or finalize each batch early through the approver: " +
          perBatchProposals(early, "finalize", (b) => earlyCallId(record, b), `bg:finalize --release ${record.id}`),
      },
    );
  }

  const finalized: FinalizedBatch[] = [];
  let by = "";
  for (const batch of late) {
    by = getAddress(await options.signer.getAddress());
    const txHash = (await sendSwitchCall(ctx, options.signer, "finalize", [batch.proxies[0]])).receipt.hash;
    finalized.push({ ...(batch.wave !== undefined ? { wave: batch.wave } : {}), proxies: batch.proxies, txHash, early: false });
  }
  let isEarly = false;
  const last = early[0];
  if (last !== undefined) {
    isEarly = true;
    const outcome = await approverStep(
      ctx,
      record,
      "finalize",
      `${record.id}-finalize-${last.promotedAt}`,
      options.signer,
      `Finalize ${batches.length > 1 ? `${batchWords(last)} of ` : ""}release ${record.id} (${kindNounInText(record)} ${last.proxies[0]}) before its window ends at ${isoFromUnix(last.windowEnd)}`,
      last.proxies[0],
    );
    if (outcome.status === "proposed") {
      const updated = finalized.length > 0 ? await noteFinalized(ctx, record.id, finalized, by) : record;
      return { ...outcome, record: updated, state: updated.state, early: true, finalized };
    }
    by = outcome.actor;
    finalized.push({ ...(last.wave !== undefined ? { wave: last.wave } : {}), proxies: last.proxies, txHash: outcome.txHash, early: true });
  }

  const still = (await readReleaseBatches(ctx, record)).filter(isOpen);
  if (still.length > 0) {
    const updated = finalized.length > 0 ? await noteFinalized(ctx, record.id, finalized, by) : record;
    const nowAfter = await latestTimestamp(ctx);
    return {
      status: "done",
      record: updated,
      state: updated.state,
      already: false,
      early: isEarly,
      finalized,
      open: still.map((b) => ({
        ...(b.wave !== undefined ? { wave: b.wave } : {}),
        proxies: b.proxies,
        status: b.status,
        windowEnd: isoFromUnix(b.windowEnd),
        run:
          b.status === "rollback-scheduled"
            ? `bg:rollback --release ${record.id} --cancel (or --execute)`
            : nowAfter >= b.windowEnd
              ? `npx hardhat bg:finalize --release ${record.id}`
              : `npx hardhat bg:finalize --release ${record.id} after ${isoFromUnix(b.windowEnd)} (or the approver early: bg:call propose --function finalize --args '["${b.proxies[0]}"]')`,
      })),
    };
  }
  const txHash = finalized.at(-1)?.txHash;
  if (txHash === undefined) {
    // Nothing was left to send: every batch was already finalized on the switch.
    const updated = record.state === "finalized" ? record : await updateRelease(ctx, record.id, "from the store", (current) =>
      current.state === "finalized" ? undefined : transition(current, "finalized", { actor: "chain", note: "reconciled from the switch: every batch finalized" }),
    );
    return { status: "done", record: updated, state: updated.state, already: true, finalized };
  }
  const note = finalizedNote(finalized, isEarly);
  const updated = await updateRelease(ctx, record.id, "from the store", (current) =>
    current.state === "finalized"
      ? noteHistory(current, { actor: by, txHash, note, at: new Date() })
      : withStep(transition(current, "finalized", { actor: by, txHash, note }), "finalize", {
          txHash,
          by,
          early: isEarly,
          at: new Date().toISOString(),
        }),
  );
  return { status: "done", record: updated, state: updated.state, txHash, already: false, early: isEarly, finalized };
}

/** The id bg:finalize suggests for the approver's early finalize of one batch through bg:call. */
function earlyCallId(record: ReleaseRecord, batch: ReleaseBatch): string {
  return `${record.id}-finalize-${batch.wave ?? "batch"}-${batch.switchReleaseId}`.slice(0, 64);
}

function finalizedNote(finalized: FinalizedBatch[], early: boolean): string {
  const what = finalized.map((f) => `${f.wave !== undefined ? `wave ${f.wave}` : f.proxies.join(", ")} (tx ${f.txHash})`).join(", ");
  return `${early ? "finalized early by the approver" : "rollback window over"}: ${what}`;
}

/** Batches finalized while another stays open: the history says so; the state does not move. */
async function noteFinalized(ctx: ReleaseApprovalContext, id: string, finalized: FinalizedBatch[], by: string): Promise<ReleaseRecord> {
  return updateRelease(ctx, id, "from the store", (current) =>
    noteHistory(current, { actor: by, txHash: finalized.at(-1)!.txHash, note: `batch finalized, release not yet: ${finalizedNote(finalized, false)}`, at: new Date() }),
  );
}

type WindowFunction = "cancelRollback" | "rollbackNow" | "finalize";

/** The id of a window call's folder: `<release>-<call>-<when>`, e.g. `vault-v2-rollback-now-1718000000`. */
const WINDOW_CALL_ID = /^(.+)-(cancel-rollback|rollback-now|finalize)-(\d+)$/;
const WINDOW_FUNCTIONS: Record<string, WindowFunction> = { "cancel-rollback": "cancelRollback", "rollback-now": "rollbackNow", finalize: "finalize" };

/**
 * An approver-only window call of a release: the call of the switch on the
 * release's proxy, as bg:rollback and bg:finalize propose it and as the
 * pipeline rebuilds it from the record before each signature and send.
 */
async function windowCallSpec(
  ctx: ReleaseApprovalContext,
  record: ReleaseRecord,
  fn: WindowFunction,
  callId: string,
  title?: string,
  proxy: string = record.proxy,
): Promise<ApproverCallSpec> {
  return switchCallSpec(ctx.env, switchRef(ctx), fn, [proxy], {
    id: callId,
    ...(title !== undefined ? { title } : {}),
    details: [
      { label: "release", value: record.id },
      { label: "proxy", value: proxy },
      ...(getAddress(proxy) !== getAddress(record.proxy) ? [{ label: "release's proxy", value: record.proxy }] : []),
      { label: "proxy kind", value: upgradePathWords(record) },
      { label: "blue", value: record.blue.address },
      { label: "green", value: record.green.address },
      { label: "switch", value: getAddress(ctx.switchAddress) },
    ],
  });
}

/**
 * The flow of an approver call named by its id (`--call <id>` of bg:approve
 * and bg:call execute): a rollback window call of a release (the folders
 * bg:rollback --cancel/--now and an early bg:finalize propose into) is
 * rebuilt from its release record; any other call from its own function and
 * arguments, as bg:call propose builds it.
 */
export async function approverCallFlow(ctx: ReleaseApprovalContext, callId: string): Promise<ApprovalFlow> {
  const match = WINDOW_CALL_ID.exec(callId);
  const record = match !== null ? await ctx.store.read(ctx.env.chainId, match[1]!) : undefined;
  if (match === null || record === undefined) return callFlow(ctx.store, ctx.env.chainId, callId, switchRef(ctx));
  const fn = WINDOW_FUNCTIONS[match[2]!]!;
  // An early finalize names its batch by when it was promoted: the batch of a later wave is not the release's own proxy's.
  // So does an immediate rollback of a wave's batch; a veto names it by when its rollback becomes executable.
  const batches = await readReleaseBatches(ctx, record);
  const batch =
    fn === "cancelRollback"
      ? batches.find((b) => b.status === "rollback-scheduled" && String(b.rollbackReadyAt) === match[3])
      : batches.find((b) => String(b.promotedAt) === match[3]);
  const spec = await windowCallSpec(ctx, record, fn, callId, undefined, batch?.proxies[0] ?? record.proxy);
  return callFlow(ctx.store, ctx.env.chainId, callId, switchRef(ctx), windowCallOf(record, fn, spec));
}

/**
 * The bg:rollback / bg:finalize command that proposed a window call (and
 * executes it when run again), or undefined for any other approver call
 * (bg:adopt's, bg:call propose's...).
 */
export async function windowCallCommand(ctx: ReleaseApprovalContext, callId: string): Promise<string | undefined> {
  const match = WINDOW_CALL_ID.exec(callId);
  if (match === null || (await ctx.store.read(ctx.env.chainId, match[1]!)) === undefined) return undefined;
  const fn = WINDOW_FUNCTIONS[match[2]!]!;
  return windowCommand(match[1]!, fn);
}

function windowCommand(releaseId: string, fn: WindowFunction): string {
  return fn === "finalize" ? `bg:finalize --release ${releaseId}` : `bg:rollback --release ${releaseId} ${fn === "rollbackNow" ? "--now" : "--cancel"}`;
}

function windowCallOf(record: ReleaseRecord, fn: WindowFunction, spec: ApproverCallSpec): { spec: ApproverCallSpec; source: string; again: string } {
  const command = windowCommand(record.id, fn);
  return { spec, source: `release.json of ${record.id} (${fn})`, again: `run npx hardhat ${command} again: it proposes the call anew` };
}

function switchRef(ctx: ReleaseApprovalContext): SwitchRef {
  return { address: ctx.switchAddress, iface: ctx.env.errors };
}

type ApproverStepOutcome =
  | { status: "executed"; txHash: string; receipt: TransactionReceipt; actor: string }
  | { status: "proposed"; callId: string; callFolder: string; signatures: number; threshold: number; missing: number; timelock?: TimelockWait };

/** Runs an approver-only window call through the proposal path, one step per invocation. */
async function approverStep(
  ctx: ReleaseApprovalContext,
  record: ReleaseRecord,
  fn: WindowFunction,
  callId: string,
  executor: Signer,
  title: string,
  proxy: string = record.proxy,
): Promise<ApproverStepOutcome> {
  const spec = await windowCallSpec(ctx, record, fn, callId, title, proxy);
  const flow = callFlow(ctx.store, ctx.env.chainId, callId, switchRef(ctx), windowCallOf(record, fn, spec));
  const outcome = await advanceFlow(ctx.env, flow, spec, executor);
  if (outcome.status === "proposed") {
    return {
      status: "proposed",
      callId,
      callFolder: flow.folder.where,
      signatures: outcome.signatures,
      threshold: outcome.threshold,
      missing: outcome.missing,
      ...(outcome.timelock !== undefined ? { timelock: outcome.timelock } : {}),
    };
  }
  // The switch saw the timelock as its caller when there is one.
  return { status: "executed", txHash: outcome.txHash, receipt: outcome.receipt, actor: outcome.proposal.timelock?.address ?? outcome.proposal.actor.address };
}

async function recordRolledBack(ctx: ReleaseApprovalContext, record: ReleaseRecord, receipt: TransactionReceipt, by: string, immediate: boolean): Promise<ReleaseRecord> {
  const kind = recordKind(record);
  const implementation = await implementationAt(ctx, record.proxy, receipt.blockNumber, kind);
  if (implementation !== getAddress(record.blue.address)) {
    throw new BlueGreenError(
      "BG_APPROVAL_RESULT_MISMATCH",
      `After the rollback (tx ${receipt.hash}) ${implementationWhere(kind, record.proxy)} holds ${implementation}, not blue ${record.blue.address}. Inspect the ${kind === "beacon" ? "beacon" : "proxy"}.`,
    );
  }
  return updateRelease(ctx, record.id, "from the store", (current) =>
    withStep(transition(current, "rolled-back", { actor: by, txHash: receipt.hash, note: immediate ? "rolled back at once by the approver" : "scheduled rollback executed" }), "rollback", {
      ...(readStep(current, "rollback") ?? {}),
      rolledBackTx: receipt.hash,
      rolledBackBy: by,
      immediate,
      implementation,
      at: new Date().toISOString(),
    }),
  );
}

function assertWindowState(record: ReleaseRecord, allowed: ReleaseState[], verb: string): void {
  if (allowed.includes(record.state)) return;
  const why: Partial<Record<ReleaseState, string>> = {
    finalized: "the release is finalized: its rollback path is closed for good. To go back, stage blue as the green of a new release.",
    "rolled-back": "the release is already rolled back: the proxy runs blue.",
    live: "the release is live with no rollback scheduled.",
    "rollback-scheduled": "a rollback is already scheduled.",
  };
  throw new BlueGreenError(
    "BG_APPROVAL_WINDOW_STATE",
    `Cannot ${verb} for release "${record.id}": ` +
      (why[record.state] ?? `it is ${record.state}, not live yet (run bg:switch once it is approved).`),
  );
}

/** Simulates a direct switch call from `signer`, sends it and returns its receipt and switch events. */
async function sendSwitchCall(
  ctx: ReleaseApprovalContext,
  signer: Signer,
  fn: string,
  args: unknown[],
): Promise<{ receipt: TransactionReceipt; events: LogDescription[] }> {
  const sw = new Contract(ctx.switchAddress, ctx.env.errors, signer);
  const method = sw.getFunction(fn);
  try {
    await method.staticCall(...args);
  } catch (error) {
    throw new BlueGreenError("BG_APPROVAL_SIMULATION", `${fn} would fail now: ${describeRevert(error, ctx.env.errors)}. Nothing was sent.`, { cause: error as Error });
  }
  const tx = await method.send(...args);
  const receipt = await tx.wait();
  if (receipt === null) throw new BlueGreenError("BG_APPROVAL_TX_FAILED", `Transaction ${tx.hash} was dropped. Run again.`);
  const events = receipt.logs
    .filter((l) => getAddress(l.address) === getAddress(ctx.switchAddress))
    .map((l) => ctx.env.errors.parseLog(l))
    .filter((e): e is LogDescription => e !== null);
  return { receipt, events };
}

async function latestTimestamp(ctx: ReleaseApprovalContext): Promise<number> {
  return (await ethersProvider(ctx.env).getBlock("latest"))!.timestamp;
}
