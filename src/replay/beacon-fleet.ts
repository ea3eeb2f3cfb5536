/**
 * The fleet a replay covers. A transparent or UUPS release replays one
 * proxy; a beacon release replays every BeaconProxy of the beacon, because
 * one promote switches them all.
 *
 * A beacon's proxies are found the way OpenZeppelin's ERC-1967 BeaconProxy
 * announces itself: its constructor emits `BeaconUpgraded(beacon)` (beacon
 * indexed), so one `eth_getLogs` over the topic, from the beacon's
 * deployment to the end of the range, lists every proxy created by then,
 * however it was deployed (a factory, OpenZeppelin's plugin, a script). A
 * team can list them instead (`--proxies`, `blueGreen.replay.beacons`);
 * listed or found, each must still point at the beacon at the range's end.
 */
import { getAddress, id, zeroPadValue } from "ethers";

import { JsonRpcError } from "../chain/json-rpc.js";
import { quantity } from "../common/format.js";
import { BlueGreenError } from "../errors.js";
import type { ReplayConfig } from "./config.js";
import type { DiscoverySummary } from "./discover-traffic.js";
import { IMPLEMENTATION_SLOT } from "./fork-control.js";
import { splitStorageKey, word } from "./observe.js";
import type { SourceRpc } from "./source-rpc.js";
import type { ReplayFleet } from "./types.js";

/** topic0 of ERC-1967's `BeaconUpgraded(address indexed beacon)`. */
export const BEACON_UPGRADED_TOPIC = id("BeaconUpgraded(address)");
/** bytes32(uint256(keccak256("eip1967.proxy.beacon")) - 1) */
export const BEACON_SLOT = "0xa3f0ad74e5423aebfd80d3ef4346578335a9a72aeaee59ff6cb3582b35133d50";
const IMPLEMENTATION_SELECTOR = "0x5c60da1b";

/** What a release record says of its kind (records from before kinds were recorded are transparent). */
export interface FleetOfRelease {
  id: string;
  proxy: string;
  kind?: "transparent" | "uups" | "beacon";
  beacon?: { address: string; proxies: string[] };
}

/** A resolved fleet, and how its proxies were found (for the report). */
export interface ResolvedFleet extends ReplayFleet {
  /** "events": BeaconUpgraded logs (plus the proxies the record names); "list": --proxies or the config. */
  proxiesFrom?: "events" | "list";
  /** Where the BeaconUpgraded search started. */
  searchedFrom?: number;
}

export interface ResolveFleetOptions {
  source: SourceRpc;
  release: FleetOfRelease;
  /** The last block whose proxies count (the range's end, or the source's head). */
  toBlock: number;
  /** `--proxies`: the beacon's proxies to replay, overriding discovery and the config. */
  listed?: string[];
  config: Pick<ReplayConfig, "beacons">;
  log?: (line: string) => void;
}

