/**
 * Sends a transaction exactly once, across crashes and concurrent runs.
 *
 * The one way bluegreen sends a journaled transaction (green's deploy, the
 * switch's deploy, adoption, an approval's execution):
 *
 * 1. under the sender's lock (one per chain and account, see `withSenderLock`),
 *    the nonce is taken and the transaction signed;
 * 2. the journal entry (nonce, hash and raw signed transaction, or the exact
 *    fields when the account cannot sign without sending) is saved BEFORE it
 *    is broadcast;
 * 3. it is broadcast and waited for; a transaction pending too long is sped up
 *    by a replacement at the SAME nonce with higher fees (every version is
 *    journaled before it is broadcast).
 *
 * A re-run resumes from the journal by nonce and hashes: a known transaction
 * (pending or mined) is waited for; one the node forgot is re-broadcast, at
 * the same nonce, only while that nonce is still free; once the account's
 * nonce has passed it, what took the nonce is looked up: one of ours (by hash,
 * or the same call under another hash) completes the send, anything else is
 * reported as `taken`. Nothing is ever sent again at another nonce.
 */
import path from "node:path";
import { mkdir } from "node:fs/promises";

import { MultiProcessMutex, MultiProcessMutexTimeoutError } from "@nomicfoundation/hardhat-utils/synchronization";
import { Transaction, getAddress, type Signer, type TransactionRequest } from "ethers";
import { z } from "zod";

import { addressSchema, bytes32Schema, hexSchema, isoTimeSchema } from "../common/schema.js";
import { BlueGreenError } from "../errors.js";
import type { Eip1193Provider } from "./eip1193.js";

const decimal = z.string().regex(/^\d+$/);

/** One signed version of the transaction at the journaled nonce (the first, or a speed-up). */
const attemptSchema = z
  .object({
    /** Known before broadcasting when the account can sign without sending; else set right after. */
    hash: bytes32Schema.optional(),
    /** The signed transaction, to re-broadcast as is. */
    raw: hexSchema.optional(),
    gasPrice: decimal.optional(),
    maxFeePerGas: decimal.optional(),
    maxPriorityFeePerGas: decimal.optional(),
    at: isoTimeSchema,
  })
  .strict();

export const sendJournalSchema = z
  .object({
    from: addressSchema,
    nonce: z.number().int().nonnegative(),
    chainId: z.number().int().positive(),
    /** Absent for a contract creation. */
    to: addressSchema.optional(),
    data: hexSchema,
    value: decimal,
    gasLimit: decimal,
    type: z.number().int().nonnegative(),
    /** The latest block before the first broadcast: where searches for the nonce's transaction start. */
    fromBlock: z.number().int().nonnegative(),
    /** Every version broadcast (or about to be) at this nonce, oldest first. */
    attempts: z.array(attemptSchema),
  })
  .strict();

export type SendJournal = z.infer<typeof sendJournalSchema>;
type Attempt = z.infer<typeof attemptSchema>;

/** What a mined transaction of ours left, read from the chain. */
export interface MinedSend {
  hash: string;
  from: string;
  nonce: number;
  blockNumber: number;
  status: 0 | 1;
  contractAddress: string | null;
}

export type SendOutcome =
  | { kind: "mined"; receipt: MinedSend; /** True when found from an earlier run's journal rather than sent now. */ resumed: boolean; /** True when a same-nonce replacement is what was mined. */ replaced: boolean }
  /** The nonce was used by a transaction that is not ours: ours can never be mined. */
  | { kind: "taken"; nonce: number; by?: string };

export interface SendOnceOptions {
  provider: Eip1193Provider;
  signer: Signer;
  /** The call or creation (no `to`). Nonce and fees are chosen here. */
  request: { to?: string; data: string; value?: bigint; gasLimit?: bigint };
  /** The send journal of an earlier run, when there is one: it is resumed instead of a fresh send. */
  previous?: SendJournal;
  /** Persists the journal (atomically). Called before every broadcast and after a hash becomes known. */
  save: (journal: SendJournal) => Promise<void>;
  /** Called once nothing was broadcast at all (a refused first send): the journal may go. */
  discard?: () => Promise<void>;
  /** Called right after a broadcast (tests use it to simulate a crash). */
  afterBroadcast?: (hash: string) => void | Promise<void>;
  /** Recognises our call mined under a hash we do not know (e.g. replaced from a wallet). Default: same to, data and value. */
  isOurs?: (tx: { to: string | null; data: string; value: bigint }) => boolean;
  log?: (line: string) => void;
  /** Milliseconds a transaction may stay pending before it is replaced with higher fees. Default 180 s. */
  speedUpAfterMs?: number;
  /** Milliseconds to wait in all before giving up (the journal stays; a re-run resumes). Default 30 min. */
  giveUpAfterMs?: number;
  pollMs?: number;
  /** How many speed-ups at most. Default 3. */
  maxSpeedUps?: number;
}

