/**
 * Prefetch: before the forks run, fetch in bulk the state each fork will
 * read from the source, so the forks' own reads are answered locally (by
 * the fork front) and no worker fetches what another already has.
 *
 * A fork pinned at block F reads everything at F: the later blocks of its
 * segment run on the fork itself. So what a segment (F, L] needs is the
 * state at F of what blocks F+1..L touch.
 *
 * - "prestate-trace" (anvil, geth, reth, erigon): `debug_traceBlockByNumber`
 *   with the prestate tracer, in batches. Each transaction's prestate is the
 *   state just before it; the first value a block's transactions saw of a
 *   key is the state before the block. That is the state at F for every key
 *   no earlier block of the segment changed: keys are taken in block order,
 *   first touch wins, and balances that changed outside transactions
 *   (coinbase rewards, withdrawals) and the system contracts (written by
 *   the client before the transactions) are left to the fork's own reads.
 * - "proofs" (sources without the tracer, e.g. a hardhat node): the
 *   accounts the transactions and receipts name (senders, recipients, log
 *   emitters, coinbase), read at F with `eth_getProof` (balance, nonce and
 *   code hash in one answer) and `eth_getCode` for the contracts among them.
 * - "account-reads": the same accounts with batched `eth_getBalance`,
 *   `eth_getTransactionCount` and `eth_getCode`, where `eth_getProof` is
 *   missing too.
 *
 * Whatever nothing prefetched (what only green touches, storage on the
 * fallback paths) the fork reads lazily, as before.
 */
import { JsonRpcError } from "../chain/json-rpc.js";
import { quantity } from "../common/format.js";
import type { RpcBlock, RpcTransaction } from "./chain-data.js";
import { ADMIN_SLOT, IMPLEMENTATION_SLOT } from "./fork-control.js";
import { PrestateTraces, slotKey, word } from "./prestate-traces.js";
import type { BlockPrestate, CachedAccount, SourceCache, StateFile } from "./source-cache.js";
import type { SourceRpc } from "./source-rpc.js";
import type { ReceiptFacts } from "./types.js";

export type PrefetchPath = "prestate-trace" | "proofs" | "account-reads" | "off";

export interface PrefetchSummary {
  path: PrefetchPath;
  /** Why prefetch was off or fell back. */
  reason?: string;
  /** Calls the prefetch sent to the source. */
  requests: number;
  /** Blocks whose prestate came from a cache (the shared source cache, else the answer cache) instead of the source. */
  cachedBlocks: number;
  /** Accounts and storage slots known at the fork blocks before the forks started. */
  accounts: number;
  slots: number;
  /** Fork reads answered from it (not sent to the source). */
  served: number;
}

/** The EIP-161 empty code hash. */
const EMPTY_CODE_HASH = "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470";

/**
 * Contracts the client writes before a block's transactions (EIP-4788
 * beacon roots, EIP-2935 block hashes, EIP-7002 and EIP-7251 requests): a
 * prestate of a later block may hold values they did not have at the fork.
 */
const SYSTEM_CONTRACTS = new Set([
  "0x000f3df6d732807ef1319fb7b8bb8522d0beac02",
  "0x0000f90827f1c53a10cb7a02335b175320002935",
  "0x00000961ef480eb55e80d19ad83579a64c007002",
  "0x0000bbddc7ce488642fb579f8b00f3a590007251",
]);

const READ_BATCH = 100;
/** Storage keys per `eth_getProof`. */
const PROOF_SLOTS = 500;
const STATE_METHODS = new Set(["eth_getBalance", "eth_getTransactionCount", "eth_getCode", "eth_getStorageAt"]);

/** The reads of account state and storage a fork makes at its fork block. */
export function isStateRead(method: string): boolean {
  return STATE_METHODS.has(method);
}

/** State at the fork blocks, as the fork front answers it. */
export class ForkState {
  private readonly blocks = new Map<number, Map<string, CachedAccount>>();
  served = 0;
  /** Called with each account field or slot the front did not know and the source answered (for the shared cache). */
  onLearned?: (block: number, address: string, account: CachedAccount) => void;

