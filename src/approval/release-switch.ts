/**
 * The promote of a release through the approval pipeline: `bg:propose`,
 * `bg:approve` and `bg:switch`. The release record moves proposed →
 * approved → live, and each step writes its evidence in `record.steps`.
 * A release planned in waves goes one wave at a time (wave-switch.ts).
 */
import path from "node:path";

import { type Signer, getAddress } from "ethers";

import { BlueGreenError } from "../errors.js";
import { type ReleaseRecord, type ReleaseState, canTransition, recordKind, transition } from "../release/record.js";
import { isoFromUnix, readStep, withStep } from "../release/steps.js";
import { readWavesStep } from "../waves/waves-step.js";
import { readCanaryStep } from "../waves/canary-step.js";
import { type SwitchRef, switchCallSpec } from "./approver-call.js";
import type { ApproveInput, ApproveOutcome } from "./approve.js";
import type { TimelockWait } from "./execute.js";
import { type ApprovalFlow, approveFlow, executeFlow, proposeFlow } from "./pipeline.js";
import { releaseProposalFolder } from "./proposal-folder.js";
import type { ProposeOutcome } from "./propose.js";
import type { ApproverCallSpec } from "./proposal-schema.js";
import { assertEvidenceUnchanged, assertReadyToPropose, recordedEvidenceHash } from "./readiness.js";
import {
  type ReleaseApprovalContext,
  approvalStep,
  assertGreenDeployed,
  assertPromotedToGreen,
  assertProxiesRunBlue,
  implementationFact,
  kindNounInText,
  releaseRows,
  updateRelease,
} from "./release-flow.js";
import { approveWave } from "./wave-switch.js";

export type { ReleaseApprovalContext } from "./release-flow.js";

const PROPOSABLE: readonly ReleaseState[] = ["staged", "replayed", "gated", "proposed"];

/**
 * The release's promote as a flow: its folder, the promote its record makes
 * (blue, green and its code hash, the gates' evidence hash), and unchanged evidence.
 */
function releaseFlow(ctx: ReleaseApprovalContext, record: ReleaseRecord): ApprovalFlow {
  const folder = releaseProposalFolder(ctx.store, ctx.env.chainId, record.id);
  return {
    folder,
    senderLockDir: ctx.store.chainDir(ctx.env.chainId),
    source: `release.json of ${record.id}`,
    expected: () => promoteSpec(ctx, record, recordedEvidenceHash(record)),
    recheck: async (proposal) => {
      const fresh = await ctx.store.get(ctx.env.chainId, record.id);
      await assertEvidenceUnchanged(fresh, proposal.pinned.evidenceHash, ctx.projectRoot);
    },
  };
}

/**
 * The promote of a release, as bg:propose proposes it and as the pipeline
 * rebuilds it from the record before each signature and send.
 */
async function promoteSpec(ctx: ReleaseApprovalContext, record: ReleaseRecord, evidenceHash: string): Promise<ApproverCallSpec> {
  const sw: SwitchRef = { address: ctx.switchAddress, iface: ctx.env.errors };
  const initData = "0x";
  const args = [record.proxy, record.green.address, record.green.codehash, record.blue.address, initData, evidenceHash] as const;
  return switchCallSpec(ctx.env, sw, "promote", args, {
    id: record.id,
    title: `Promote release ${record.id}: ${kindNounInText(record)} ${record.proxy} from blue ${record.blue.address} to green ${record.green.address}`,
    details: [
      { label: "release", value: record.id },
      { label: recordKind(record) === "beacon" ? "beacon" : "proxy", value: record.proxy },
      ...releaseRows(record, evidenceHash),
      { label: "switch", value: getAddress(ctx.switchAddress) },
    ],
    facts: [
      { kind: "codehash", label: `code hash of green ${record.green.address}`, address: record.green.address },
      implementationFact(record),
    ],
    pinned: { evidenceHash },
  });
}

export interface ProposeReleaseOutcome extends ProposeOutcome {
  record: ReleaseRecord;
  evidenceHash: string;
}

/**
 * bg:propose: checks that the release may be proposed (gates, switch state,
 * green's code), then proposes `promote(...)` to the switch's approver.
 */
