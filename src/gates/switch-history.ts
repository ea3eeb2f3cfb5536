/**
 * The switch's history on a chain, read from its logs: which promotions of
 * a codehash it made, and what became of each (rolled back, superseded by a
 * newer promotion, or released with the proxy's admin). Block numbers and
 * times are the chain's own, so no local clock or file enters the verdict.
 */
import { Interface, type LogDescription } from "ethers";

import { quantity } from "../common/format.js";

/** The switch events the gate reads, as fixed by the switch's interface. */
export const SWITCH_EVENTS = new Interface([
  "event Adopted(address indexed proxy, address indexed proxyAdmin, address implementation, uint8 adminVersion)",
  "event Promoted(address indexed proxy, address indexed blue, address indexed green, bytes32 greenCodehash, bytes32 evidenceHash, uint64 promotedAt, uint64 windowEnd, bytes32 initDataHash, uint64 releaseId)",
  "event RolledBack(address indexed proxy, address indexed from, address indexed to, address by, bool immediate)",
  "event Released(address indexed proxyAdmin, address indexed newOwner)",
]);

/** Blocks per eth_getLogs call at first; cut to a quarter when a provider refuses a range. */
const LOG_CHUNK = 50_000;

export interface EventRef {
  blockNumber: number;
  logIndex: number;
  transactionIndex: number;
  txHash: string;
}

export interface Promotion extends EventRef {
  proxy: string;
  blue: string;
  green: string;
  codehash: string;
  evidenceHash: string;
}

/** What became of one promotion of green's codehash. */
export interface PromotionFate {
  promotion: Promotion;
  promotedAt: number;
  rolledBack?: EventRef;
  /** The event that ended the switch's watch over green on this proxy, if any. */
  endedBy?: EventRef & { kind: "superseded" | "released"; at: number };
}

export interface RpcLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string;
  transactionHash: string;
  transactionIndex: string;
  logIndex: string;
  removed?: boolean;
}

export type Rpc = <T>(method: string, params?: unknown[]) => Promise<T>;

/** One decoded switch event, with the log it came from. */
export interface SwitchEvent {
  log: RpcLog;
  parsed: LogDescription;
}

/** The switch's events between two blocks, decoded, in chain order. */
export async function readSwitchEvents(rpc: Rpc, address: string, from: number, to: number): Promise<SwitchEvent[]> {
  const logs = await getSwitchLogs(rpc, address, from, to);
  return logs
    .map((log) => ({ log, parsed: SWITCH_EVENTS.parseLog({ topics: log.topics, data: log.data }) }))
    .filter((e): e is SwitchEvent => e.parsed !== null)
    .sort((a, b) => compareRefs(ref(a.log), ref(b.log)));
}

/** The promotions of a codehash among the events, on one proxy when `proxy` (lowercase) is given. */
export function promotionsOf(events: readonly SwitchEvent[], codehash: string, proxy?: string): Promotion[] {
  const matching: Promotion[] = [];
  for (const { log, parsed } of events) {
    if (parsed.name !== "Promoted") continue;
    const p: Promotion = {
      ...ref(log),
      proxy: (parsed.args.proxy as string).toLowerCase(),
      blue: (parsed.args.blue as string).toLowerCase(),
      green: (parsed.args.green as string).toLowerCase(),
      codehash: (parsed.args.greenCodehash as string).toLowerCase(),
      evidenceHash: (parsed.args.evidenceHash as string).toLowerCase(),
    };
    if (p.codehash === codehash && (proxy === undefined || p.proxy === proxy)) matching.push(p);
  }
  return matching;
}

/**
 * The switch's logs of the events the gate reads, in block ranges that
 * shrink when a provider refuses a range as too large.
 */
