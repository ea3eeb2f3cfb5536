/**
 * The promote of a release through the approval path: `bg:propose`,
 * `bg:approve` and `bg:switch`. The release record moves proposed →
 * approved → live, and each step writes its evidence in `record.steps`.
 */
import path from "node:path";

import { type Interface, type Signer, getAddress } from "ethers";

import { BlueGreenError } from "../errors.js";
import type { GatesConfig } from "../gates/config.js";
import { type ReleaseRecord, type ReleaseState, canTransition, transition } from "../release/record.js";
import type { ReleaseStore } from "../release/store.js";
import { IMPLEMENTATION_SLOT } from "../stage/read-proxy.js";
import { readProxyRelease } from "../switch/read-switch.js";
import { switchCallSpec, type SwitchRef } from "./approver-call.js";
import { type TimelockWait, executeProposal } from "./execute.js";
import { type ApprovalEnv, type ApproveOutcome, type ProposeOutcome, approveProposal, proposeApproverCall, requireProposal } from "./proposal.js";
import { releaseProposalFolder } from "./proposal-folder.js";
import { assertEvidenceUnchanged, assertReadyToPropose } from "./readiness.js";
import { isoFromUnix, readStep, withStep } from "../release/steps.js";
import { readWavesStep } from "../waves/waves-step.js";
import { approveWave } from "./wave-switch.js";

/** What the release steps need: the network, the records, and the switch of this chain. */
export interface ReleaseApprovalContext {
  env: ApprovalEnv & { errors: Interface };
  store: ReleaseStore;
  switchAddress: string;
  projectRoot: string;
  gatesConfig?: GatesConfig;
}