const FEE_BUMP_NUMERATOR = 1125n; // +12.5%: above the 10% geth, anvil and Hardhat require of a replacement
const FEE_BUMP_DENOMINATOR = 1000n;

/** Sends (or resumes) the journaled transaction; see the module comment. */
export async function sendOnce(options: SendOnceOptions): Promise<SendOutcome> {
  if (options.previous !== undefined) return resume(options, options.previous);
  return sendFresh(options);
}

async function sendFresh(options: SendOnceOptions): Promise<SendOutcome> {
  const { provider, signer, request } = options;
  const from = getAddress(await signer.getAddress());
  const nonce = Number(await rpc<string>(provider, "eth_getTransactionCount", [from, "pending"]));
  const chainId = Number(await rpc<string>(provider, "eth_chainId", []));
  const fromBlock = Number(await rpc<string>(provider, "eth_blockNumber", []));
  const gasLimit =
    request.gasLimit ??
    ((await signer.estimateGas({ from, ...(request.to !== undefined ? { to: request.to } : {}), data: request.data, value: request.value ?? 0n })) * 12n) / 10n;
  const fees = await currentFees(options);
  const journal: SendJournal = {
    from,
    nonce,
    chainId,
    ...(request.to !== undefined ? { to: getAddress(request.to) } : {}),
    data: request.data,
    value: String(request.value ?? 0n),
    gasLimit: String(gasLimit),
    type: fees.maxFeePerGas !== undefined ? 2 : 0,
    fromBlock,
    attempts: [],
  };
  return broadcastAttempt(options, journal, fees, { first: true });
}

/** Signs (when the account can), journals, then broadcasts one version at the journal's nonce, and waits. */
async function broadcastAttempt(
  options: SendOnceOptions,
  journal: SendJournal,
  fees: Fees,
  how: { first: boolean; replaced?: boolean; resumed?: boolean },
): Promise<SendOutcome> {
  const tx = txFields(journal, fees);
  const raw = await trySign(options, tx, journal);
  const attempt: Attempt = { ...(raw !== undefined ? { hash: Transaction.from(raw).hash!, raw } : {}), ...fees, at: new Date().toISOString() };
  const journaled: SendJournal = { ...journal, attempts: [...journal.attempts, attempt] };
  await options.save(journaled);
  let hash: string;
  try {
    hash = await broadcast(options, tx, raw);
  } catch (error) {
    // Did it reach the node after all? Then it is ours to wait for.
    if (attempt.hash !== undefined && (await knownTx(options.provider, attempt.hash))) {
      return waitFor(options, journaled, { resumed: how.resumed ?? false, replaced: how.replaced ?? false });
    }
    const latest = await accountNonce(options.provider, journal.from, "latest");
    if (latest > journal.nonce) return classifyTaken(options, journaled, how.resumed ?? false);
    // Without a hash, a transaction pending at our nonce may be this one (the error came after it was accepted): wait for the nonce.
    if (attempt.hash === undefined && (await accountNonce(options.provider, journal.from, "pending")) > journal.nonce) {
      return waitFor(options, journaled, { resumed: how.resumed ?? false, replaced: how.replaced ?? false });
    }
    if (how.first && journal.attempts.length === 0) {
      await options.discard?.();
      throw new BlueGreenError(
        "BG_SEND_FAILED",
        `Sending from ${journal.from} (nonce ${journal.nonce}) failed: ${(error as Error).message}. Nothing was sent. ` +
          "Check that the account has funds and the network is reachable, then run the command again.",
        { cause: error as Error },
      );
    }
    throw new BlueGreenError(
      "BG_SEND_FAILED",
      `Re-sending the journaled transaction from ${journal.from} at nonce ${journal.nonce} failed: ${(error as Error).message}. ` +
        "The journal is kept: run the command again to resume at the same nonce.",
      { cause: error as Error },
    );
  }
  if (attempt.hash === undefined || attempt.hash.toLowerCase() !== hash.toLowerCase()) {
    attempt.hash = hash;
    await options.save(journaled);
  }
  options.log?.(`Sent ${hash} (nonce ${journal.nonce} of ${journal.from}).`);
  await options.afterBroadcast?.(hash);
  return waitFor(options, journaled, { resumed: how.resumed ?? false, replaced: how.replaced ?? false });
}