export async function proposeRelease(
  ctx: ReleaseApprovalContext,
  releaseId: string,
  options: { nonce?: bigint; actor: string; now?: Date; proposer?: Signer },
): Promise<ProposeReleaseOutcome> {
  const record = await ctx.store.get(ctx.env.chainId, releaseId);
  assertNotWaves(record, "propose");
  if (!canTransition(record.state, "proposed")) {
    throw new BlueGreenError(
      "BG_APPROVAL_RELEASE_STATE",
      `Release "${record.id}" is ${record.state}; only a release that is staged, replayed, gated or proposed can be proposed.` +
        (record.state === "approved"
          ? ` It has its signatures: run \`npx hardhat bg:switch --release ${record.id}\`; if its proposal went stale, stage a new release.`
          : ""),
    );
  }
  const { evidenceHash } = await assertReadyToPropose(record, { projectRoot: ctx.projectRoot, ...(ctx.gatesConfig ? { config: ctx.gatesConfig } : {}) });
  await assertProxiesRunBlue(ctx, record, [record.proxy]);
  await assertGreenDeployed(ctx, record);

  const spec = await promoteSpec(ctx, record, evidenceHash);
  const outcome = await proposeFlow(ctx.env, releaseFlow(ctx, record), spec, {
    ...(options.nonce !== undefined ? { nonce: options.nonce } : {}),
    ...(options.proposer !== undefined ? { proposer: options.proposer } : {}),
  });
  const { proposal } = outcome;
  const at = (options.now ?? new Date()).toISOString();
  const rel = (file: string) => path.relative(ctx.store.releaseDir(ctx.env.chainId, record.id), file);

  const updated = await updateRelease(ctx, record.id, "while it was being proposed", (current) => {
    const moved = transition(current, "proposed", {
      actor: options.actor,
      note: proposal.safe !== undefined ? `safeTxHash ${proposal.safe.safeTxHash}, Safe nonce ${proposal.safe.tx.nonce}` : `approver ${proposal.actor.address} (plain account)`,
    });
    const withProposal = withStep(moved, "proposal", {
      approver: { kind: proposal.actor.kind, address: proposal.actor.address },
      switch: getAddress(ctx.switchAddress),
      to: proposal.call.to,
      data: proposal.call.data,
      ...(proposal.safe !== undefined
        ? {
            safeTxHash: proposal.safe.safeTxHash,
            nonce: proposal.safe.tx.nonce,
            domainHash: proposal.safe.domainHash,
            messageHash: proposal.safe.messageHash,
          }
        : {}),
      evidenceHash,
      ...(proposal.timelock !== undefined
        ? { timelock: { address: proposal.timelock.address, operationId: proposal.timelock.operationId, delay: proposal.timelock.delay } }
        : {}),
      ...(outcome.service !== undefined ? { service: outcome.service } : {}),
      proposalFile: rel(outcome.proposalFile),
      summaryFile: rel(outcome.summaryFile),
      ...(outcome.builderFile !== undefined ? { builderFile: rel(outcome.builderFile) } : {}),
      blockNumber: proposal.blockNumber,
      at,
    });
    // A new proposal starts a new collection of signatures.
    const { approval: _old, ...steps } = withProposal.steps;
    return outcome.signaturesKept > 0 ? withProposal : { ...withProposal, steps };
  });
  return { ...outcome, record: updated, evidenceHash };
}

export interface ApproveReleaseOutcome extends ApproveOutcome {
  record: ReleaseRecord;
}

/**
 * bg:approve: adds one owner's signature to the release's promote proposal;
 * once the threshold is reached the release becomes approved.
 */
export async function approveRelease(ctx: ReleaseApprovalContext, releaseId: string, input: ApproveInput): Promise<ApproveReleaseOutcome> {
  const record = await ctx.store.get(ctx.env.chainId, releaseId);
  // A release rolled out in waves collects signatures per wave: the wave proposal that waits.
  if (readWavesStep(record) !== undefined) return approveWave(ctx, releaseId, undefined, input);
  if (readCanaryStep(record) !== undefined) {
    throw new BlueGreenError("BG_APPROVAL_CANARY", `Release "${record.id}" runs a canary: sign one step at a time, with --step <name> (bg:status shows which step waits).`);
  }
  if (record.state !== "proposed" && record.state !== "approved") {
    throw new BlueGreenError(
      "BG_APPROVAL_RELEASE_STATE",
      `Release "${record.id}" is ${record.state}; signatures are collected while it is proposed. ` +
        (PROPOSABLE.includes(record.state) ? `Propose it first: npx hardhat bg:propose --release ${record.id}.` : "Nothing to sign."),
    );
  }
  const outcome = await approveFlow(ctx.env, releaseFlow(ctx, record), input);
  const at = input.now ?? new Date();
  const updated = await updateRelease(ctx, record.id, "while it was being approved", (current) => {
    const next = withStep(current, "approval", approvalStep(outcome, at));
    return outcome.missing === 0 && next.state === "proposed"
      ? transition(next, "approved", { actor: outcome.added, note: `${outcome.signatures.length} of ${outcome.threshold} signatures` })
      : next;
  });
  return { ...outcome, record: updated };
}

export type SwitchReleaseOutcome =
  | {
      status: "live";
      record: ReleaseRecord;
      txHash: string;
      implementation: string;
      windowEnd: string;
      resumed: boolean;
      alreadyLive: boolean;
    }
  | {
      status: "waiting";
      record: ReleaseRecord;
      signatures: number;
      threshold: number;
      missing: number;
      /** A timelock approver: the promote is scheduled and waits for its delay. */
      timelock?: TimelockWait;
    };

