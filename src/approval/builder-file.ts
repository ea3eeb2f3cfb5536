/**
 * A Safe{Wallet} Transaction Builder batch file, for signers who import the
 * proposal into the Safe web app instead of running bg:approve.
 *
 * The Transaction Builder checks `meta.checksum` on import and warns when it
 * does not match. Its checksum is keccak256 over its own serialization of the
 * file (not JSON.stringify): at every object, the sorted key list as a JSON
 * array, then each value followed by a comma; arrays as `[a,b]`; leaves as
 * JSON with `undefined` written as `null`. It is taken with `meta.checksum`
 * absent and `meta.name` set to null, so renaming a batch keeps it valid.
 */
import { type FunctionFragment, keccak256, toUtf8Bytes } from "ethers";
import { z } from "zod";

export const TX_BUILDER_FILE_VERSION = "1.0";
/** The Transaction Builder release whose file format this follows. */
export const TX_BUILDER_VERSION = "1.18.3";

const contractInputSchema = z
  .object({
    internalType: z.string().optional(),
    name: z.string(),
    type: z.string(),
  })
  .strict();

export const builderTransactionSchema = z
  .object({
    to: z.string(),
    value: z.string(),
    data: z.string().optional(),
    contractMethod: z
      .object({ inputs: z.array(contractInputSchema), name: z.string(), payable: z.boolean() })
      .strict()
      .optional(),
    contractInputsValues: z.record(z.string()).optional(),
  })
  .strict();

export const builderFileSchema = z
  .object({
    version: z.string(),
    chainId: z.string(),
    createdAt: z.number().int(),
    meta: z
      .object({
        name: z.string(),
        description: z.string().optional(),
        txBuilderVersion: z.string().optional(),
        createdFromSafeAddress: z.string().optional(),
        createdFromOwnerAddress: z.string().optional(),
        checksum: z.string().optional(),
      })
      .strict(),
    transactions: z.array(builderTransactionSchema),
  })
  .strict();

export type BuilderFile = z.infer<typeof builderFileSchema>;
export type BuilderTransaction = z.infer<typeof builderTransactionSchema>;

/**
 * The Transaction Builder's serialization. Key order in the input does not
 * matter; array order does.
 */
export function serializeForChecksum(value: unknown): string {
  if (Array.isArray(value)) {
    return "[" + value.map((item) => serializeForChecksum(item)).join(",") + "]";
  }
  if (typeof value === "object" && value !== null) {
    const keys = Object.keys(value).sort();
    let out = "{" + JSON.stringify(keys);
    for (const key of keys) out += serializeForChecksum((value as Record<string, unknown>)[key]) + ",";
    return out + "}";
  }
  // JSON.stringify(undefined) is undefined; the Transaction Builder writes null.
  return value === undefined ? "null" : JSON.stringify(value);
}

/**
 * keccak256 over the serialization of exactly `file` (with its `meta.name`
 * set to null). Callers strip `meta.checksum` first; see `builderFileChecksum`.
 */
export function checksumOf(file: { meta: object; [key: string]: unknown }): string {
  return keccak256(toUtf8Bytes(serializeForChecksum({ ...file, meta: { ...file.meta, name: null } })));
}

/** The checksum the Transaction Builder expects in `meta.checksum`. */
export function builderFileChecksum(file: BuilderFile): string {
  const { checksum: _ignored, ...meta } = file.meta;
  return checksumOf({ ...file, meta });
}

/** True if `meta.checksum` is present and matches the file's content. */
export function verifyBuilderFileChecksum(file: BuilderFile): boolean {
  return file.meta.checksum !== undefined && file.meta.checksum === builderFileChecksum(file);
}

export interface BuilderCall {
  to: string;
  value?: bigint;
  data: string;
  /** The called function, for the Transaction Builder's decoded view. */
  fragment?: FunctionFragment;
  /** Its arguments in the order of `fragment.inputs`. */
  args?: readonly unknown[];
}

/**
 * Builds a batch file for `calls`, executed from `safe`, with its checksum.
 * Each transaction carries its raw `data` (which the Transaction Builder
 * executes as is) and, when the function is known, the method and its
 * inputs as strings, so a person reading the file sees what it calls.
 */
export function buildBuilderFile(options: {
  chainId: number | bigint;
  safe: string;
  name: string;
  description: string;
  calls: readonly BuilderCall[];
  createdAt?: Date;
}): BuilderFile {
  const file: BuilderFile = {
    version: TX_BUILDER_FILE_VERSION,
    chainId: options.chainId.toString(),
    createdAt: (options.createdAt ?? new Date()).getTime(),
    meta: {
      name: options.name,
      description: options.description,
      txBuilderVersion: TX_BUILDER_VERSION,
      createdFromSafeAddress: options.safe,
      createdFromOwnerAddress: "",
    },
    transactions: options.calls.map(toBuilderTransaction),
  };
  return { ...file, meta: { ...file.meta, checksum: builderFileChecksum(file) } };
}

function toBuilderTransaction(call: BuilderCall): BuilderTransaction {
  const tx: BuilderTransaction = { to: call.to, value: (call.value ?? 0n).toString(), data: call.data };
  if (call.fragment === undefined || call.args === undefined) return tx;
  const inputs = call.fragment.inputs;
  return {
    ...tx,
    contractMethod: {
      inputs: inputs.map((p) => ({ internalType: p.type, name: p.name, type: p.type })),
      name: call.fragment.name,
      payable: call.fragment.payable,
    },
    contractInputsValues: Object.fromEntries(inputs.map((p, i) => [p.name, inputValueString(call.args![i])])),
  };
}

/** The Transaction Builder keeps every input as a string (numbers would lose precision). */
function inputValueString(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "bigint" || typeof value === "number" || typeof value === "boolean") return value.toString();
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
}
