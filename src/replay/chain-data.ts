/**
 * Reading the source's JSON-RPC objects (blocks, transactions, receipts)
 * into the replay's own types, and writing quantities back as hex.
 */
import { Transaction } from "ethers";

import { quantity } from "../common/format.js";
import { BlueGreenError } from "../errors.js";
import type { BlockContext, LogEntry, ReceiptFacts, TxRequest } from "./types.js";

export function toBigInt(value: unknown, what = "quantity"): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number") return BigInt(value);
  if (typeof value === "string" && value !== "") return BigInt(value);
  throw new Error(`expected a ${what}, got ${JSON.stringify(value)}`);
}

export function toNumber(value: unknown, what = "quantity"): number {
  return Number(toBigInt(value, what));
}

export interface RpcBlock {
  number: string;
  hash: string;
  timestamp: string;
  baseFeePerGas?: string;
  miner: string;
  mixHash?: string;
  prevRandao?: string;
  gasLimit: string;
  transactions: Array<RpcTransaction | string>;
}

export interface RpcTransaction {
  hash: string;
  from: string;
  to?: string | null;
  input: string;
  value: string;
  gas: string;
  nonce: string;
  type?: string;
  gasPrice?: string;
  maxFeePerGas?: string;
  maxPriorityFeePerGas?: string;
  accessList?: Array<{ address: string; storageKeys: string[] }>;
  authorizationList?: unknown[];
  blockNumber?: string | null;
  transactionIndex?: string | null;
}

export interface RpcReceipt {
  transactionHash: string;
  blockNumber?: string;
  status?: string;
  gasUsed: string;
  logs: Array<{ address: string; topics: string[]; data: string }>;
}

export function toBlockContext(block: RpcBlock): BlockContext {
  return {
    number: toNumber(block.number),
    timestamp: toNumber(block.timestamp),
    ...(block.baseFeePerGas !== undefined && block.baseFeePerGas !== null ? { baseFeePerGas: toBigInt(block.baseFeePerGas) } : {}),
    coinbase: block.miner.toLowerCase(),
    prevRandao: (block.mixHash ?? block.prevRandao ?? "0x" + "00".repeat(32)).toLowerCase(),
    gasLimit: toBigInt(block.gasLimit),
  };
}

export function toTxRequest(tx: RpcTransaction): TxRequest {
  const type = tx.type !== undefined ? toNumber(tx.type) : 0;
  return {
    from: tx.from.toLowerCase(),
    ...(tx.to !== undefined && tx.to !== null ? { to: tx.to.toLowerCase() } : {}),
    data: tx.input,
    value: toBigInt(tx.value),
    gas: toBigInt(tx.gas),
    nonce: toNumber(tx.nonce),
    type,
    ...(type === 2 || type === 3 || type === 4
      ? { maxFeePerGas: toBigInt(tx.maxFeePerGas), maxPriorityFeePerGas: toBigInt(tx.maxPriorityFeePerGas) }
      : { gasPrice: toBigInt(tx.gasPrice) }),
    ...(tx.accessList !== undefined && tx.accessList.length > 0 ? { accessList: tx.accessList } : {}),
    ...(tx.authorizationList !== undefined && tx.authorizationList.length > 0 ? { authorizationList: tx.authorizationList } : {}),
  };
}

/** Decodes a signed raw transaction (as sent to `eth_sendRawTransaction`). */
export function txRequestFromRaw(raw: string): { hash: string; tx: TxRequest } {
  let parsed: Transaction;
  try {
    parsed = Transaction.from(raw);
  } catch (e) {
    throw new BlueGreenError("BG_REPLAY_CAPTURE_FILE", `not a signed raw transaction: ${(e as Error).message.split(" (")[0]}`);
  }
  if (parsed.from === null || parsed.hash === null) {
    throw new BlueGreenError("BG_REPLAY_CAPTURE_FILE", "the raw transaction is not signed, so its sender is unknown");
  }
  const type = parsed.type ?? 0;
  return {
    hash: parsed.hash.toLowerCase(),
    tx: {
      from: parsed.from.toLowerCase(),
      ...(parsed.to !== null ? { to: parsed.to.toLowerCase() } : {}),
      data: parsed.data,
      value: parsed.value,
      gas: parsed.gasLimit,
      nonce: parsed.nonce,
      type,
      ...(type >= 2
        ? { maxFeePerGas: parsed.maxFeePerGas ?? 0n, maxPriorityFeePerGas: parsed.maxPriorityFeePerGas ?? 0n }
        : { gasPrice: parsed.gasPrice ?? 0n }),
      ...(parsed.accessList !== null && parsed.accessList.length > 0
        ? { accessList: parsed.accessList.map((a) => ({ address: a.address, storageKeys: [...a.storageKeys] })) }
        : {}),
    },
  };
}

export function toReceiptFacts(receipt: RpcReceipt): ReceiptFacts {
  return {
    status: receipt.status === undefined || toNumber(receipt.status) === 1 ? "success" : "revert",
    gasUsed: toBigInt(receipt.gasUsed),
    logs: receipt.logs.map(toLogEntry),
  };
}

export function toLogEntry(log: { address: string; topics: string[]; data: string }): LogEntry {
  return { address: log.address.toLowerCase(), topics: log.topics.map((t) => t.toLowerCase()), data: log.data.toLowerCase() };
}

/**
 * The `eth_sendTransaction` / `debug_traceCall` object of a transaction,
 * with the original fee fields so the fork charges what the chain charged.
 */
export function rpcTransactionObject(tx: TxRequest): Record<string, unknown> {
  return {
    from: tx.from,
    ...(tx.to !== undefined ? { to: tx.to } : {}),
    data: tx.data,
    value: quantity(tx.value),
    gas: quantity(tx.gas),
    nonce: quantity(tx.nonce),
    ...(tx.gasPrice !== undefined ? { gasPrice: quantity(tx.gasPrice) } : {}),
    ...(tx.maxFeePerGas !== undefined ? { maxFeePerGas: quantity(tx.maxFeePerGas) } : {}),
    ...(tx.maxPriorityFeePerGas !== undefined ? { maxPriorityFeePerGas: quantity(tx.maxPriorityFeePerGas) } : {}),
    ...(tx.accessList !== undefined ? { accessList: tx.accessList } : {}),
    ...(tx.authorizationList !== undefined ? { authorizationList: tx.authorizationList } : {}),
  };
}