  account(block: number, address: string): CachedAccount {
    let accounts = this.blocks.get(block);
    if (accounts === undefined) this.blocks.set(block, (accounts = new Map()));
    let account = accounts.get(address);
    if (account === undefined) accounts.set(address, (account = {}));
    return account;
  }

  merge(block: number, file: StateFile): void {
    for (const [address, a] of Object.entries(file)) {
      const into = this.account(block, address.toLowerCase());
      if (a.balance !== undefined) into.balance ??= a.balance;
      if (a.nonce !== undefined) into.nonce ??= a.nonce;
      if (a.code !== undefined) into.code ??= a.code;
      for (const [slot, value] of Object.entries(a.storage ?? {})) (into.storage ??= {})[slot] ??= value;
    }
  }

  /** The state known at a block, as the shared cache stores it. */
  file(block: number): StateFile {
    return Object.fromEntries(this.blocks.get(block) ?? new Map<string, CachedAccount>());
  }

  get size(): { accounts: number; slots: number } {
    let accounts = 0;
    let slots = 0;
    for (const block of this.blocks.values()) {
      for (const a of block.values()) {
        if (a.balance !== undefined || a.nonce !== undefined || a.code !== undefined) accounts++;
        slots += Object.keys(a.storage ?? {}).length;
      }
    }
    return { accounts, slots };
  }

  /** The answer to a state read at a fork block, or undefined when it is not known here. */
  answer(method: string, params: unknown[]): unknown {
    if (!STATE_METHODS.has(method)) return undefined;
    const block = blockOf(method === "eth_getStorageAt" ? params[2] : params[1]);
    if (block === undefined || typeof params[0] !== "string") return undefined;
    const account = this.blocks.get(block)?.get(params[0].toLowerCase());
    if (account === undefined) return undefined;
    let value: string | undefined;
    if (method === "eth_getBalance") value = account.balance;
    else if (method === "eth_getTransactionCount") value = account.nonce;
    else if (method === "eth_getCode") value = account.code;
    else value = account.storage?.[slotKey(params[1])];
    if (value !== undefined) this.served++;
    return value;
  }

  /** Records what the source answered for a read the front could not (so other forks, and the shared cache, have it). */
  learn(method: string, params: unknown[], result: unknown): void {
    if (!STATE_METHODS.has(method) || typeof result !== "string" || typeof params[0] !== "string") return;
    const block = blockOf(method === "eth_getStorageAt" ? params[2] : params[1]);
    if (block === undefined) return;
    const address = params[0].toLowerCase();
    const field: CachedAccount =
      method === "eth_getBalance"
        ? { balance: result }
        : method === "eth_getTransactionCount"
          ? { nonce: result }
          : method === "eth_getCode"
            ? { code: result }
            : { storage: { [slotKey(params[1])]: result } };
    this.merge(block, { [address]: field });
    this.onLearned?.(block, address, field);
  }
}

function blockOf(tag: unknown): number | undefined {
  if (typeof tag === "string" && /^0x[0-9a-fA-F]+$/.test(tag)) return Number(BigInt(tag));
  if (tag !== null && typeof tag === "object") {
    const n = (tag as { blockNumber?: unknown }).blockNumber;
    if (typeof n === "string" && /^0x[0-9a-fA-F]+$/.test(n)) return Number(BigInt(n));
  }
  return undefined;
}

export interface PrefetchSegment {
  forkBlock: number;
  lastBlock: number;
}

export interface PrefetchStart {
  source: SourceRpc;
  chainId: number;
  cache?: SourceCache;
  /** "auto" tries the prestate tracer first; "off" prefetches nothing. */
  mode?: "auto" | "off";
}

export interface PrefetchPlan {
  /** The proxy (its slots at each block's end are what the state check compares) and the accounts the replay itself adds. */
  proxy?: string;
  /** Accounts every fork reads that no original transaction names (green, before it is deployed). */
  extraAccounts?: string[];
  segments: PrefetchSegment[];
  /** The real receipts (the fallback paths read the accounts they name). */
  receipts: Map<string, ReceiptFacts>;
}

export type PrefetchOptions = PrefetchStart & PrefetchPlan;

export interface Prefetched {
  state: ForkState;
  summary: PrefetchSummary;
  proxySlots: ProxySlots;
}

