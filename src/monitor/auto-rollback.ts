/**
 * Automatic rollback through the guardian path of the switch: when the
 * analysis fails (Argo's "abort"), a guardian schedules the rollback of every
 * proxy of the release, waits out the switch's delay (`rollbackReadyAt`,
 * chain time), and executes it. Every step is logged with the reason.
 *
 * The approver keeps the last word: a rollback it vetoes during the delay
 * (`cancelRollback`) is not scheduled again by the monitor for this
 * analysis. Each call re-reads the switch first, so re-running after a crash
 * (or racing another guardian) never sends a call twice.
 */
import { Contract, type Interface, type Signer, getAddress } from "ethers";

import { iso } from "../common/format.js";
import { BlueGreenError } from "../errors.js";
import { canTransition, transition } from "../release/record.js";
import { withStep, readStep } from "../release/steps.js";
import type { ReleaseStore } from "../release/store.js";
import { decodeSwitchRevert } from "../switch/read-switch.js";
import { explainSwitchRevert } from "../switch/switch-errors.js";
import { isReleaseGreen } from "./canary-analysis.js";
import type { MonitorCheckpoint } from "./checkpoint.js";
import type { MonitorLog } from "./json-log.js";
import { readProxyOnSwitch } from "./promotions.js";
import type { RpcClient } from "./rpc-client.js";

export interface RollbackContext {
  rpc: RpcClient;
  iface: Interface;
  switchAddress: string;
  guardian: Signer;
  store: ReleaseStore;
  log: MonitorLog;
}

export interface RollbackProgress {
  /** Something was sent or recorded. */
  changed: boolean;
  /** Every proxy is back on blue, or can no longer be rolled back by the monitor. */
  done: boolean;
}

/** Checks up front that the key given can schedule rollbacks, so a failure is not discovered when it matters. */
export async function assertGuardian(rpc: RpcClient, iface: Interface, switchAddress: string, guardian: string): Promise<void> {
  const call = async (fn: string, args: unknown[]) =>
    iface.decodeFunctionResult(fn, await rpc.request<string>("eth_call", [{ to: switchAddress, data: iface.encodeFunctionData(fn, args) }, "latest"]))[0];
  const [isGuardian, approver] = await Promise.all([call("isGuardian", [guardian]), call("approver", [])]);
  if (isGuardian !== true && getAddress(approver as string) !== getAddress(guardian)) {
    throw new BlueGreenError(
      "BG_MONITOR_NOT_GUARDIAN",
      `--signer ${guardian} is neither a guardian nor the approver of the switch ${switchAddress}, so --auto-rollback could not schedule a rollback. ` +
        "Pass a guardian's account with --signer, or have the approver add it with addGuardian.",
    );
  }
}

/**
 * Moves the rollback of every watched proxy one step forward: schedule, or
 * execute once ready. `trigger` says why (it goes into every log line and
 * into the release record).
 */