/** The proxies a release's replay covers, and what green is switched in through. */
export async function resolveFleet(options: ResolveFleetOptions): Promise<ResolvedFleet> {
  const { release, source } = options;
  const kind = release.kind ?? "transparent";
  const target = release.proxy.toLowerCase();
  if (kind !== "beacon") {
    if (options.listed !== undefined && options.listed.length > 0) {
      throw new BlueGreenError(
        "BG_REPLAY_OPTION",
        `--proxies lists the proxies of a beacon, but release "${release.id}" upgrades the ${kind === "uups" ? "UUPS" : "transparent"} proxy ${getAddress(target)} alone. Leave --proxies out.`,
      );
    }
    return { kind, target, proxies: [target] };
  }
  const configured = options.config.beacons[target];
  const list = options.listed !== undefined && options.listed.length > 0 ? options.listed : configured?.proxies;
  let proxies: string[];
  let searchedFrom: number | undefined;
  if (list !== undefined) {
    proxies = [...new Set(list.map((p) => p.toLowerCase()))];
  } else {
    searchedFrom = configured?.fromBlock ?? (await deploymentBlock(source, target, options.toBlock));
    const found = await beaconProxiesFromEvents(source, target, searchedFrom, options.toBlock);
    proxies = [...new Set([...found, ...(release.beacon?.proxies ?? []).map((p) => p.toLowerCase())])];
  }
  const pointing = await beaconsOf(source, proxies, options.toBlock);
  const strays = proxies.filter((p) => pointing.get(p) !== target);
  if (list !== undefined && strays.length > 0) {
    throw new BlueGreenError(
      "BG_REPLAY_PROXY_NOT_OF_BEACON",
      `${strays.map((p) => getAddress(p)).join(", ")} ${strays.length === 1 ? "is" : "are"} not a proxy of beacon ${getAddress(target)} at block ${options.toBlock} ` +
        `(${strays.map((p) => `${getAddress(p)}: beacon slot ${pointing.get(p) === undefined || /^0x0{40}$/.test(pointing.get(p)!) ? "empty" : getAddress(pointing.get(p)!)}`).join("; ")}). ` +
        "List only the beacon's BeaconProxy contracts (--proxies, or blueGreen.replay.beacons), or leave the list out to find them from BeaconUpgraded events.",
    );
  }
  // Found from events, a proxy may have moved to another beacon since: its traffic is not this release's.
  if (strays.length > 0) options.log?.(`left out ${strays.length} proxy(ies) that emitted BeaconUpgraded(${target}) but no longer point at it: ${strays.join(", ")}`);
  proxies = proxies.filter((p) => !strays.includes(p)).sort();
  if (proxies.length === 0) {
    throw new BlueGreenError(
      "BG_REPLAY_BEACON_NO_PROXIES",
      `Beacon ${getAddress(target)} has no proxy at block ${options.toBlock}: no BeaconUpgraded(${getAddress(target)}) event from block ${searchedFrom ?? 0}, and none listed. ` +
        "List its proxies with --proxies a,b,c (or blueGreen.replay.beacons), or set blueGreen.replay.beacons[beacon].fromBlock to where they were deployed.",
    );
  }
  return { kind, target, proxies, proxiesFrom: list !== undefined ? "list" : "events", ...(searchedFrom !== undefined ? { searchedFrom } : {}) };
}

/** Emitters of `BeaconUpgraded(beacon)` in [fromBlock, toBlock], in chunks that shrink if the node refuses wide ranges. */
export async function beaconProxiesFromEvents(source: SourceRpc, beacon: string, fromBlock: number, toBlock: number): Promise<string[]> {
  const found = new Set<string>();
  const topics = [BEACON_UPGRADED_TOPIC, zeroPadValue(beacon, 32).toLowerCase()];
  // The topic filter keeps answers small, so one request for the whole span is worth trying first.
  let span = toBlock - fromBlock + 1;
  for (let start = fromBlock; start <= toBlock; ) {
    const end = Math.min(toBlock, start + span - 1);
    try {
      const logs = (await source.request({ method: "eth_getLogs", params: [{ fromBlock: quantity(start), toBlock: quantity(end), topics }] })) as Array<{ address: string }>;
      for (const log of logs) found.add(log.address.toLowerCase());
      start = end + 1;
    } catch (e) {
      if (e instanceof JsonRpcError && span > 1) {
        span = Math.max(1, Math.floor(span / 8));
        continue;
      }
      throw e;
    }
  }
  return [...found];
}

/**
 * The first block where the beacon has code (binary search over
 * `eth_getCode`): no proxy of it can be older. A source without the old
 * state (not an archive node) cannot answer; the search then starts at 0.
 */