async function resume(options: SendOnceOptions, journal: SendJournal): Promise<SendOutcome> {
  const { provider } = options;
  const mined = await minedAttempt(provider, journal);
  if (mined !== undefined) return { kind: "mined", receipt: mined, resumed: true, replaced: mined.hash !== journal.attempts[0]?.hash };
  for (const attempt of journal.attempts) {
    if (attempt.hash !== undefined && (await knownTx(provider, attempt.hash))) {
      options.log?.(`Waiting for the journaled transaction ${attempt.hash} (nonce ${journal.nonce} of ${journal.from}), still pending.`);
      return waitFor(options, journal, { resumed: true, replaced: journal.attempts.length > 1 });
    }
  }
  const latest = await accountNonce(provider, journal.from, "latest");
  if (latest > journal.nonce) return classifyTaken(options, journal, true);
  // The nonce is free and no version is known to the node: re-broadcast the last one, at the same nonce.
  const last = journal.attempts.at(-1);
  if (last === undefined) {
    options.log?.(`Re-sending the journaled transaction at nonce ${journal.nonce} of ${journal.from} (it never reached the node).`);
    return broadcastAttempt(options, journal, await currentFees(options), { first: false, resumed: true });
  }
  options.log?.(`Re-broadcasting the journaled transaction ${last.hash ?? ""} at nonce ${journal.nonce} of ${journal.from} (the node does not know it).`);
  const tx = txFields(journal, last);
  try {
    const hash = await broadcast(options, tx, last.raw);
    if (last.hash === undefined) {
      last.hash = hash;
      await options.save(journal);
    }
  } catch (error) {
    const again = await minedAttempt(provider, journal);
    if (again !== undefined) return { kind: "mined", receipt: again, resumed: true, replaced: journal.attempts.length > 1 };
    if ((await accountNonce(provider, journal.from, "latest")) > journal.nonce) return classifyTaken(options, journal, true);
    // Refused because a transaction is already pending at the nonce (ours, signed again to the same hash): wait for the nonce.
    if ((await accountNonce(provider, journal.from, "pending")) > journal.nonce) return waitFor(options, journal, { resumed: true, replaced: journal.attempts.length > 1 });
    throw new BlueGreenError(
      "BG_SEND_FAILED",
      `Re-sending the journaled transaction from ${journal.from} at nonce ${journal.nonce} failed: ${(error as Error).message}. ` +
        "The journal is kept: run the command again to resume at the same nonce.",
      { cause: error as Error },
    );
  }
  return waitFor(options, journal, { resumed: true, replaced: journal.attempts.length > 1 });
}