async function getSwitchLogs(rpc: Rpc, address: string, from: number, to: number): Promise<RpcLog[]> {
  const topics = [["Adopted", "Promoted", "RolledBack", "Released"].map((n) => SWITCH_EVENTS.getEvent(n)!.topicHash)];
  const out: RpcLog[] = [];
  let chunk = LOG_CHUNK;
  let start = from;
  while (start <= to) {
    const end = Math.min(to, start + chunk - 1);
    try {
      const logs = await rpc<RpcLog[]>("eth_getLogs", [{ address, topics, fromBlock: quantity(start), toBlock: quantity(end) }]);
      out.push(...logs.filter((l) => l.removed !== true));
      start = end + 1;
    } catch (e) {
      if (chunk <= 100) throw e;
      chunk = Math.floor(chunk / 4);
    }
  }
  return out;
}

/** Follows one promotion through the later events of its proxy. */
export async function fateOf(
  promotion: Promotion,
  events: readonly SwitchEvent[],
  rpc: Rpc,
): Promise<PromotionFate> {
  const promotedAt = await blockTime(rpc, promotion.blockNumber);
  let admin: string | undefined;
  for (const { log, parsed } of events) {
    const r = ref(log);
    if (parsed.name === "Adopted" && (parsed.args.proxy as string).toLowerCase() === promotion.proxy && compareRefs(r, promotion) < 0) {
      admin = (parsed.args.proxyAdmin as string).toLowerCase();
    }
    if (compareRefs(r, promotion) <= 0) continue;
    if (parsed.name === "RolledBack" && (parsed.args.proxy as string).toLowerCase() === promotion.proxy) {
      if ((parsed.args.from as string).toLowerCase() === promotion.green) return { promotion, promotedAt, rolledBack: r };
    }
    if (parsed.name === "Promoted" && (parsed.args.proxy as string).toLowerCase() === promotion.proxy) {
      return { promotion, promotedAt, endedBy: { ...r, kind: "superseded", at: await blockTime(rpc, r.blockNumber) } };
    }
    if (parsed.name === "Released" && admin !== undefined && (parsed.args.proxyAdmin as string).toLowerCase() === admin) {
      return { promotion, promotedAt, endedBy: { ...r, kind: "released", at: await blockTime(rpc, r.blockNumber) } };
    }
  }
  return { promotion, promotedAt };
}

/**
 * Counts successful transactions sent straight to the proxy after the
 * promotion, block by block, stopping as soon as `enough` are found or
 * `maxBlocks` were scanned (then `stoppedAt` says where).
 */
export async function countProxyTxs(
  rpc: Rpc,
  promotion: Promotion,
  endBlock: number,
  enough: number,
  maxBlocks: number,
): Promise<{ count: number; stoppedAt?: number }> {
  let count = 0;
  let scanned = 0;
  for (let n = promotion.blockNumber; n <= endBlock; n++) {
    if (scanned >= maxBlocks) return { count, stoppedAt: n - 1 };
    scanned++;
    const block = await rpc<{ transactions: Array<{ hash: string; to: string | null; transactionIndex: string }> }>("eth_getBlockByNumber", [quantity(n), true]);
    for (const tx of block.transactions) {
      if (tx.to === null || tx.to.toLowerCase() !== promotion.proxy) continue;
      if (n === promotion.blockNumber && Number(BigInt(tx.transactionIndex)) <= promotion.transactionIndex) continue;
      const receipt = await rpc<{ status: string } | null>("eth_getTransactionReceipt", [tx.hash]);
      if (receipt !== null && BigInt(receipt.status) === 1n) count++;
      if (count >= enough) return { count };
    }
  }
  return { count };
}

async function blockTime(rpc: Rpc, blockNumber: number): Promise<number> {
  const block = await rpc<{ timestamp: string } | null>("eth_getBlockByNumber", [quantity(blockNumber), false]);
  if (block === null) throw new Error(`block ${blockNumber} is missing (a reorg?)`);
  return Number(BigInt(block.timestamp));
}

function ref(log: RpcLog): EventRef {
  return {
    blockNumber: Number(BigInt(log.blockNumber)),
    logIndex: Number(BigInt(log.logIndex)),
    transactionIndex: Number(BigInt(log.transactionIndex)),
    txHash: log.transactionHash.toLowerCase(),
  };
}

function compareRefs(a: EventRef, b: EventRef): number {
  return a.blockNumber - b.blockNumber || a.logIndex - b.logIndex;
}