const PROPOSABLE: readonly ReleaseState[] = ["staged", "replayed", "gated", "proposed"];

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
  const sw: SwitchRef = { address: ctx.switchAddress, iface: ctx.env.errors };
  await assertSwitchTracksBlue(ctx, record);
  const greenCode = await ctx.env.provider.getCode(record.green.address);
  if (greenCode === "0x") throw new BlueGreenError("BG_APPROVAL_GREEN_MISSING", `Green ${record.green.address} has no code on this chain. Stage the release again.`);

  const initData = "0x";
  const args = [record.proxy, record.green.address, record.green.codehash, record.blue.address, initData, evidenceHash] as const;
  const spec = await switchCallSpec(ctx.env, sw, "promote", args, {
    id: record.id,
    title: `Promote release ${record.id}: proxy ${record.proxy} from blue ${record.blue.address} to green ${record.green.address}`,
    details: [
      { label: "release", value: record.id },
      { label: "proxy", value: record.proxy },
      { label: "blue (now)", value: `${record.blue.address}` },
      { label: "blue codehash", value: record.blue.codehash },
      { label: "green (next)", value: `${record.green.address} (${record.green.contract})` },
      { label: "green codehash", value: record.green.codehash },
      { label: "evidence hash", value: evidenceHash },
      ...gatesRows(record),
      ...record.rollbackRisks.map((r) => ({ label: `rollback risk: ${r.kind}`, value: r.message })),
      { label: "switch", value: getAddress(ctx.switchAddress) },
    ],
    facts: [
      { kind: "codehash", label: `code hash of green ${record.green.address}`, address: record.green.address },
      { kind: "storage", label: `implementation slot of proxy ${record.proxy}`, address: record.proxy, slot: IMPLEMENTATION_SLOT },
    ],
    pinned: { evidenceHash },
  });
  const folder = releaseProposalFolder(ctx.store, ctx.env.chainId, record.id);
  const outcome = await proposeApproverCall(ctx.env, folder, spec, {
    ...(options.nonce !== undefined ? { nonce: options.nonce } : {}),
    ...(options.proposer !== undefined ? { proposer: options.proposer } : {}),
  });
  const { proposal } = outcome;
  const at = (options.now ?? new Date()).toISOString();

  const updated = await ctx.store.update(ctx.env.chainId, record.id, (current) => {
    if (current === undefined) throw new BlueGreenError("BG_APPROVAL_RECORD_GONE", `Release "${record.id}" disappeared while it was being proposed.`);
    const moved = transition(current, "proposed", {
      actor: options.actor,
      note: proposal.safe !== undefined ? `safeTxHash ${proposal.safe.safeTxHash}, Safe nonce ${proposal.safe.tx.nonce}` : `approver ${proposal.actor.address} (plain account)`,
    });
    const rel = (file: string) => path.relative(ctx.store.releaseDir(ctx.env.chainId, record.id), file);
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
  return { ...outcome, record: updated!, evidenceHash };
}

export interface ApproveReleaseOutcome extends ApproveOutcome {
  record: ReleaseRecord;
}

/**
 * bg:approve: adds one owner's signature to the release's promote proposal;
 * once the threshold is reached the release becomes approved.
 */
export async function approveRelease(
  ctx: ReleaseApprovalContext,
  releaseId: string,
  input: { signer?: Signer; signature?: string; now?: Date },
): Promise<ApproveReleaseOutcome> {
  const record = await ctx.store.get(ctx.env.chainId, releaseId);
  // A release rolled out in waves collects signatures per wave: the wave proposal that waits.
  if (readWavesStep(record) !== undefined) return approveWave(ctx, releaseId, undefined, input);
  if (record.state !== "proposed" && record.state !== "approved") {
    throw new BlueGreenError(
      "BG_APPROVAL_RELEASE_STATE",
      `Release "${record.id}" is ${record.state}; signatures are collected while it is proposed. ` +
        (PROPOSABLE.includes(record.state) ? `Propose it first: npx hardhat bg:propose --release ${record.id}.` : "Nothing to sign."),
    );
  }
  const folder = releaseProposalFolder(ctx.store, ctx.env.chainId, record.id);
  const proposal = await requireProposal(folder);
  await assertEvidenceUnchanged(record, proposal.pinned.evidenceHash, ctx.projectRoot);
  const outcome = await approveProposal(ctx.env, folder, input);
  const at = (input.now ?? new Date()).toISOString();
  const updated = await ctx.store.update(ctx.env.chainId, record.id, (current) => {
    if (current === undefined) throw new BlueGreenError("BG_APPROVAL_RECORD_GONE", `Release "${record.id}" disappeared while it was being approved.`);
    let next = withStep(current, "approval", {
      signers: outcome.signatures.map((s) => getAddress(s.owner)),
      threshold: outcome.threshold,
      missing: outcome.missing,
      at,
    });
    if (outcome.missing === 0 && next.state === "proposed") {
      next = transition(next, "approved", { actor: outcome.added, note: `${outcome.signatures.length} of ${outcome.threshold} signatures` });
    }
    return next;
  });
  return { ...outcome, record: updated! };
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
  const folder = releaseProposalFolder(ctx.store, ctx.env.chainId, record.id);
  const proposal = await requireProposal(folder);
  if (proposal.call.functionName !== "promote") {
    throw new BlueGreenError("BG_APPROVAL_PROPOSAL_MISMATCH", `The proposal in ${folder.where} is not a promote. Propose the release again.`);
  }
  const outcome = await executeProposal(ctx.env, folder, {
    executor: options.executor,
    // Off-chain drift (the evidence) before a fresh send; the chain facts are checked inside.
    beforeSend: () => assertEvidenceUnchanged(record, proposal.pinned.evidenceHash, ctx.projectRoot),
    ...(options.afterSend !== undefined ? { afterSend: options.afterSend } : {}),
    now,
  });
  if (outcome.status === "waiting") {
    let waiting = record;
    if (outcome.timelock !== undefined) {
      const scheduled = outcome.timelock;
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
      ...(outcome.timelock !== undefined ? { timelock: outcome.timelock } : {}),
    };
  }

  // The promote must have done exactly what was proposed.
  const promoted = outcome.receipt.logs
    .filter((l) => getAddress(l.address) === getAddress(ctx.switchAddress))
    .map((l) => ctx.env.errors.parseLog(l))
    .find((e) => e?.name === "Promoted" && getAddress(e.args.proxy as string) === record.proxy);
  if (promoted === undefined || promoted === null) {
    throw new BlueGreenError("BG_APPROVAL_RESULT_MISMATCH", `Transaction ${outcome.txHash} has no Promoted event for proxy ${record.proxy}. Inspect it before going on.`);
  }
  const implementation = getAddress(
    "0x" + (await ctx.env.provider.getStorage(record.proxy, IMPLEMENTATION_SLOT, outcome.blockNumber)).slice(-40),
  );
  if (implementation !== getAddress(record.green.address)) {
    throw new BlueGreenError(
      "BG_APPROVAL_RESULT_MISMATCH",
      `After transaction ${outcome.txHash}, the proxy's implementation slot holds ${implementation}, not green ${record.green.address}. Inspect the proxy before going on.`,
    );
  }
  const evidenceHash = promoted.args.evidenceHash as string;
  const windowEnd = isoFromUnix(promoted.args.windowEnd as bigint);
  const executor = outcome.executor;

  const updated = await ctx.store.update(ctx.env.chainId, record.id, (current) => {
    if (current === undefined) throw new BlueGreenError("BG_APPROVAL_RECORD_GONE", `Release "${record.id}" disappeared while it was being switched.`);
    if (readStep(current, "switch") !== undefined) return undefined;
    const moved = transition(current, "live", { actor: executor, txHash: outcome.txHash, note: `rollback window open until ${windowEnd}` });
    return withStep(moved, "switch", {
      txHash: outcome.txHash,
      blockNumber: outcome.blockNumber,
      executor,
      implementation,
      evidenceHash,
      promotedAt: isoFromUnix(promoted.args.promotedAt as bigint),
      windowEnd,
      resumed: outcome.resumed,
      ...(outcome.elsewhere ? { executedElsewhere: true } : {}),
      ...(proposal.timelock !== undefined ? { timelock: proposal.timelock.address, operationId: proposal.timelock.operationId } : {}),
      at: now().toISOString(),
    });
  });
  return { status: "live", record: updated!, txHash: outcome.txHash, implementation, windowEnd, resumed: outcome.resumed, alreadyLive: false };
}

/** A release planned in waves is proposed and switched one wave at a time (wave-switch.ts). */
function assertNotWaves(record: ReleaseRecord, verb: "propose" | "switch"): void {
  const plan = readWavesStep(record);
  if (plan === undefined) return;
  const next = plan.waves.find((w) => !plan.promotions.some((p) => p.wave === w.name))?.name ?? plan.waves[0]!.name;
  throw new BlueGreenError(
    "BG_APPROVAL_WAVES",
    `Release "${record.id}" is rolled out in waves (${plan.waves.map((w) => w.name).join(", ")}): ${verb} one wave at a time, ` +
      `e.g. npx hardhat bg:${verb} --release ${record.id} --wave ${next}`,
  );
}

/** The switch must track the proxy, and track blue as its implementation. */
async function assertSwitchTracksBlue(ctx: ReleaseApprovalContext, record: ReleaseRecord): Promise<void> {
  const tracked = await readProxyRelease(ctx.env.provider, ctx.switchAddress, record.proxy);
  if (!tracked.adopted) {
    throw new BlueGreenError(
      "BG_APPROVAL_NOT_ADOPTED",
      `Proxy ${record.proxy} is not adopted by the switch ${ctx.switchAddress}. Transfer its ProxyAdmin ${record.admin} to the switch, then propose ` +
        `the adoption: npx hardhat bg:call propose --function adopt --args '["${record.proxy}","${record.admin}","${record.blue.address}"]'.`,
    );
  }
  if (getAddress(tracked.implementation) !== getAddress(record.blue.address)) {
    throw new BlueGreenError(
      "BG_APPROVAL_BLUE_MISMATCH",
      `The switch tracks ${tracked.implementation} as the implementation of proxy ${record.proxy}, but the release's blue is ${record.blue.address}. ` +
        "Another upgrade happened since the release was staged: stage the release again from the current implementation.",
    );
  }
}

function gatesRows(record: ReleaseRecord): Array<{ label: string; value: string }> {
  const gates = record.steps.gates as { results?: Array<{ name: string; status: string; required: boolean }>; waiver?: { reason: string } } | undefined;
  // Signers must see that no gate was checked, and why the team said that is fine.
  const waiver = gates?.waiver !== undefined ? [{ label: "gates WAIVED", value: gates.waiver.reason }] : [];
  return [...waiver, ...(gates?.results ?? []).map((g) => ({ label: `gate ${g.name}`, value: `${g.status}${g.required ? " (required)" : ""}` }))];
}