/** Waits for any version to be mined, replacing it at the same nonce when pending too long. */
async function waitFor(options: SendOnceOptions, journal: SendJournal, how: { resumed: boolean; replaced: boolean }): Promise<SendOutcome> {
  const { provider } = options;
  const pollMs = options.pollMs ?? 1000;
  const speedUpAfter = options.speedUpAfterMs ?? 180_000;
  const giveUpAt = Date.now() + (options.giveUpAfterMs ?? 30 * 60_000);
  const maxSpeedUps = options.maxSpeedUps ?? 3;
  let lastBroadcast = Date.now();
  for (;;) {
    const mined = await minedAttempt(provider, journal);
    if (mined !== undefined) {
      return { kind: "mined", receipt: mined, resumed: how.resumed, replaced: how.replaced || mined.hash !== journal.attempts[0]?.hash };
    }
    if ((await accountNonce(provider, journal.from, "latest")) > journal.nonce) {
      // Mined between the two reads, or something else took the nonce.
      const again = await minedAttempt(provider, journal);
      if (again !== undefined) return { kind: "mined", receipt: again, resumed: how.resumed, replaced: again.hash !== journal.attempts[0]?.hash };
      return classifyTaken(options, journal, how.resumed);
    }
    if (Date.now() > giveUpAt) {
      throw new BlueGreenError(
        "BG_SEND_PENDING",
        `The transaction at nonce ${journal.nonce} of ${journal.from} (${journal.attempts.map((a) => a.hash).filter(Boolean).join(", ")}) is still pending. ` +
          "It is journaled: run the command again later to keep waiting for it (it is never sent at another nonce).",
      );
    }
    const speedUps = journal.attempts.length - 1;
    if (Date.now() - lastBroadcast >= speedUpAfter && speedUps < maxSpeedUps) {
      const bumped = await bumpedFees(options, journal.attempts.at(-1)!);
      options.log?.(`The transaction at nonce ${journal.nonce} is pending for over ${Math.round(speedUpAfter / 1000)}s: replacing it at the same nonce with higher fees.`);
      const tx = txFields(journal, bumped);
      const raw = await trySign(options, tx, journal);
      const attempt: Attempt = { ...(raw !== undefined ? { hash: Transaction.from(raw).hash!, raw } : {}), ...bumped, at: new Date().toISOString() };
      journal = { ...journal, attempts: [...journal.attempts, attempt] };
      await options.save(journal);
      try {
        const hash = await broadcast(options, tx, raw);
        if (attempt.hash === undefined) {
          attempt.hash = hash;
          await options.save(journal);
        }
        options.log?.(`Replacement ${hash} sent at nonce ${journal.nonce}.`);
      } catch (error) {
        // The first version may have been mined meanwhile (then the node refuses the nonce): the loop finds out.
        options.log?.(`The replacement was refused (${(error as Error).message}); still waiting for the earlier version.`);
      }
      lastBroadcast = Date.now();
    }
    await sleep(pollMs);
  }
}

/** The nonce has passed ours and no version of ours is mined: find what took it. */
async function classifyTaken(options: SendOnceOptions, journal: SendJournal, resumed: boolean): Promise<SendOutcome> {
  const taker = await findTxAtNonce(options.provider, journal.from, journal.nonce, journal.fromBlock);
  if (taker !== undefined) {
    const ours = journal.attempts.some((a) => a.hash?.toLowerCase() === taker.hash.toLowerCase());
    const isOurs =
      options.isOurs ??
      ((tx) =>
        (tx.to === null ? journal.to === undefined : journal.to !== undefined && getAddress(tx.to) === journal.to) &&
        tx.data.toLowerCase() === journal.data.toLowerCase() &&
        tx.value === BigInt(journal.value));
    if (ours || isOurs({ to: taker.to, data: taker.input, value: BigInt(taker.value) })) {
      const receipt = await receiptOf(options.provider, taker.hash);
      if (receipt !== undefined) {
        if (!ours) {
          options.log?.(`Our transaction at nonce ${journal.nonce} was mined under another hash (${taker.hash}): a replacement made elsewhere.`);
          await options.save({ ...journal, attempts: [...journal.attempts, { hash: taker.hash, at: new Date().toISOString() }] });
        }
        return { kind: "mined", receipt, resumed, replaced: taker.hash !== journal.attempts[0]?.hash };
      }
    }
    return { kind: "taken", nonce: journal.nonce, by: taker.hash };
  }
  return { kind: "taken", nonce: journal.nonce };
}

interface RpcTx {
  hash: string;
  from: string;
  to: string | null;
  input: string;
  value: string;
  nonce: string;
}

/**
 * The mined transaction of `from` with `nonce`: the block where the account's
 * nonce passed it is found by bisection on eth_getTransactionCount (needs the
 * node's state at those blocks; undefined when it has none).
 */
export async function findTxAtNonce(provider: Eip1193Provider, from: string, nonce: number, fromBlock: number): Promise<RpcTx | undefined> {
  try {
    let lo = Math.max(0, fromBlock);
    let hi = Number(await rpc<string>(provider, "eth_blockNumber", []));
    if ((await accountNonce(provider, from, hi)) <= nonce) return undefined;
    if ((await accountNonce(provider, from, lo)) > nonce) return undefined;
    // Invariant: nonce(lo) <= nonce < nonce(hi).
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if ((await accountNonce(provider, from, mid)) > nonce) hi = mid;
      else lo = mid;
    }
    const block = await rpc<{ transactions: RpcTx[] } | null>(provider, "eth_getBlockByNumber", [toHex(hi), true]);
    return block?.transactions.find((t) => getAddress(t.from) === getAddress(from) && Number(t.nonce) === nonce);
  } catch {
    // No historical state on this node: the taker stays unnamed.
    return undefined;
  }
}

