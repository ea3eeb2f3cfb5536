/**
 * The Safe transaction and its EIP-712 hashes.
 *
 * A Safe owner signs `safeTxHash = keccak256(0x1901 ++ domainHash ++ messageHash)`.
 * A hardware wallet shows the domain hash and the message hash, so the
 * proposal records both: a signer can compare them with the device screen.
 */
import {
  Contract,
  TypedDataEncoder,
  ZeroAddress,
  getAddress,
  type ContractRunner,
  type TypedDataDomain,
} from "ethers";
import { z } from "zod";

import { addressSchema, bytesSchema } from "../common/schema.js";
import { BlueGreenError } from "../errors.js";
import { SAFE_ABI } from "./safe-contracts.js";

/** Safe's `Enum.Operation`. The approval path only ever uses CALL. */
export const OPERATION_CALL = 0;
export const OPERATION_DELEGATECALL = 1;

/** The EIP-712 type Safe 1.3.0+ signs (field order matters). */
export const SAFE_TX_TYPES = {
  SafeTx: [
    { name: "to", type: "address" },
    { name: "value", type: "uint256" },
    { name: "data", type: "bytes" },
    { name: "operation", type: "uint8" },
    { name: "safeTxGas", type: "uint256" },
    { name: "baseGas", type: "uint256" },
    { name: "gasPrice", type: "uint256" },
    { name: "gasToken", type: "address" },
    { name: "refundReceiver", type: "address" },
    { name: "nonce", type: "uint256" },
  ],
};

const uintString = z.string().regex(/^\d+$/, "must be a decimal integer string");

/** A Safe transaction as stored in a proposal: numbers as decimal strings, so JSON keeps them exact. */
export const safeTransactionSchema = z
  .object({
    to: addressSchema,
    value: uintString,
    data: bytesSchema,
    operation: z.union([z.literal(0), z.literal(1)]),
    safeTxGas: uintString,
    baseGas: uintString,
    gasPrice: uintString,
    gasToken: addressSchema,
    refundReceiver: addressSchema,
    nonce: uintString,
  })
  .strict();

export type SafeTransaction = z.infer<typeof safeTransactionSchema>;

/**
 * A plain CALL from the Safe, paid by whoever executes it: no refund, so no
 * gas fields for a relayer to game.
 */
export function buildSafeTransaction(call: { to: string; data: string; value?: bigint; nonce: bigint }): SafeTransaction {
  return {
    to: getAddress(call.to),
    value: (call.value ?? 0n).toString(),
    data: call.data.toLowerCase(),
    operation: OPERATION_CALL,
    safeTxGas: "0",
    baseGas: "0",
    gasPrice: "0",
    gasToken: ZeroAddress,
    refundReceiver: ZeroAddress,
    nonce: call.nonce.toString(),
  };
}

/** Safe 1.3.0+'s EIP-712 domain: chain id and the Safe itself, no name or version. */
export function safeDomain(chainId: number | bigint, safe: string): TypedDataDomain {
  return { chainId: BigInt(chainId), verifyingContract: getAddress(safe) };
}

/** The message in the shape ethers' typed-data signer takes. */
export function safeTxMessage(tx: SafeTransaction): Record<string, unknown> {
  return {
    to: tx.to,
    value: BigInt(tx.value),
    data: tx.data,
    operation: tx.operation,
    safeTxGas: BigInt(tx.safeTxGas),
    baseGas: BigInt(tx.baseGas),
    gasPrice: BigInt(tx.gasPrice),
    gasToken: tx.gasToken,
    refundReceiver: tx.refundReceiver,
    nonce: BigInt(tx.nonce),
  };
}

export interface SafeTxHashes {
  /** What owners sign, and what the Safe web app and the transaction service show. */
  safeTxHash: string;
  /** EIP-712 domain separator: equals the Safe's `domainSeparator()`. */
  domainHash: string;
  /** EIP-712 hashStruct of the SafeTx message. */
  messageHash: string;
}

/** Computes the safeTxHash and the two EIP-712 parts a hardware wallet displays. */
export function hashSafeTransaction(chainId: number | bigint, safe: string, tx: SafeTransaction): SafeTxHashes {
  const domain = safeDomain(chainId, safe);
  const message = safeTxMessage(tx);
  return {
    safeTxHash: TypedDataEncoder.hash(domain, SAFE_TX_TYPES, message),
    domainHash: TypedDataEncoder.hashDomain(domain),
    messageHash: TypedDataEncoder.from(SAFE_TX_TYPES).hash(message),
  };
}

/**
 * The Safe transaction as an `eth_signTypedData_v4` document, for signers who
 * sign with their own tools (e.g. `cast wallet sign --data --from-file`, a
 * hardware wallet) instead of bg:approve.
 */
export function safeTxTypedData(chainId: number | bigint, safe: string, tx: SafeTransaction): object {
  return {
    types: {
      EIP712Domain: [
        { name: "chainId", type: "uint256" },
        { name: "verifyingContract", type: "address" },
      ],
      ...SAFE_TX_TYPES,
    },
    primaryType: "SafeTx",
    domain: { chainId: Number(chainId), verifyingContract: getAddress(safe) },
    message: { ...tx },
  };
}

// How a Safe is recognized and read lives in ../chain/approver-kind.ts, shared with bg:init and bg:adopt.
export { type SafeState, readSafeState } from "../chain/approver-kind.js";

/** Binds the run-time Safe ABI to an address. */
export function safeContract(safe: string, runner: ContractRunner): Contract {
  return new Contract(getAddress(safe), SAFE_ABI, runner);
}

/**
 * The Safe transaction's fields in the order Safe's `getTransactionHash` and
 * `execTransaction` take them (both continue differently after the last).
 */
export function safeTxFields(tx: SafeTransaction) {
  return [tx.to, tx.value, tx.data, tx.operation, tx.safeTxGas, tx.baseGas, tx.gasPrice, tx.gasToken, tx.refundReceiver] as const;
}

/**
 * Asks the Safe itself for the hash of `tx` and refuses to go on if it differs
 * from ours: signers must never sign a hash the Safe would not accept.
 */
export async function assertSafeAgreesOnHash(runner: ContractRunner, safe: string, tx: SafeTransaction, safeTxHash: string): Promise<void> {
  const onChain = (await safeContract(safe, runner).getFunction("getTransactionHash")(...safeTxFields(tx), tx.nonce)) as string;
  if (onChain.toLowerCase() !== safeTxHash.toLowerCase()) {
    throw new BlueGreenError(
      "BG_APPROVAL_HASH_MISMATCH",
      `The Safe at ${safe} computes safeTxHash ${onChain} for this transaction, but the proposal says ${safeTxHash}. ` +
        "Nothing was signed. Check that the network is the right one, then propose again.",
    );
  }
}
