/**
 * A scheduled rollback can vanish without anybody cancelling it: a reorg
 * deeper than the confirmations removes its transaction, and the switch is
 * back at `live`. The record (and the monitor's checkpoint) must follow the
 * switch, or the release stays `rollback-scheduled` for a rollback that will
 * never come.
 *
 * A transaction is orphaned when the node has neither its receipt nor the
 * transaction itself: one back in the mempool may still be mined, and is
 * left alone. Shared by bg:monitor and bg:status.
 */
import { getAddress } from "ethers";

import { type ReleaseRecord, transition } from "../release/record.js";
import { readStep, withStep } from "../release/steps.js";
import type { ReleaseStore } from "../release/store.js";
import type { SwitchStatus } from "../switch/read-switch.js";
import type { MonitorCheckpoint } from "./checkpoint.js";

/** Anything that can send one JSON-RPC request. */
export type RpcRequest = <T>(method: string, params: unknown[]) => Promise<T>;

/** True when the node knows nothing of `txHash`: no receipt, and not pending either. */
export async function isOrphaned(request: RpcRequest, txHash: string): Promise<boolean> {
  if ((await request<unknown>("eth_getTransactionReceipt", [txHash])) !== null) return false;
  return (await request<unknown>("eth_getTransactionByHash", [txHash])) === null;
}

/**
 * Rollbacks the monitor (or the record) holds as scheduled, on proxies the
 * switch shows `live`, whose transaction is gone. `proxyStatus` is keyed by
 * lower-case proxy.
 */
export async function findOrphanedRollbacks(
  rpc: { request: RpcRequest },
  cp: MonitorCheckpoint,
  proxyStatus: Record<string, SwitchStatus>,
  record: ReleaseRecord,
): Promise<Array<{ proxy: string; txHash: string }>> {
  const candidates = new Map<string, string>();
  for (const [proxy, s] of Object.entries(cp.autoRollback?.scheduled ?? {})) {
    if (s.txHash !== undefined && proxyStatus[proxy] === "live") candidates.set(proxy, s.txHash);
  }
  const recorded = readStep(record, "rollback")?.scheduleTx;
  const own = record.proxy.toLowerCase();
  if (record.state === "rollback-scheduled" && recorded !== undefined && proxyStatus[own] === "live" && !candidates.has(own)) candidates.set(own, recorded);
  const orphans: Array<{ proxy: string; txHash: string }> = [];
  for (const [proxy, txHash] of candidates) {
    if (await isOrphaned((m, p) => rpc.request(m, p), txHash)) orphans.push({ proxy: getAddress(proxy), txHash });
  }
  return orphans;
}

export function orphanedNote(txHash: string): string {
  return `reconciled with the switch: the rollback transaction ${txHash} is no longer on chain (a reorg removed it), and the switch says live`;
}

/**
 * Moves the record from `rollback-scheduled` back to `live` when the
 * rollback it holds is `txHash` (or holds none) on its own proxy. Returns
 * the record written, or undefined when nothing had to change.
 */
export async function reconcileOrphanedRollback(
  store: ReleaseStore,
  chainId: number,
  releaseId: string,
  orphan: { proxy: string; txHash: string; by: string },
): Promise<ReleaseRecord | undefined> {
  let changed = false;
  const written = await store.update(chainId, releaseId, (current) => {
    if (current === undefined || current.state !== "rollback-scheduled" || getAddress(current.proxy) !== getAddress(orphan.proxy)) return undefined;
    const step = readStep(current, "rollback");
    if (step?.scheduleTx !== undefined && step.scheduleTx.toLowerCase() !== orphan.txHash.toLowerCase()) return undefined;
    changed = true;
    const moved = transition(current, "live", { actor: orphan.by, note: orphanedNote(orphan.txHash) });
    // The schedule is gone with its transaction; the history note keeps its hash.
    const { scheduleTx: _tx, readyAt: _ready, scheduledBy: _by, ...rest } = step ?? {};
    return withStep(moved, "rollback", { ...rest, at: new Date().toISOString() });
  });
  return changed ? written : undefined;
}