async function deploymentBlock(source: SourceRpc, beacon: string, head: number): Promise<number> {
  const hasCode = async (n: number) => ((await source.request({ method: "eth_getCode", params: [beacon, quantity(n)] })) as string) !== "0x";
  try {
    if (!(await hasCode(head))) {
      throw new BlueGreenError("BG_REPLAY_BEACON_NO_PROXIES", `Beacon ${getAddress(beacon)} has no code at block ${head}: the range ends before the beacon was deployed. Pick a later range.`);
    }
    let lo = 0;
    let hi = head;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (await hasCode(mid)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  } catch (e) {
    if (e instanceof JsonRpcError) return 0;
    throw e;
  }
}

/** Each proxy's ERC-1967 beacon slot at a block (lower case). */
async function beaconsOf(source: SourceRpc, proxies: string[], block: number): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < proxies.length; i += 100) {
    const chunk = proxies.slice(i, i + 100);
    const values = await source.batchOrThrow(chunk.map((p) => ({ method: "eth_getStorageAt", params: [p, BEACON_SLOT, quantity(block)] })));
    chunk.forEach((p, j) => out.set(p, "0x" + word(values[j] as string).slice(-40)));
  }
  return out;
}

/** What the fleet ran at a block: the proxy's implementation slot, or the beacon's `implementation()`; undefined if unreadable. */
export async function fleetImplementationAt(source: SourceRpc, fleet: ReplayFleet, block: number): Promise<string | undefined> {
  try {
    const value =
      fleet.kind === "beacon"
        ? ((await source.request({ method: "eth_call", params: [{ to: fleet.target, data: IMPLEMENTATION_SELECTOR }, quantity(block)] })) as string)
        : ((await source.request({ method: "eth_getStorageAt", params: [fleet.target, IMPLEMENTATION_SLOT, quantity(block)] })) as string);
    return "0x" + word(value).slice(-40);
  } catch {
    return undefined;
  }
}

/** Reads the source's values of storage keys (a slot of the proxy, or `<proxy>:<slot>` of a beacon's fleet) at a block. */
export function fleetSourceStorage(source: SourceRpc, fleet: ReplayFleet) {
  return async (keys: string[], blockNumber: number): Promise<Record<string, string>> => {
    const values = await source.batchOrThrow(
      keys.map((key) => {
        const { proxy, slot } = splitStorageKey(key);
        return { method: "eth_getStorageAt", params: [proxy ?? fleet.target, slot, quantity(blockNumber)] };
      }),
    );
    return Object.fromEntries(keys.map((key, i) => [key, word(values[i] as string)]));
  };
}

/** One proxy of a beacon's fleet in the report. */
export interface FleetProxyCounts {
  address: string;
  /** Target transactions discovery found reaching it. */
  found: number;
  /** Transactions compared blue against green that reached it. */
  compared: number;
  /** Of those, the ones in `divergences`. */
  divergences: number;
}

/** The report's `fleet`: the beacon, where its proxies came from, and the counts per proxy. */
export interface FleetReport {
  beacon: string;
  proxiesFrom: "events" | "list";
  searchedFrom?: number;
  proxies: FleetProxyCounts[];
}

/** A beacon replay's fleet, proxy by proxy: what discovery found; `withProxyCounts` adds what was compared. */
export function fleetReport(fleet: ResolvedFleet, discovery: DiscoverySummary): FleetReport {
  return {
    beacon: fleet.target,
    proxiesFrom: fleet.proxiesFrom ?? "events",
    ...(fleet.searchedFrom !== undefined ? { searchedFrom: fleet.searchedFrom } : {}),
    proxies: fleet.proxies.map((p) => ({ address: p, found: discovery.proxies?.[p] ?? 0, compared: 0, divergences: 0 })),
  };
}

/** The fleet's rows with the comparisons and divergences counted per proxy (a transaction reaching several counts for each). */
export function withProxyCounts(fleet: FleetReport, counts: Record<string, { compared: number; divergences: number }>): FleetReport {
  return { ...fleet, proxies: fleet.proxies.map((row) => ({ ...row, compared: counts[row.address]?.compared ?? 0, divergences: counts[row.address]?.divergences ?? 0 })) };
}