/** Fetches the state the segments' forks will read at their fork blocks. */
export function prefetchState(options: PrefetchOptions): Promise<Prefetched> {
  return new Prefetch(options).finish(options);
}

/**
 * A prefetch begun before the replay knows its segments: the blocks'
 * prestate traces can start as soon as discovery has read the blocks
 * (`traceEarly`), and `finish` takes them with the rest once the plan is made.
 */
export class Prefetch {
  /** Its own client of the same source and cache: the summary counts only the prefetch's calls. */
  private readonly source: SourceRpc;
  private readonly traces: PrestateTraces | undefined;
  private readonly headerReads = new Map<number, Promise<RpcBlock>>();

  constructor(private readonly start: PrefetchStart) {
    // With a shared source cache the answers are kept there, reduced to state by block and key;
    // without one, in the answer cache, so that a second run still makes no request.
    this.source = start.source.derive({ storeAnswers: start.cache === undefined });
    this.traces = start.mode === "off" ? undefined : new PrestateTraces(this.source, start.chainId, start.cache);
  }

  /** Starts tracing blocks discovery has just read (and reading the header of the block before them, the first fork's). */
  traceEarly(blocks: RpcBlock[]): void {
    if (this.traces === undefined || blocks.length === 0) return;
    const first = Math.min(...blocks.map((b) => Number(BigInt(b.number))));
    if (first > 0 && !this.headerReads.has(first - 1)) {
      const read = this.readHeaders([first - 1]).then((h) => h[0]!);
      read.catch(() => undefined);
      this.headerReads.set(first - 1, read);
    }
    this.traces.start(blocks);
  }

  async finish(plan: PrefetchPlan): Promise<Prefetched> {
    const { source, start } = this;
    const options: PrefetchOptions = { ...start, ...plan };
    const state = new ForkState();
    const proxySlots = new ProxySlots();
    const summary: PrefetchSummary = { path: "off", requests: 0, cachedBlocks: 0, accounts: 0, slots: 0, served: 0 };
    if (this.traces === undefined || plan.segments.length === 0) {
      summary.reason = this.traces === undefined ? "turned off" : "nothing to replay";
      return { state, summary, proxySlots };
    }
    const numbers = [...new Set(plan.segments.flatMap((s) => [s.forkBlock, ...range(s.forkBlock + 1, s.lastBlock)]))].sort((a, b) => a - b);
    const headers = new Map<number, RpcBlock>();
    for (const [n, read] of this.headerReads) if (numbers.includes(n)) headers.set(n, await read);
    // The same calls as discovery's: answered from the cache, not the source.
    const unread = numbers.filter((n) => !headers.has(n));
    (await this.readHeaders(unread)).forEach((b, j) => headers.set(unread[j]!, b));
    const forkBlocks = plan.segments.map((s) => ({ number: s.forkBlock, hash: headers.get(s.forkBlock)!.hash }));
    if (start.cache !== undefined) {
      for (const block of forkBlocks) {
        const known = await start.cache.readState(start.chainId, block);
        if (known !== undefined) state.merge(block.number, known);
      }
    }

    // The accounts the replay itself adds are read while the traces finish (both at the fork blocks: either may fill a key first).
    const replayAccounts = readReplayAccounts(source, options, state);
    replayAccounts.catch(() => undefined);
    const wanted = [...new Set(plan.segments.flatMap((s) => range(s.forkBlock + 1, s.lastBlock)))];
    const traced = await this.traces.prestates(headers, wanted);
    summary.cachedBlocks = this.traces.cachedBlocks;
    if (!("unsupported" in traced)) {
      summary.path = "prestate-trace";
      for (const segment of plan.segments) state.merge(segment.forkBlock, firstTouches(traced, segment));
      if (plan.proxy !== undefined) await proxySlotsAtBlockEnds(source, options, headers, traced, proxySlots);
      this.traces.forget();
    } else {
      summary.reason = traced.unsupported;
      await readNamedAccounts(source, options, headers, state, summary);
    }
    await replayAccounts;
    summary.requests = source.stats.calls + this.traces.requests;
    Object.assign(summary, state.size);
    if (options.cache !== undefined) {
      const cache = options.cache;
      const hashOf = new Map(forkBlocks.map((b) => [b.number, b.hash]));
      // What the forks read lazily at a fork block joins that block's state file when the replay ends.
      const learned = new Map<number, StateFile>();
      state.onLearned = (block, address, field) => {
        if (!hashOf.has(block)) return;
        const file = learned.get(block) ?? {};
        learned.set(block, file);
        const into = (file[address] ??= {});
        Object.assign(into, { ...field, storage: { ...into.storage, ...field.storage } });
      };
      for (const block of forkBlocks) {
        // Prefetched state is written too, so a run with other segments still finds it per fork block.
        await cache.mergeState(start.chainId, block, state.file(block.number));
      }
      flushers.set(state, async () => {
        for (const [block, file] of learned) await cache.mergeState(start.chainId, { number: block, hash: hashOf.get(block)! }, file);
        learned.clear();
      });
    }
    return { state, summary, proxySlots };
  }

