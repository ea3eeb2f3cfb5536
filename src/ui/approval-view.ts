/**
 * What the approval commands print: a short summary for people, and the
 * --json documents, whose shapes are part of the interface:
 * - propose: { ok, safe, safeTxHash, nonce, to, data, builderFile }
 * - approve: { ok, signatures, threshold, missing }
 * - switch:  { ok, txHash, implementation }
 * - rollback: { ok, state, readyAt }
 */
import path from "node:path";

import { style } from "./output.js";
import type { ApprovalStatus } from "../approval/approval-status.js";
import type { ExecuteOutcome, TimelockWait } from "../approval/execute.js";
import type { ApproveOutcome } from "../approval/approve.js";
import type { Proposal } from "../approval/proposal-schema.js";
import type { ProposeOutcome } from "../approval/propose.js";
import type { SwitchReleaseOutcome } from "../approval/release-switch.js";
import type { FinalizeOutcome, RollbackOutcome, WindowOutcome } from "../approval/release-window.js";

const rel = (file: string | undefined) => (file === undefined ? null : path.relative(process.cwd(), file) || file);

export interface ProposeJson {
  ok: true;
  safe: string | null;
  safeTxHash: string | null;
  nonce: number | null;
  to: string;
  data: string;
  builderFile: string | null;
  /** A TimelockController approver: the operation the Safe transaction schedules. */
  timelock?: { address: string; operationId: string; delay: string };
  /** The Safe Transaction Service, when configured. */
  service?: { url: string; status: string; reason?: string };
}

export function proposeJson(outcome: ProposeOutcome): ProposeJson {
  const { proposal } = outcome;
  return {
    ok: true,
    safe: proposal.actor.kind === "safe" ? proposal.actor.address : null,
    safeTxHash: proposal.safe?.safeTxHash ?? null,
    nonce: proposal.safe !== undefined ? Number(proposal.safe.tx.nonce) : null,
    to: proposal.call.to,
    data: proposal.call.data,
    builderFile: rel(outcome.builderFile),
    ...(proposal.timelock !== undefined
      ? { timelock: { address: proposal.timelock.address, operationId: proposal.timelock.operationId, delay: proposal.timelock.delay } }
      : {}),
    ...(outcome.service !== undefined ? { service: outcome.service } : {}),
  };
}

export function renderPropose(outcome: ProposeOutcome, next: string): string {
  const { proposal } = outcome;
  const lines = [style.bold(proposal.title)];
  if (proposal.safe !== undefined && proposal.actor.kind === "safe") {
    lines.push(
      `  Safe            ${proposal.actor.address} (${proposal.actor.threshold} of ${proposal.actor.owners.length})`,
      `  nonce           ${proposal.safe.tx.nonce}`,
      `  safeTxHash      ${style.bold(proposal.safe.safeTxHash)}`,
      `  domain hash     ${proposal.safe.domainHash}`,
      `  message hash    ${proposal.safe.messageHash}`,
      `  builder file    ${rel(outcome.builderFile)}`,
    );
    if (outcome.signaturesKept > 0) lines.push(`  ${outcome.signaturesKept} signature(s) kept: the proposal is unchanged.`);
    if (outcome.signaturesDropped > 0) lines.push(style.warn(`  ${outcome.signaturesDropped} signature(s) over the previous proposal dropped: owners must sign again.`));
  } else {
    lines.push(`  approver        ${proposal.actor.address} (plain account: no signatures needed)`);
  }
  if (proposal.timelock !== undefined) {
    lines.push(
      `  timelock        ${proposal.timelock.address} (delay ${proposal.timelock.delay} s)`,
      `  operation id    ${proposal.timelock.operationId}`,
    );
  }
  if (outcome.service !== undefined) {
    lines.push(
      outcome.service.status === "deferred"
        ? style.warn(`  Safe service    not posted yet: ${outcome.service.reason ?? ""}`)
        : `  Safe service    ${outcome.service.status === "posted" ? "posted to" : "already in"} ${outcome.service.url} (owners' Safe{Wallet} queue)`,
    );
  }
  lines.push(`  summary         ${rel(outcome.summaryFile)}`, "", next);
  return lines.join("\n");
}

export interface ApproveJson {
  ok: true;
  signatures: number;
  threshold: number;
  missing: number;
}

export function approveJson(outcome: ApproveOutcome): ApproveJson {
  return { ok: true, signatures: outcome.signatures.length, threshold: outcome.threshold, missing: outcome.missing };
}