// ---- the sender's lock ----

const LOCK_ATTEMPT_MS = 100;

/**
 * Runs `fn` holding the lock of one sending account on one chain, a file in
 * the chain's records folder. Two runs from one account take turns; the
 * second says it waits, and gives up with BG_SEND_ACCOUNT_BUSY after `timeoutMs`.
 * A lock left by a dead process is taken over (the library checks the PID).
 */
export async function withSenderLock<T>(
  chainDir: string,
  account: string,
  fn: () => Promise<T>,
  { timeoutMs = 15 * 60_000, log }: { timeoutMs?: number; log?: (line: string) => void } = {},
): Promise<T> {
  await mkdir(chainDir, { recursive: true });
  const file = senderLockPath(chainDir, account);
  let release: () => Promise<void>;
  try {
    release = await new MultiProcessMutex(file, LOCK_ATTEMPT_MS).acquire();
  } catch (error) {
    if (!(error instanceof MultiProcessMutexTimeoutError)) throw error;
    log?.(`Another run is sending from ${getAddress(account)} on this chain; waiting for it to finish (up to ${Math.round(timeoutMs / 1000)}s).`);
    try {
      release = await new MultiProcessMutex(file, timeoutMs).acquire();
    } catch (again) {
      if (!(again instanceof MultiProcessMutexTimeoutError)) throw again;
      throw new BlueGreenError(
        "BG_SEND_ACCOUNT_BUSY",
        `Another run is using ${getAddress(account)} to send on this chain (lock ${file}) and did not finish within ${Math.round(timeoutMs / 1000)}s. ` +
          "Wait for it to finish, then run again. If no such run is alive, the lock is freed by itself (its process is gone).",
        { cause: again },
      );
    }
  }
  try {
    return await fn();
  } finally {
    await release();
  }
}

export function senderLockPath(chainDir: string, account: string): string {
  return path.join(chainDir, `.sender-${account.toLowerCase()}.lock`);
}

// ---- helpers ----

type Fees = { gasPrice?: string; maxFeePerGas?: string; maxPriorityFeePerGas?: string };

/** EIP-1559 fees where the chain has a base fee (twice the base fee plus the tip, as ethers does), else a gas price. */
async function currentFees(options: SendOnceOptions): Promise<Fees> {
  const block = await rpc<{ baseFeePerGas?: string }>(options.provider, "eth_getBlockByNumber", ["latest", false]);
  if (block.baseFeePerGas !== undefined) {
    const tip = await rpc<string>(options.provider, "eth_maxPriorityFeePerGas", []).then(BigInt, () => 1_000_000_000n);
    return { maxFeePerGas: String(BigInt(block.baseFeePerGas) * 2n + tip), maxPriorityFeePerGas: String(tip) };
  }
  return { gasPrice: String(BigInt(await rpc<string>(options.provider, "eth_gasPrice", []))) };
}

function txFields(journal: SendJournal, fees: Fees): TransactionRequest {
  return {
    from: journal.from,
    ...(journal.to !== undefined ? { to: journal.to } : {}),
    data: journal.data,
    value: BigInt(journal.value),
    gasLimit: BigInt(journal.gasLimit),
    nonce: journal.nonce,
    chainId: BigInt(journal.chainId),
    type: journal.type,
    ...(fees.gasPrice !== undefined ? { gasPrice: BigInt(fees.gasPrice) } : {}),
    ...(fees.maxFeePerGas !== undefined ? { maxFeePerGas: BigInt(fees.maxFeePerGas), maxPriorityFeePerGas: BigInt(fees.maxPriorityFeePerGas ?? "0") } : {}),
  };
}

async function bumpedFees(options: SendOnceOptions, last: Attempt): Promise<Fees> {
  const bump = (v: string | undefined) => ((BigInt(v ?? "0") * FEE_BUMP_NUMERATOR) / FEE_BUMP_DENOMINATOR + 1n);
  const current = await currentFees(options).catch((): Fees => ({}));
  const max = (a: bigint, b: string | undefined) => (b !== undefined && BigInt(b) > a ? BigInt(b) : a);
  if (last.gasPrice !== undefined) return { gasPrice: String(max(bump(last.gasPrice), current.gasPrice)) };
  return {
    maxFeePerGas: String(max(bump(last.maxFeePerGas), current.maxFeePerGas)),
    maxPriorityFeePerGas: String(max(bump(last.maxPriorityFeePerGas), current.maxPriorityFeePerGas)),
  };
}