  private async readHeaders(numbers: number[]): Promise<RpcBlock[]> {
    const out: RpcBlock[] = [];
    for (let i = 0; i < numbers.length; i += READ_BATCH) {
      const chunk = numbers.slice(i, i + READ_BATCH);
      out.push(...((await this.source.batchOrThrow(chunk.map((n) => ({ method: "eth_getBlockByNumber", params: [quantity(n), true] })))) as RpcBlock[]));
    }
    return out;
  }
}

/**
 * The state at a segment's fork block of what its blocks touch: each key's
 * first value in block order. Nonce and code change only in transactions,
 * which the traces saw; a balance changed outside them (a coinbase's reward,
 * a withdrawal) and the system contracts are left to the fork's own reads,
 * and so is everything after a block the source could not trace.
 */
function firstTouches(traced: Map<number, BlockPrestate>, segment: PrefetchSegment): StateFile {
  const known = new Map<string, CachedAccount>();
  const balanceChanged = new Set<string>(SYSTEM_CONTRACTS);
  for (const n of range(segment.forkBlock + 1, segment.lastBlock)) {
    const prestate = traced.get(n);
    if (prestate === undefined) break;
    for (const [address, a] of Object.entries(prestate.accounts)) {
      if (SYSTEM_CONTRACTS.has(address)) continue;
      let into = known.get(address);
      if (into === undefined) {
        into = {};
        known.set(address, into);
        if (a.nonce !== undefined) into.nonce = a.nonce;
        if (a.code !== undefined) into.code = a.code;
        if (a.balance !== undefined && !balanceChanged.has(address)) into.balance = a.balance;
      }
      for (const [slot, value] of Object.entries(a.storage ?? {})) (into.storage ??= {})[slot] ??= value;
    }
    for (const address of prestate.balanceChanged) balanceChanged.add(address);
  }
  return Object.fromEntries(known);
}

const flushers = new WeakMap<ForkState, () => Promise<void>>();

/** Writes what the forks read lazily to the shared cache (call once the forks are done). */
export async function saveLearned(state: ForkState): Promise<void> {
  await flushers.get(state)?.();
}

/**
 * The proxy's slots at the end of each replayed block, for the state check.
 * A slot's value at the end of block B is the first value a later block's
 * transactions saw of it (storage changes only in transactions, all of
 * which were traced); a slot no later block of the range touches is read
 * with one `eth_getProof` per block, all blocks in one batch.
 */
export class ProxySlots {
  private readonly values = new Map<number, Map<string, string>>();

  set(block: number, slot: string, value: string): void {
    let slots = this.values.get(block);
    if (slots === undefined) this.values.set(block, (slots = new Map()));
    slots.set(slotKey(slot), value);
  }

  /** The values of these slots at the end of the block, or undefined unless all are known. */
  get(block: number, slots: string[]): Record<string, string> | undefined {
    const known = this.values.get(block);
    if (known === undefined) return undefined;
    const out: Record<string, string> = {};
    for (const slot of slots) {
      const value = known.get(slotKey(slot));
      if (value === undefined) return undefined;
      out[slot] = value;
    }
    return out;
  }
}