/**
 * bg:approve for people: what was signed (the proposal's title and details,
 * the Safe, its nonce and the safeTxHash), then the signature and the count.
 */
export function renderApprove(outcome: ApproveOutcome, next: string): string {
  const { proposal } = outcome;
  const width = Math.max(16, ...proposal.details.map((d) => d.label.length + 2));
  const row = (label: string, value: string) => `  ${label.padEnd(width)}${value}`;
  const lines = [style.bold(proposal.title), ...proposal.details.map((d) => row(d.label, d.value))];
  if (proposal.actor.kind === "safe") lines.push(row("Safe", `${proposal.actor.address} (${proposal.actor.threshold} of ${proposal.actor.owners.length})`));
  if (proposal.safe !== undefined) lines.push(row("nonce", proposal.safe.tx.nonce), row("safeTxHash", style.bold(proposal.safe.safeTxHash)));
  lines.push(
    "",
    `${style.ok("✔")} signature of ${outcome.added} added${proposal.safe !== undefined ? ` over ${proposal.safe.safeTxHash}` : ""}`,
    `  ${outcome.signatures.length} of ${outcome.threshold} signatures`,
    outcome.missing > 0 ? `  ${outcome.missing} more needed.` : next,
  );
  return lines.join("\n");
}

export interface SwitchJson {
  ok: boolean;
  txHash: string | null;
  implementation: string | null;
  error?: string;
  missing?: number;
}

export function switchJson(outcome: SwitchReleaseOutcome): SwitchJson & { timelock?: TimelockJson } {
  if (outcome.status === "waiting") {
    if (outcome.timelock !== undefined) {
      return { ok: false, txHash: null, implementation: null, missing: 0, error: timelockMessage(outcome.timelock), timelock: timelockJson(outcome.timelock) };
    }
    return { ok: false, txHash: null, implementation: null, missing: outcome.missing, error: waitingMessage(outcome) };
  }
  return { ok: true, txHash: outcome.txHash, implementation: outcome.implementation };
}

export interface TimelockJson {
  timelock: string;
  operationId: string;
  eta: string;
  ready: boolean;
  scheduleTxHash: string | null;
}

function timelockJson(t: TimelockWait): TimelockJson {
  return { timelock: t.timelock, operationId: t.operationId, eta: t.etaIso, ready: t.ready, scheduleTxHash: t.scheduleTxHash ?? null };
}

/** A scheduled timelock operation, for people: what it is, when it can run, and what to run then. */
function timelockMessage(t: TimelockWait): string {
  return (
    `Scheduled on the timelock ${t.timelock}: operation ${t.operationId}, executable from ${t.etaIso}` +
    `${t.scheduleTxHash !== undefined ? ` (scheduled in tx ${t.scheduleTxHash})` : ""}. Run the same command again after that time to execute it.`
  );
}

function waitingMessage(o: { signatures: number; threshold: number; missing: number }): string {
  return `${o.missing} signature(s) missing (${o.signatures} of ${o.threshold}); nothing was sent. Owners sign with bg:approve.`;
}

export function renderSwitch(outcome: SwitchReleaseOutcome): string {
  if (outcome.status === "waiting") return style.warn(outcome.timelock !== undefined ? timelockMessage(outcome.timelock) : waitingMessage(outcome));
  const step = outcome.record.steps.switch as { executor?: string; executedElsewhere?: boolean } | undefined;
  const how = outcome.alreadyLive
    ? "was already live"
    : step?.executedElsewhere === true
      ? `is live (executed outside hardhat-bluegreen by ${step.executor ?? "another account"}; recorded)`
      : outcome.resumed
        ? "is live (its transaction was found mined)"
        : "is live";
  return [
    `${style.ok("✔")} release ${outcome.record.id} ${how}`,
    `  proxy           ${outcome.record.proxy}`,
    `  implementation  ${style.green(outcome.implementation)} (green)`,
    `  tx              ${outcome.txHash}`,
    `  rollback window open until ${outcome.windowEnd}`,
  ].join("\n");
}

export interface WindowJson {
  ok: boolean;
  state: string;
  readyAt: string | null;
  /** Only when an approver call was proposed and waits for signatures (or, for a timelock approver, for its delay). */
  pending?: { call: string; signatures: number; threshold: number; missing: number; timelock?: TimelockJson };
}