export async function progressAutoRollback(
  ctx: RollbackContext,
  cp: MonitorCheckpoint,
  trigger: { subject: string; reason: string },
  now: Date = new Date(),
): Promise<RollbackProgress> {
  const guardian = getAddress(await ctx.guardian.getAddress());
  cp.autoRollback ??= { reason: trigger.reason, subject: trigger.subject, guardian, scheduled: {}, executed: {}, vetoed: [], at: now.toISOString() };
  const ar = cp.autoRollback;
  const sw = new Contract(ctx.switchAddress, ctx.iface, ctx.guardian);
  const latest = await ctx.rpc.request<{ timestamp: string }>("eth_getBlockByNumber", ["latest", false]);
  const chainNow = Number(latest.timestamp);
  let changed = false;
  let open = 0;

  for (const proxy of Object.keys(cp.proxies)) {
    const state = await readProxyOnSwitch(ctx.rpc, ctx.iface, ctx.switchAddress, proxy);
    if (!isReleaseGreen(cp, state.green) || ar.vetoed.includes(proxy)) continue;
    const fields = { proxy: state.proxy, reason: ar.reason, subject: ar.subject };
    if (state.status === "live") {
      const ours = ar.scheduled[proxy];
      if (ours?.txHash !== undefined && (await ctx.rpc.request<unknown>("eth_getTransactionReceipt", [ours.txHash])) === null) {
        // Not mined any more (a reorg put it back in the mempool): no veto, and it may still land. Orphans are handled before this.
        open++;
        continue;
      }
      if (ours !== undefined) {
        // We scheduled it, it is still on chain, and the proxy is live again: the approver vetoed it.
        ar.vetoed.push(proxy);
        changed = true;
        ctx.log("alert", "rollback-vetoed", { ...fields, message: "The approver cancelled the scheduled rollback; the monitor will not schedule it again for this analysis." });
        await recordInRelease(ctx, cp, state.proxy, "live", "approver", undefined, "the approver vetoed the monitor's rollback (RollbackCancelled)", {});
        continue;
      }
      if (state.windowEnd <= chainNow) {
        ar.vetoed.push(proxy);
        changed = true;
        ctx.log("error", "rollback-impossible", { ...fields, message: `The rollback window closed at ${iso(state.windowEnd)}; only a new release can move this proxy now.` });
        continue;
      }
      ctx.log("alert", "rollback-scheduling", { ...fields, guardian });
      const receipt = await send(sw, "scheduleRollback", state.proxy);
      const readyAt = readyAtFrom(ctx.iface, receipt.logs, ctx.switchAddress) ?? chainNow;
      ar.scheduled[proxy] = { txHash: receipt.hash, readyAt };
      changed = true;
      open++;
      ctx.log("alert", "rollback-scheduled", { ...fields, txHash: receipt.hash, readyAt: iso(readyAt), guardian });
      await recordInRelease(ctx, cp, state.proxy, "rollback-scheduled", guardian, receipt.hash, ar.reason, { scheduledBy: guardian, scheduleTx: receipt.hash, readyAt: iso(readyAt) });
      continue;
    }
    if (state.status === "rollback-scheduled") {
      if (ar.scheduled[proxy] === undefined) {
        // Scheduled by someone else (another guardian, or our earlier run that crashed before recording).
        ar.scheduled[proxy] = { readyAt: state.rollbackReadyAt };
        changed = true;
        ctx.log("info", "rollback-already-scheduled", { ...fields, readyAt: iso(state.rollbackReadyAt) });
      }
      if (chainNow < state.rollbackReadyAt) {
        open++;
        continue;
      }
      ctx.log("alert", "rollback-executing", { ...fields, guardian });
      const receipt = await send(sw, "executeRollback", state.proxy);
      ar.executed[proxy] = receipt.hash;
      changed = true;
      ctx.log("alert", "rolled-back", { ...fields, txHash: receipt.hash, to: state.blue });
      await recordInRelease(ctx, cp, state.proxy, "rolled-back", guardian, receipt.hash, ar.reason, {
        rolledBackTx: receipt.hash,
        rolledBackBy: guardian,
        immediate: false,
        implementation: state.blue,
      });
      continue;
    }
    if (state.status === "finalized" && !cp.alerted.includes(`finalized:${proxy}`)) {
      cp.alerted.push(`finalized:${proxy}`);
      changed = true;
      ctx.log("error", "rollback-impossible", { ...fields, message: "The release of this proxy is finalized: its rollback path is closed." });
    }
  }
  return { changed, done: open === 0 };
}

async function send(sw: Contract, fn: "scheduleRollback" | "executeRollback", proxy: string) {
  const method = sw.getFunction(fn);
  try {
    await method.staticCall(proxy);
  } catch (error) {
    const revert = await decodeSwitchRevert(error, sw.interface);
    // A revert is the switch refusing (a user-level problem); anything else is transport, retried by the caller.
    if (revert !== undefined) throw new BlueGreenError("BG_MONITOR_ROLLBACK_REFUSED", `${fn}(${proxy}) would fail. ${explainSwitchRevert(revert)}`, { cause: error as Error });
    throw error;
  }
  const tx = await method.send(proxy);
  const receipt = await tx.wait();
  if (receipt === null || receipt.status !== 1) throw new Error(`${fn}(${proxy}) transaction ${tx.hash} failed or was dropped`);
  return receipt;
}

function readyAtFrom(iface: Interface, logs: ReadonlyArray<{ address: string; topics: ReadonlyArray<string>; data: string }>, switchAddress: string): number | undefined {
  for (const log of logs) {
    if (getAddress(log.address) !== getAddress(switchAddress)) continue;
    const parsed = iface.parseLog({ topics: [...log.topics], data: log.data });
    if (parsed?.name === "RollbackScheduled") return Number(parsed.args.readyAt);
  }
  return undefined;
}

/**
 * The release record follows the release's own proxy: its state moves and
 * `steps.rollback` gets the transaction, with the monitor's reason in the
 * history note. Other proxies of a wave release are in the checkpoint and
 * the monitor step.
 */
async function recordInRelease(
  ctx: RollbackContext,
  cp: MonitorCheckpoint,
  proxy: string,
  to: "rollback-scheduled" | "rolled-back" | "live",
  actor: string,
  txHash: string | undefined,
  reason: string,
  fields: Record<string, unknown>,
): Promise<void> {
  await ctx.store.update(cp.chainId, cp.release, (current) => {
    if (current === undefined || getAddress(current.proxy) !== getAddress(proxy)) return undefined;
    if (!canTransition(current.state, to) || current.state === to) return undefined;
    const moved = transition(current, to, { actor, ...(txHash !== undefined ? { txHash } : {}), note: `bg:monitor --auto-rollback: ${reason}`.slice(0, 1000) });
    return withStep(moved, "rollback", { ...(readStep(current, "rollback") ?? {}), ...fields, at: new Date().toISOString() });
  });
}