async function proxySlotsAtBlockEnds(
  source: SourceRpc,
  options: PrefetchOptions,
  headers: Map<number, RpcBlock>,
  traced: Map<number, BlockPrestate>,
  out: ProxySlots,
): Promise<void> {
  const proxy = options.proxy!.toLowerCase();
  const blocks = [...traced.keys()];
  const replayed = new Set(options.segments.flatMap((s) => range(s.forkBlock + 1, s.lastBlock)));
  // Walking back from the end: `next` holds each slot's first value in the blocks after the current one.
  const next = new Map<string, string>();
  // A slot no later block touches keeps its value to the end of the traced run: read it there, once, for every block.
  let horizon: number | undefined;
  const untouchedAfter = new Map<number, Map<string, number[]>>();
  for (let n = Math.max(...blocks); n >= Math.min(...blocks); n--) {
    if (!traced.has(n)) {
      // Untraced: what later blocks saw may not be what this one left.
      next.clear();
      horizon = undefined;
      continue;
    }
    horizon ??= n;
    const storage = traced.get(n)!.accounts[proxy]?.storage ?? {};
    if (replayed.has(n)) {
      for (const slot of Object.keys(storage)) {
        const value = next.get(slot);
        if (value !== undefined) out.set(n, slot, value);
        else {
          const bySlot = untouchedAfter.get(horizon) ?? new Map<string, number[]>();
          untouchedAfter.set(horizon, bySlot);
          bySlot.set(slot, [...(bySlot.get(slot) ?? []), n]);
        }
      }
    }
    for (const [slot, value] of Object.entries(storage)) next.set(slot, value);
  }
  for (const [end, bySlot] of untouchedAfter) {
    const block = { number: end, hash: headers.get(end)!.hash };
    // State at a block's end is what the shared cache's state files hold: an earlier run may have read these.
    const cached = (await options.cache?.readState(options.chainId, block))?.[proxy]?.storage ?? {};
    const slots = [...bySlot.keys()];
    const values: Record<string, string> = {};
    for (const slot of slots) if (cached[slot] !== undefined) values[slot] = cached[slot];
    const unread = slots.filter((slot) => values[slot] === undefined);
    const read: Record<string, string> = {};
    for (let i = 0; i < unread.length; i += PROOF_SLOTS) {
      const chunk = unread.slice(i, i + PROOF_SLOTS);
      const [proof] = await source.batch([{ method: "eth_getProof", params: [proxy, chunk, quantity(end)] }]);
      const entries = (proof as { storageProof?: Array<{ key: string; value: string }> } | null)?.storageProof;
      // Without eth_getProof the state check reads these itself, block by block.
      if (proof instanceof JsonRpcError || !Array.isArray(entries) || entries.length !== chunk.length) break;
      chunk.forEach((slot, k) => (read[slot] = word(entries[k]!.value)));
    }
    Object.assign(values, read);
    for (const [slot, value] of Object.entries(values)) for (const n of bySlot.get(slot)!) out.set(n, slot, value);
    if (Object.keys(read).length > 0) await options.cache?.mergeState(options.chainId, block, { [proxy]: { storage: read } });
  }
}

/**
 * What every fork reads that no original transaction names: the proxy's
 * ERC-1967 slots, green's account (the replay puts green's code there) and
 * the proxy admin's (it switches green in). Read at every fork block in two
 * batches, where the forks would each have asked one key at a time.
 */
async function readReplayAccounts(source: SourceRpc, options: PrefetchOptions, state: ForkState): Promise<void> {
  if (options.proxy === undefined) return;
  const proxy = options.proxy.toLowerCase();
  const forks = options.segments.map((s) => s.forkBlock);
  const slotCalls = forks.flatMap((f) =>
    [ADMIN_SLOT, IMPLEMENTATION_SLOT]
      .filter((slot) => state.account(f, proxy).storage?.[slot] === undefined)
      .map((slot) => ({ method: "eth_getStorageAt", params: [proxy, slot, quantity(f)] })),
  );
  const results = slotCalls.length > 0 ? await source.batch(slotCalls) : [];
  results.forEach((r, i) => {
    if (typeof r === "string") state.learn("eth_getStorageAt", slotCalls[i]!.params, word(r));
  });
  const accounts = forks.flatMap((f) => {
    const admin = state.account(f, proxy).storage?.[ADMIN_SLOT];
    const named = [...(options.extraAccounts ?? []), ...(admin !== undefined && !/^0x0+$/.test(admin) ? ["0x" + admin.slice(-40)] : [])];
    return named.map((a) => ({ block: f, address: a.toLowerCase() }));
  });
  await readAccounts(source, state, accounts);
}