/**
 * bg:rollback's document: windowJson's, plus, for a wave release, `batches`
 * (each batch of the release: wave, proxies, status on the switch after the
 * run, `action` this run took, txHash, readyAt, `run` for what is left, and
 * `blocked` when it could not do what was asked there; then ok is false).
 */
export function rollbackJson(outcome: RollbackOutcome): WindowJson & { batches?: RollbackOutcome["batches"] } {
  const base = windowJson(outcome);
  if (outcome.batches === undefined) return base;
  return { ...base, ...(outcome.batches.some((b) => b.blocked === true) ? { ok: false } : {}), txHash: outcome.status === "done" ? (outcome.txHash ?? null) : null, batches: outcome.batches } as WindowJson & {
    batches?: RollbackOutcome["batches"];
  };
}

/** bg:rollback for people: renderWindow's lines, then, for a wave release, each batch with what was done and what is left. */
export function renderRollback(outcome: RollbackOutcome, verb: string): string {
  const head = renderWindow(outcome, verb);
  if (outcome.batches === undefined) return head;
  const lines = [head, `  batches of release ${outcome.record.id} on the switch:`];
  for (const b of outcome.batches) {
    const did = b.action === "none" ? "nothing sent" : `${b.action}${b.txHash !== undefined ? ` (tx ${b.txHash})` : ""}`;
    const line = `  ${b.wave !== undefined ? `wave ${b.wave}: ` : ""}${b.proxies.join(", ")} is ${b.status}${b.readyAt !== undefined ? ` (executable from ${b.readyAt})` : ""}: ${did}`;
    lines.push(b.blocked === true ? style.warn(line) : line);
    if (b.run !== undefined) lines.push(`    ${b.blocked === true ? "left" : "next"}: ${b.run}`);
  }
  return lines.join("\n");
}

/** bg:rollback's document: { ok, state, readyAt }, plus `pending` while the approver's call awaits signatures. */
export function windowJson(outcome: WindowOutcome): WindowJson {
  const base = { ok: true, state: outcome.state, readyAt: outcome.readyAt ?? null };
  if (outcome.status !== "proposed") return base;
  return {
    ...base,
    pending: {
      call: outcome.callId,
      signatures: outcome.signatures,
      threshold: outcome.threshold,
      missing: outcome.missing,
      ...(outcome.timelock !== undefined ? { timelock: timelockJson(outcome.timelock) } : {}),
    },
  };
}

/**
 * bg:finalize's document: { ok, state, txHash }, plus `pending` while an
 * early finalize awaits signatures, `finalized` (each batch closed by this
 * run) and `open` (batches of a wave release the switch still keeps open;
 * then ok is false).
 */
export function finalizeJson(outcome: FinalizeOutcome): {
  ok: boolean;
  state: string;
  txHash: string | null;
  pending?: WindowJson["pending"];
  finalized?: FinalizeOutcome["finalized"];
  open?: FinalizeOutcome["open"];
} {
  const { readyAt: _readyAt, ...rest } = windowJson(outcome);
  const open = outcome.open ?? [];
  return {
    ...rest,
    ...(open.length > 0 ? { ok: false } : {}),
    txHash: outcome.status === "done" ? (outcome.txHash ?? null) : null,
    ...(outcome.finalized !== undefined && outcome.finalized.length > 0 ? { finalized: outcome.finalized } : {}),
    ...(open.length > 0 ? { open } : {}),
  };
}

/** bg:finalize for people: each batch it closed, and any the switch still keeps open with what to run. */
export function renderFinalize(outcome: FinalizeOutcome): string {
  const lines: string[] = [];
  const closed = outcome.finalized ?? [];
  if (closed.length > 0 && (closed.length > 1 || (outcome.open ?? []).length > 0 || outcome.status === "proposed" || closed[0]!.wave !== undefined)) {
    for (const f of closed) {
      lines.push(`${style.ok("✔")} finalized ${f.wave !== undefined ? `wave ${f.wave} ` : ""}(${f.proxies.join(", ")})${f.early ? " early, by the approver" : ""}: tx ${f.txHash}`);
    }
  }
  const open = outcome.open ?? [];
  if (open.length > 0) {
    lines.push(style.warn(`Release ${outcome.record.id} is not finalized: the switch still keeps ${open.length === 1 ? "a batch" : `${open.length} batches`} of it open.`));
    for (const b of open) {
      lines.push(`  ${b.wave !== undefined ? `wave ${b.wave}: ` : ""}${b.proxies.join(", ")} is ${b.status} (window until ${b.windowEnd})`, `    run: ${b.run}`);
    }
    return lines.join("\n");
  }
  lines.push(renderWindow(outcome, "An early finalize"));
  return lines.join("\n");
}

