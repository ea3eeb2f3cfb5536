/**
 * What one block says about the watched proxies, reduced to what the
 * metrics need: calls (selector, gas, success, direct or internal) and
 * event counts. Digests are plain JSON, kept in the checkpoint for the last
 * blocks so a reorg can drop them and nothing is counted twice.
 */

/** One call to a watched proxy. */
export interface CallSample {
  proxy: string;
  /** 4-byte selector of a direct call; "internal" when seen only through the proxy's logs. */
  selector: string;
  /** gasUsed of the transaction (direct calls only; 0 for internal ones). */
  gas: number;
  ok: boolean;
  /** True when the transaction was sent to the proxy itself. */
  direct: boolean;
  /** The transaction's sender (lower case): the canary cohort's caller (tx.origin; also msg.sender of a direct call). */
  from?: string;
}

export interface EventSample {
  proxy: string;
  topic0: string;
  count: number;
}

export interface BlockDigest {
  n: number;
  hash: string;
  parent: string;
  /** Block timestamp, unix seconds. */
  t: number;
  calls?: CallSample[];
  events?: EventSample[];
}

/** The raw JSON-RPC shapes this module reads. */
export interface RpcBlock {
  number: string;
  hash: string;
  parentHash: string;
  timestamp: string;
  transactions: Array<RpcTransaction | string>;
}
export interface RpcTransaction {
  hash: string;
  from?: string;
  to: string | null;
  input: string;
}
export interface RpcReceipt {
  transactionHash: string;
  status: string;
  gasUsed: string;
}
export interface RpcLog {
  address: string;
  topics: string[];
  blockNumber: string;
  blockHash: string;
  transactionHash: string;
  removed?: boolean;
}

/**
 * Which proxies are watched from which block on (lower-case address → first
 * block whose traffic counts). Traffic before that block is blue's.
 */
export type WatchSet = Map<string, number>;

export function watchedAt(watch: WatchSet, proxy: string | null | undefined, block: number): boolean {
  if (proxy === null || proxy === undefined) return false;
  const from = watch.get(proxy.toLowerCase());
  return from !== undefined && block >= from;
}

/** Direct transactions of a block to watched proxies (the ones whose receipts are needed). */
export function directTransactions(block: RpcBlock, watch: WatchSet): RpcTransaction[] {
  const n = Number(block.number);
  return block.transactions.filter((tx): tx is RpcTransaction => typeof tx === "object" && watchedAt(watch, tx.to, n));
}

/**
 * Builds a block's digest. `receipts` covers the direct transactions;
 * `logs` are the block's logs emitted by watched proxies. A transaction that
 * did not go to the proxy but made it log is an internal call that
 * succeeded (a reverted internal call leaves no log, so it cannot be seen
 * without traces).
 */
export function digestBlock(block: RpcBlock, receipts: Map<string, RpcReceipt>, logs: RpcLog[], watch: WatchSet): BlockDigest {
  const n = Number(block.number);
  const digest: BlockDigest = { n, hash: block.hash, parent: block.parentHash, t: Number(block.timestamp) };
  const calls: CallSample[] = [];
  const directHashes = new Set<string>();
  for (const tx of directTransactions(block, watch)) {
    const receipt = receipts.get(tx.hash);
    if (receipt === undefined) throw new Error(`missing receipt of ${tx.hash} in block ${n}`);
    directHashes.add(tx.hash.toLowerCase());
    calls.push({
      proxy: tx.to!.toLowerCase(),
      selector: tx.input.length >= 10 ? tx.input.slice(0, 10).toLowerCase() : "0x",
      gas: Number(receipt.gasUsed),
      ok: Number(receipt.status) === 1,
      direct: true,
      ...(tx.from !== undefined ? { from: tx.from.toLowerCase() } : {}),
    });
  }
  const events = new Map<string, EventSample>();
  const internal = new Set<string>();
  const senders = new Map(block.transactions.flatMap((t) => (typeof t === "object" && t.from !== undefined ? [[t.hash.toLowerCase(), t.from.toLowerCase()] as const] : [])));
  for (const log of logs) {
    if (log.removed === true || !watchedAt(watch, log.address, n)) continue;
    const proxy = log.address.toLowerCase();
    const topic0 = (log.topics[0] ?? "0x").toLowerCase();
    const key = `${proxy}:${topic0}`;
    const sample = events.get(key) ?? { proxy, topic0, count: 0 };
    sample.count++;
    events.set(key, sample);
    const tx = log.transactionHash.toLowerCase();
    if (!directHashes.has(tx) && !internal.has(`${tx}:${proxy}`)) {
      internal.add(`${tx}:${proxy}`);
      const from = senders.get(tx);
      calls.push({ proxy, selector: "internal", gas: 0, ok: true, direct: false, ...(from !== undefined ? { from } : {}) });
    }
  }
  if (calls.length > 0) digest.calls = calls;
  if (events.size > 0) digest.events = [...events.values()];
  return digest;
}