/** Accounts at blocks: `eth_getProof` (balance, nonce, code hash) and `eth_getCode` for contracts; else the three reads. */
async function readAccounts(source: SourceRpc, state: ForkState, wanted: Array<{ block: number; address: string }>): Promise<"proofs" | "account-reads"> {
  const todo = wanted.filter(({ block, address }) => {
    const a = state.account(block, address);
    return a.balance === undefined || a.nonce === undefined || a.code === undefined;
  });
  if (todo.length === 0) return "proofs";
  const contracts: Array<{ block: number; address: string }> = [];
  let proofs = true;
  for (let i = 0; i < todo.length && proofs; i += READ_BATCH) {
    const chunk = todo.slice(i, i + READ_BATCH);
    const answers = await source.batch(chunk.map((w) => ({ method: "eth_getProof", params: [w.address, [], quantity(w.block)] })));
    for (let j = 0; j < chunk.length; j++) {
      const proof = answers[j] as { balance?: string; nonce?: string; codeHash?: string } | JsonRpcError;
      if (proof instanceof JsonRpcError || proof === null || typeof proof !== "object" || proof.balance === undefined) {
        if (i === 0 && j === 0) {
          proofs = false;
          break;
        }
        continue;
      }
      const into = state.account(chunk[j]!.block, chunk[j]!.address);
      into.balance ??= quantity(BigInt(proof.balance));
      into.nonce ??= quantity(BigInt(proof.nonce ?? 0));
      const codeHash = (proof.codeHash ?? "").toLowerCase();
      // An account without code has the empty code hash (or none, when it does not exist).
      if (codeHash === EMPTY_CODE_HASH || /^0x0{64}$/.test(codeHash)) into.code ??= "0x";
      else contracts.push(chunk[j]!);
    }
  }
  const reads = proofs
    ? contracts.map((w) => ({ ...w, methods: ["eth_getCode"] }))
    : todo.map((w) => ({ ...w, methods: ["eth_getBalance", "eth_getTransactionCount", "eth_getCode"] }));
  const calls = reads.flatMap((w) => w.methods.map((method) => ({ method, params: [w.address, quantity(w.block)] })));
  for (let i = 0; i < calls.length; i += READ_BATCH) {
    const chunk = calls.slice(i, i + READ_BATCH);
    const results = await source.batch(chunk);
    results.forEach((r, j) => {
      if (r instanceof JsonRpcError || typeof r !== "string") return;
      const call = chunk[j]!;
      const into = state.account(Number(BigInt(call.params[1] as string)), call.params[0] as string);
      if (call.method === "eth_getBalance") into.balance ??= r;
      else if (call.method === "eth_getTransactionCount") into.nonce ??= r;
      else into.code ??= r;
    });
  }
  return proofs ? "proofs" : "account-reads";
}

/** The fallback: accounts the transactions and receipts name, read at each fork block. */
async function readNamedAccounts(
  source: SourceRpc,
  options: PrefetchOptions,
  headers: Map<number, RpcBlock>,
  state: ForkState,
  summary: PrefetchSummary,
): Promise<void> {
  const wanted: Array<{ block: number; address: string }> = [];
  for (const segment of options.segments) {
    const named = new Set<string>();
    for (const n of range(segment.forkBlock + 1, segment.lastBlock)) {
      const header = headers.get(n)!;
      named.add(header.miner.toLowerCase());
      for (const tx of header.transactions as RpcTransaction[]) {
        named.add(tx.from.toLowerCase());
        if (tx.to) named.add(tx.to.toLowerCase());
        for (const log of options.receipts.get(tx.hash.toLowerCase())?.logs ?? []) named.add(log.address.toLowerCase());
      }
    }
    for (const address of named) wanted.push({ block: segment.forkBlock, address });
  }
  summary.path = await readAccounts(source, state, wanted);
}

function range(from: number, to: number): number[] {
  return to < from ? [] : Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