export function renderWindow(outcome: WindowOutcome, verb: string): string {
  if (outcome.status === "proposed" && outcome.timelock !== undefined) {
    return `${verb} of release ${outcome.record.id} (call ${style.bold(outcome.callId)}): ${timelockMessage(outcome.timelock)}`;
  }
  if (outcome.status === "proposed") {
    return [
      `${verb} of release ${outcome.record.id} needs the approver: proposed as call ${style.bold(outcome.callId)} (${outcome.callFolder}).`,
      `  ${outcome.signatures} of ${outcome.threshold} signatures; ${outcome.missing} more needed.`,
      `  Owners sign: npx hardhat bg:approve --call ${outcome.callId} --signer <owner>`,
      "  Then run this command again to execute it.",
    ].join("\n");
  }
  const lines = [`${style.ok("✔")} release ${outcome.record.id} is ${outcome.state}${outcome.already ? " (nothing to do)" : ""}`];
  if (outcome.readyAt !== undefined) lines.push(`  rollback executable from ${outcome.readyAt} (bg:rollback --execute)`);
  if (outcome.txHash !== undefined) lines.push(`  tx ${outcome.txHash}`);
  return lines.join("\n");
}

export interface ExecuteJson {
  ok: boolean;
  txHash: string | null;
  error?: string;
  missing?: number;
  /** Who sent the transaction, and whether that was outside this tool (the Safe app, another owner). */
  executor?: string;
  executedElsewhere?: boolean;
  timelock?: TimelockJson;
}

export function executeJson(outcome: ExecuteOutcome): ExecuteJson {
  if (outcome.status === "waiting" && outcome.timelock !== undefined) {
    return { ok: false, txHash: null, missing: 0, error: timelockMessage(outcome.timelock), timelock: timelockJson(outcome.timelock) };
  }
  if (outcome.status === "waiting") {
    return {
      ok: false,
      txHash: null,
      missing: outcome.tally.missing,
      error: waitingMessage({ signatures: outcome.tally.signatures.length, threshold: outcome.tally.threshold, missing: outcome.tally.missing }),
    };
  }
  return { ok: true, txHash: outcome.txHash, executor: outcome.executor, executedElsewhere: outcome.elsewhere };
}

export function renderExecute(outcome: ExecuteOutcome): string {
  if (outcome.status === "waiting" && outcome.timelock !== undefined) return style.warn(timelockMessage(outcome.timelock));
  if (outcome.status === "waiting") {
    return style.warn(
      waitingMessage({ signatures: outcome.tally.signatures.length, threshold: outcome.tally.threshold, missing: outcome.tally.missing }),
    );
  }
  const how = outcome.elsewhere ? ` (executed outside hardhat-bluegreen by ${outcome.executor}; recorded)` : outcome.resumed ? " (found mined)" : "";
  return `${style.ok("✔")} ${outcome.proposal.title}\n  tx ${outcome.txHash}${how}`;
}

/** The one-line hint printed after a proposal, per approver kind. */
export function nextAfterPropose(proposal: Proposal, option: string, executeCommand: string): string {
  if (proposal.actor.kind === "account") return `Next: ${executeCommand} --signer ${proposal.actor.address}`;
  return `Next: each owner runs \`npx hardhat bg:approve ${option} --signer <owner>\` (or imports the builder file into the Safe web app), then ${executeCommand}.`;
}

/** A release's proposal in bg:status, for people: one line, with what to run next. */
export function renderApprovalStatus(release: string, a: ApprovalStatus): string {
  switch (a.status) {
    case "waiting-signatures":
      return `${release}: proposal waits for signatures (${a.signatures} of ${a.threshold}): npx hardhat bg:approve --release ${release}`;
    case "executed":
      return style.warn(`${release}: its proposal was executed (tx ${a.txHash}, by ${a.executor}); record it with npx hardhat bg:switch --release ${release}`);
    case "scheduled":
      return `${release}: scheduled on the timelock ${a.timelock}, operation ${a.operationId}, executable from ${a.eta}${a.ready ? " (ready now: run bg:switch)" : ""}`;
    case "cancelled":
      return style.bad(`${release}: its timelock operation ${a.operationId} was cancelled on ${a.timelock}; propose again`);
    case "stale":
      return style.bad(`${release}: its proposal is stale: ${a.reason}`);
  }
}