/**
 * The signed transaction without sending it: the signer's own signing, else
 * the node's eth_signTransaction (unlocked accounts). Undefined when neither
 * can (an account the Hardhat provider signs for only while sending); the
 * journal then holds the exact fields, and signing them again gives the same
 * transaction (deterministic ECDSA).
 */
async function trySign(options: SendOnceOptions, tx: TransactionRequest, journal: SendJournal): Promise<string | undefined> {
  const candidates: Array<() => Promise<string>> = [
    () => options.signer.signTransaction(tx),
    () => rpc<string>(options.provider, "eth_signTransaction", [rpcTx(tx)]),
  ];
  for (const sign of candidates) {
    try {
      const raw = await sign();
      const parsed = Transaction.from(raw);
      if (parsed.from !== null && getAddress(parsed.from) === journal.from && parsed.nonce === journal.nonce) return raw;
    } catch {
      // This way of signing is not available: try the next.
    }
  }
  return undefined;
}

async function broadcast(options: SendOnceOptions, tx: TransactionRequest, raw: string | undefined): Promise<string> {
  if (raw !== undefined) return rpc<string>(options.provider, "eth_sendRawTransaction", [raw]);
  return (await options.signer.sendTransaction(tx)).hash;
}

function rpcTx(tx: TransactionRequest): Record<string, string> {
  const out: Record<string, string> = {};
  if (tx.from != null) out.from = String(tx.from);
  if (tx.to != null) out.to = String(tx.to);
  if (tx.data != null) out.data = tx.data;
  for (const key of ["value", "nonce", "chainId", "gasPrice", "maxFeePerGas", "maxPriorityFeePerGas", "type"] as const) {
    const v = tx[key];
    if (v != null) out[key] = toHex(v as bigint | number);
  }
  if (tx.gasLimit != null) out.gas = toHex(tx.gasLimit as bigint);
  return out;
}

async function minedAttempt(provider: Eip1193Provider, journal: SendJournal): Promise<MinedSend | undefined> {
  for (const attempt of journal.attempts) {
    if (attempt.hash === undefined) continue;
    const receipt = await receiptOf(provider, attempt.hash);
    if (receipt !== undefined) return receipt;
  }
  return undefined;
}

async function receiptOf(provider: Eip1193Provider, hash: string): Promise<MinedSend | undefined> {
  const r = await rpc<{ transactionHash: string; from: string; blockNumber: string | null; status: string; contractAddress: string | null } | null>(
    provider,
    "eth_getTransactionReceipt",
    [hash],
  );
  if (r === null || r.blockNumber === null) return undefined;
  const tx = await rpc<{ nonce: string } | null>(provider, "eth_getTransactionByHash", [hash]);
  return {
    hash: r.transactionHash,
    from: getAddress(r.from),
    nonce: tx === null ? -1 : Number(tx.nonce),
    blockNumber: Number(r.blockNumber),
    status: Number(r.status) === 1 ? 1 : 0,
    contractAddress: r.contractAddress === null ? null : getAddress(r.contractAddress),
  };
}

async function knownTx(provider: Eip1193Provider, hash: string): Promise<boolean> {
  return (await rpc<unknown>(provider, "eth_getTransactionByHash", [hash])) !== null;
}

async function accountNonce(provider: Eip1193Provider, account: string, tag: "latest" | "pending" | number): Promise<number> {
  return Number(await rpc<string>(provider, "eth_getTransactionCount", [account, typeof tag === "number" ? toHex(tag) : tag]));
}

function rpc<T>(provider: Eip1193Provider, method: string, params: unknown[]): Promise<T> {
  return provider.request({ method, params }) as Promise<T>;
}

function toHex(v: bigint | number): string {
  return "0x" + BigInt(v).toString(16);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The EIP-1193 face of an ethers provider (JsonRpcProvider, Hardhat's), for modules handed one. */
export function eip1193Of(provider: unknown): Eip1193Provider {
  const p = provider as { request?: Eip1193Provider["request"]; send?: (method: string, params: unknown[]) => Promise<unknown> };
  if (typeof p.request === "function") return p as Eip1193Provider;
  if (typeof p.send === "function") return { request: ({ method, params }) => p.send!(method, (params as unknown[] | undefined) ?? []) };
  throw new TypeError("sendOnce needs a provider with request() or send()");
}
