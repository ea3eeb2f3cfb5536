/**
 * A beacon release in the monitor. The switch promotes the beacon, but the
 * traffic runs through the beacon's BeaconProxy contracts, so the monitor
 * watches all of them: each one's traffic is labelled with its own address
 * (Prometheus `proxy` label), and the analysis measures them together (the
 * aggregate), or one by one for metrics marked `perProxy`.
 *
 * The proxies are those the record names and every emitter of
 * `BeaconUpgraded(beacon)` (OpenZeppelin's BeaconProxy emits it at
 * construction) that still points at the beacon. A proxy created while the
 * monitor runs (a factory) is found by the next step, before its blocks are
 * read, and counted from the block it was created in.
 */
import { getAddress, zeroPadValue } from "ethers";

import { quantity as hex } from "../common/format.js";
import type { ReleaseRecord } from "../release/record.js";
import { BEACON_SLOT, BEACON_UPGRADED_TOPIC } from "../replay/beacon-fleet.js";
import type { WatchSet } from "./block-digest.js";
import type { MonitorCheckpoint } from "./checkpoint.js";
import type { MonitorLog } from "./json-log.js";
import type { RpcClient } from "./rpc-client.js";
import { isTransient } from "./transient.js";

/** A beacon's proxies as the checkpoint keeps them. */
export interface FleetState {
  /** Lower-case proxy → first block whose traffic counts (after the promotion, or its creation). */
  proxies: Record<string, number>;
  /** Last block searched for new proxies. */
  scannedTo: number;
}

/** Whether the record's release goes through a beacon. */
export function isBeaconRelease(record: Pick<ReleaseRecord, "kind">): boolean {
  return record.kind === "beacon";
}

/**
 * The proxies of `beacon` when its promotion (in `promotedBlock`) is found:
 * the record's and those of `BeaconUpgraded` events up to `confirmed`.
 */
export async function openFleet(rpc: RpcClient, record: Pick<ReleaseRecord, "beacon">, beacon: string, promotedBlock: number, confirmed: number): Promise<FleetState> {
  const fleet: FleetState = { proxies: {}, scannedTo: confirmed };
  const found = await beaconUpgradedEmitters(rpc, beacon, await deploymentBlock(rpc, beacon, confirmed), confirmed);
  for (const p of record.beacon?.proxies ?? []) if (!found.has(p.toLowerCase())) found.set(p.toLowerCase(), 0);
  await admit(rpc, fleet, beacon, found, promotedBlock + 1, confirmed);
  return fleet;
}

/** Looks for proxies created since the last search; returns those added. */
export async function growFleet(rpc: RpcClient, fleet: FleetState, beacon: string, promotedBlock: number, confirmed: number): Promise<string[]> {
  if (confirmed <= fleet.scannedTo) return [];
  const found = await beaconUpgradedEmitters(rpc, beacon, fleet.scannedTo + 1, confirmed);
  for (const p of Object.keys(fleet.proxies)) found.delete(p);
  const added = await admit(rpc, fleet, beacon, found, promotedBlock + 1, confirmed);
  fleet.scannedTo = confirmed;
  return added;
}

/** Adds the candidates that point at the beacon at `block`, each counted from max(`from`, its creation). */
async function admit(rpc: RpcClient, fleet: FleetState, beacon: string, candidates: Map<string, number>, from: number, block: number): Promise<string[]> {
  const added: string[] = [];
  for (const [proxy, created] of candidates) {
    const slot = await rpc.request<string>("eth_getStorageAt", [proxy, BEACON_SLOT, hex(block)]);
    if (("0x" + slot.slice(-40)).toLowerCase() !== beacon.toLowerCase()) continue;
    fleet.proxies[proxy] = Math.max(from, created);
    added.push(proxy);
  }
  return added.sort();
}

/**
 * Emitters of `BeaconUpgraded(beacon)` in [from, to] → the block of their
 * first such event. The topic filter keeps answers small, so the whole span
 * is asked at once, and split when the node refuses it (a range limit).
 */
async function beaconUpgradedEmitters(rpc: RpcClient, beacon: string, from: number, to: number): Promise<Map<string, number>> {
  const topics = [BEACON_UPGRADED_TOPIC, zeroPadValue(beacon, 32).toLowerCase()];
  const found = new Map<string, number>();
  let span = to - from + 1;
  for (let start = from; start <= to; ) {
    const end = Math.min(to, start + span - 1);
    let logs: Array<{ address: string; blockNumber: string; removed?: boolean }>;
    try {
      logs = await rpc.request("eth_getLogs", [{ fromBlock: hex(start), toBlock: hex(end), topics }]);
    } catch (error) {
      // A fault of the node is retried by the step; a refusal of the range is answered with a smaller one.
      if (isTransient(error) || span <= 1) throw error;
      span = Math.max(1, Math.floor(span / 8));
      continue;
    }
    for (const log of logs) {
      if (log.removed === true) continue;
      const proxy = log.address.toLowerCase();
      if (!found.has(proxy)) found.set(proxy, Number(log.blockNumber));
    }
    start = end + 1;
  }
  return found;
}

/**
 * The first block where the beacon has code (binary search over
 * `eth_getCode`): no proxy of it is older. A node without the old state
 * (not an archive node) refuses; the search then starts at block 0.
 */
async function deploymentBlock(rpc: RpcClient, beacon: string, head: number): Promise<number> {
  let lo = 0;
  let hi = head;
  try {
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if ((await rpc.request<string>("eth_getCode", [beacon, hex(mid)])) !== "0x") hi = mid;
      else lo = mid + 1;
    }
    return lo;
  } catch (error) {
    if (isTransient(error)) throw error;
    return 0;
  }
}

/**
 * Each step, before blocks are read: new proxies of every watched beacon
 * join its fleet and the analysis run of its subject.
 */
export async function growFleets(rpc: RpcClient, cp: MonitorCheckpoint, confirmed: number, log: MonitorLog): Promise<void> {
  for (const [beacon, fleet] of Object.entries(cp.fleets ?? {})) {
    const watched = cp.proxies[beacon];
    if (watched === undefined) continue;
    const added = await growFleet(rpc, fleet, beacon, watched.promotedBlock, confirmed);
    if (added.length === 0) continue;
    const run = cp.runs[watched.subject];
    if (run !== undefined) for (const p of added) if (!run.proxies.includes(p)) run.proxies.push(p);
    log("info", "beacon-proxies-added", { beacon: getAddress(beacon), proxies: added.map((p) => getAddress(p)), message: "new proxies of the beacon run green too: they are watched from their creation" });
  }
}

/** Which addresses' traffic counts from which block: each proxy, and for a beacon each proxy of it (not the beacon). */
export function watchSetOf(cp: MonitorCheckpoint): WatchSet {
  const watch: WatchSet = new Map();
  for (const [address, v] of Object.entries(cp.proxies)) {
    const fleet = cp.fleets?.[address];
    if (fleet === undefined) watch.set(address, v.promotedBlock + 1);
    else for (const [proxy, first] of Object.entries(fleet.proxies)) watch.set(proxy, first);
  }
  return watch;
}

/** Every watched address → its subject (a beacon's proxies take the beacon's). */
export function subjectsOf(cp: MonitorCheckpoint): Record<string, string> {
  const subjects: Record<string, string> = {};
  for (const [address, v] of Object.entries(cp.proxies)) {
    subjects[address] = v.subject;
    for (const proxy of Object.keys(cp.fleets?.[address]?.proxies ?? {})) subjects[proxy] = v.subject;
  }
  return subjects;
}