/**
 * bg:switch: executes the release's promote once it has enough signatures,
 * verifies the proxy's implementation slot, and records the switch and the
 * rollback window. Re-running after a crash finds the mined transaction.
 */
export async function switchRelease(
  ctx: ReleaseApprovalContext,
  releaseId: string,
  options: { executor: Signer; afterSend?: (txHash: string) => void | Promise<void>; now?: () => Date },
): Promise<SwitchReleaseOutcome> {
  const now = options.now ?? (() => new Date());
  const record = await ctx.store.get(ctx.env.chainId, releaseId);
  assertNotWaves(record, "switch");
  const recorded = readStep(record, "switch");
  if (recorded !== undefined) {
    return {
      status: "live",
      record,
      txHash: recorded.txHash,
      implementation: recorded.implementation,
      windowEnd: recorded.windowEnd,
      resumed: recorded.resumed,
      alreadyLive: true,
    };
  }
  if (record.state !== "proposed" && record.state !== "approved") {
    throw new BlueGreenError(
      "BG_APPROVAL_RELEASE_STATE",
      `Release "${record.id}" is ${record.state}; bg:switch executes a proposed and approved release. ` +
        (PROPOSABLE.includes(record.state) ? `Propose it first: npx hardhat bg:propose --release ${record.id}.` : ""),
    );
  }
  const outcome = await executeFlow(ctx.env, releaseFlow(ctx, record), {
    executor: options.executor,
    ...(options.afterSend !== undefined ? { afterSend: options.afterSend } : {}),
    now,
  });
  if (outcome.status === "waiting") {
    let waiting = record;
    const scheduled = outcome.timelock;
    if (scheduled !== undefined) {
      // The queued operation goes in the record, so bg:status shows its id and ETA.
      waiting =
        (await ctx.store.update(ctx.env.chainId, record.id, (current) =>
          current === undefined ? undefined : withStep(current, "timelock", { ...scheduled, at: now().toISOString() }),
        )) ?? record;
    }
    return {
      status: "waiting",
      record: waiting,
      signatures: outcome.tally.signatures.length,
      threshold: outcome.tally.threshold,
      missing: outcome.tally.missing,
      ...(scheduled !== undefined ? { timelock: scheduled } : {}),
    };
  }

  const promoted = (await assertPromotedToGreen(ctx, record, outcome, [record.proxy])).get(getAddress(record.proxy))!;
  const implementation = getAddress(record.green.address);
  const windowEnd = isoFromUnix(promoted.args.windowEnd as bigint);
  const { proposal, executor } = outcome;

  const updated = await updateRelease(ctx, record.id, "while it was being switched", (current) => {
    if (readStep(current, "switch") !== undefined) return undefined;
    const moved = transition(current, "live", { actor: executor, txHash: outcome.txHash, note: `rollback window open until ${windowEnd}` });
    return withStep(moved, "switch", {
      txHash: outcome.txHash,
      blockNumber: outcome.blockNumber,
      executor,
      implementation,
      evidenceHash: promoted.args.evidenceHash as string,
      promotedAt: isoFromUnix(promoted.args.promotedAt as bigint),
      windowEnd,
      resumed: outcome.resumed,
      ...(outcome.elsewhere ? { executedElsewhere: true } : {}),
      ...(proposal.timelock !== undefined ? { timelock: proposal.timelock.address, operationId: proposal.timelock.operationId } : {}),
      at: now().toISOString(),
    });
  });
  return { status: "live", record: updated, txHash: outcome.txHash, implementation, windowEnd, resumed: outcome.resumed, alreadyLive: false };
}

/**
 * A release planned in waves is proposed and switched one wave at a time
 * (wave-switch.ts); the task layer routes `bg:switch --release` of such a
 * release to its waiting wave.
 */
function assertNotWaves(record: ReleaseRecord, verb: "propose" | "switch"): void {
  const canary = readCanaryStep(record);
  if (canary !== undefined) {
    throw new BlueGreenError(
      "BG_APPROVAL_CANARY",
      `Release "${record.id}" runs a canary (steps ${canary.steps.map((s) => s.name).join(", ")}): ${verb} one step at a time, ` +
        `e.g. npx hardhat bg:${verb} --release ${record.id} --step ${canary.steps.find((s) => s.bps > (canary.promotions.at(-1)?.bps ?? 0))?.name ?? canary.steps[0]!.name}`,
    );
  }
  const plan = readWavesStep(record);
  if (plan === undefined) return;
  const next = plan.waves.find((w) => !plan.promotions.some((p) => p.wave === w.name))?.name ?? plan.waves[0]!.name;
  throw new BlueGreenError(
    "BG_APPROVAL_WAVES",
    `Release "${record.id}" is rolled out in waves (${plan.waves.map((w) => w.name).join(", ")}): ${verb} one wave at a time, ` +
      `e.g. npx hardhat bg:${verb} --release ${record.id} --wave ${next}`,
  );
}
