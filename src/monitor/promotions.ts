/**
 * Where the release is live, read from the switch (the chain is the source
 * of truth): for each proxy of the release, whether the switch promoted this
 * release's green on it, in which block, and where its release stands now.
 *
 * The promotion block is found without scanning the switch's whole history:
 * the switch records the promotion's timestamp, so a binary search over
 * block timestamps finds the few blocks to ask for the `Promoted` log.
 */
import { type Interface, getAddress, zeroPadValue } from "ethers";

import { quantity as hex } from "../common/format.js";
import { SWITCH_STATUSES, type SwitchStatus } from "../switch/read-switch.js";
import type { RpcBlock, RpcLog } from "./block-digest.js";
import { readHeader } from "./chain-follower.js";
import type { RpcClient } from "./rpc-client.js";

export interface ProxyOnSwitch {
  proxy: string;
  adopted: boolean;
  status: SwitchStatus;
  /** The ProxyAdmin the switch upgrades the proxy through (zero when not adopted). */
  proxyAdmin: string;
  implementation: string;
  blue: string;
  green: string;
  promotedAt: number;
  windowEnd: number;
  rollbackReadyAt: number;
}

export interface Promotion {
  proxy: string;
  blue: string;
  green: string;
  /** Block of the promote transaction (its own block is neither blue's nor green's). */
  block: number;
  /** Chain time of the promotion (unix seconds). */
  time: number;
  txHash: string;
}

/** Reads the switch's `proxyState(proxy)` at a block (default latest). */
export async function readProxyOnSwitch(rpc: RpcClient, iface: Interface, switchAddress: string, proxy: string, block: number | "latest" = "latest"): Promise<ProxyOnSwitch> {
  const data = iface.encodeFunctionData("proxyState", [proxy]);
  const raw = await rpc.request<string>("eth_call", [{ to: switchAddress, data }, typeof block === "number" ? hex(block) : block]);
  const [s] = iface.decodeFunctionResult("proxyState", raw);
  return {
    proxy: getAddress(proxy),
    adopted: BigInt(s.proxyAdmin as string) !== 0n,
    status: SWITCH_STATUSES[Number(s.status)] ?? "none",
    proxyAdmin: getAddress(s.proxyAdmin as string),
    implementation: getAddress(s.implementation as string),
    blue: getAddress(s.blue as string),
    green: getAddress(s.green as string),
    promotedAt: Number(s.promotedAt),
    windowEnd: Number(s.windowEnd),
    rollbackReadyAt: Number(s.rollbackReadyAt),
  };
}

/**
 * The promotion of `green` on `proxy`, if the switch's latest release of the
 * proxy is that green (live, rollback scheduled, rolled back or finalized).
 */
export async function findPromotion(
  rpc: RpcClient,
  iface: Interface,
  switchAddress: string,
  switchBlock: number,
  proxy: string,
  green: string,
): Promise<{ promotion?: Promotion; onSwitch: ProxyOnSwitch }> {
  const onSwitch = await readProxyOnSwitch(rpc, iface, switchAddress, proxy);
  if (!onSwitch.adopted || onSwitch.promotedAt === 0 || onSwitch.green !== getAddress(green)) return { onSwitch };
  const { first, last } = await blocksAt(rpc, onSwitch.promotedAt, switchBlock);
  const topic = iface.getEvent("Promoted")!.topicHash;
  const logs = await rpc.request<RpcLog[]>("eth_getLogs", [
    { address: switchAddress, fromBlock: hex(first), toBlock: hex(last), topics: [topic, zeroPadValue(proxy, 32)] },
  ]);
  const log = logs.reverse().find((l) => getAddress("0x" + l.topics[3]!.slice(26)) === getAddress(green));
  if (log === undefined) return { onSwitch };
  return {
    onSwitch,
    promotion: {
      proxy: getAddress(proxy),
      blue: getAddress("0x" + log.topics[2]!.slice(26)),
      green: getAddress(green),
      block: Number(log.blockNumber),
      time: onSwitch.promotedAt,
      txHash: log.transactionHash,
    },
  };
}

/**
 * The blocks a switch promotion at `time` may be in: several blocks can share
 * a timestamp (L2s, dev nodes), so all of them are asked for its logs.
 */
export async function blocksAt(rpc: RpcClient, time: number, switchBlock: number): Promise<{ first: number; last: number }> {
  const latest = Number(await rpc.request<string>("eth_blockNumber"));
  const first = await firstBlockAtOrAfter(rpc, time, switchBlock, latest);
  let last = first;
  while (last < latest) {
    const next = await readHeader(rpc, last + 1);
    if (next === undefined || Number(next.timestamp) !== time) break;
    last++;
  }
  return { first, last };
}

/** Lowest block in [low, high] whose timestamp is >= `time` (binary search over headers). */
export async function firstBlockAtOrAfter(rpc: RpcClient, time: number, low: number, high: number): Promise<number> {
  let lo = low;
  let hi = high;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const header = (await readHeader(rpc, mid)) as RpcBlock | undefined;
    if (header !== undefined && Number(header.timestamp) >= time) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
