/**
 * The capture file: JSON Lines of mirrored requests, written by `bg:mirror`
 * (or by a team's own RPC gateway) and replayed with `bg:replay --traffic`.
 * The format is documented in docs/replay.md. Each line is one of:
 *
 * ```json
 * {"kind":"tx","raw":"0x02f8...","blockNumber":19000000}
 * {"kind":"call","from":"0x...","to":"0x...","data":"0x...","value":"0x0","gas":"0x30d40","blockNumber":19000000}
 * "0x02f8..."
 * ```
 *
 * A bare JSON string is a signed raw transaction. `blockNumber` is the chain
 * head the request was made against. Blank lines are ignored; anything else
 * that is not a valid line is rejected with its line number.
 */
import { z } from "zod";

import { quantity } from "../common/format.js";
import { addressSchema, hexSchema } from "../common/schema.js";
import { BlueGreenError } from "../errors.js";
import { txRequestFromRaw } from "./chain-data.js";
import type { TrafficItem } from "./types.js";

export const CAPTURE_FORMAT_VERSION = 1;

const hexQuantity = z.union([
  z.number().int("must be a whole number").min(0, "must not be negative"),
  z.string().regex(/^0x[0-9a-fA-F]+$/, "must be a hex quantity (0x...) or a number"),
]);
const blockNumber = z.union([
  z.number().int("must be a whole block number").min(0, "must not be negative"),
  z.string().regex(/^0x[0-9a-fA-F]+$/, "must be a block number, as a number or 0x-hex"),
]);

const txLineSchema = z
  .object({
    kind: z.literal("tx"),
    raw: hexSchema.refine((s) => s.length > 2, "must be a signed raw transaction"),
    blockNumber: blockNumber.optional(),
    at: z.string().optional(),
  })
  .strict();

const callLineSchema = z
  .object({
    kind: z.literal("call"),
    from: addressSchema.optional(),
    to: addressSchema,
    data: hexSchema,
    value: hexQuantity.optional(),
    gas: hexQuantity.optional(),
    blockNumber,
    at: z.string().optional(),
  })
  .strict();

const lineSchema = z.discriminatedUnion("kind", [txLineSchema, callLineSchema], {
  errorMap: (issue, ctx) =>
    issue.code === z.ZodIssueCode.invalid_union_discriminator
      ? { message: 'needs "kind": "tx" (a signed raw transaction) or "kind": "call" (an eth_call)' }
      : { message: ctx.defaultError },
});

export type CaptureTxLine = { kind: "tx"; raw: string; blockNumber?: number; at?: string };
export type CaptureCallLine = {
  kind: "call";
  from?: string;
  to: string;
  data: string;
  value?: string;
  gas?: string;
  blockNumber: number;
  at?: string;
};
export type CaptureLine = CaptureTxLine | CaptureCallLine;

/** A parsed line with its 1-based line number. */
export type NumberedCaptureLine = CaptureLine & { line: number };

/**
 * Parses a capture file. Throws a `BlueGreenError` naming the file, the
 * line number and what is wrong with the first bad line.
 */
export function parseCaptureFile(text: string, fileName: string): NumberedCaptureLine[] {
  const lines: NumberedCaptureLine[] = [];
  text.split("\n").forEach((rawLine, index) => {
    const lineNumber = index + 1;
    const trimmed = rawLine.trim();
    if (trimmed === "") return;
    const fail = (what: string): never => {
      throw new BlueGreenError(
        "BG_REPLAY_CAPTURE_FILE", `${fileName}:${lineNumber}: ${what}. Each line must be a JSON object {"kind":"tx","raw":"0x..."} or ` +
          `{"kind":"call","to":"0x...","data":"0x...","blockNumber":N}, or a JSON string holding a signed raw transaction (see docs/replay.md).`,
      );
    };
    let doc: unknown;
    try {
      doc = JSON.parse(trimmed);
    } catch (e) {
      fail(`not valid JSON (${(e as Error).message})`);
    }
    if (typeof doc === "string") doc = { kind: "tx", raw: doc };
    if (doc === null || typeof doc !== "object" || Array.isArray(doc)) fail("not a JSON object or string");
    const parsed = lineSchema.safeParse(doc);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.length > 0 ? `"${issue.path.join(".")}" ` : "";
      fail(`${field}${issue.message.charAt(0).toLowerCase()}${issue.message.slice(1)}`);
    }
    const value = parsed.data!;
    if (value.kind === "tx") {
      try {
        txRequestFromRaw(value.raw);
      } catch (e) {
        fail(`"raw" is ${BlueGreenError.is(e) ? e.shortMessage : (e as Error).message}`);
      }
      const { blockNumber: block, ...rest } = value;
      lines.push({ ...rest, ...(block !== undefined ? { blockNumber: Number(BigInt(block)) } : {}), line: lineNumber });
    } else {
      lines.push({
        ...value,
        from: value.from?.toLowerCase(),
        to: value.to.toLowerCase(),
        ...(value.value !== undefined ? { value: quantity(BigInt(value.value)) } : {}),
        ...(value.gas !== undefined ? { gas: quantity(BigInt(value.gas)) } : {}),
        blockNumber: Number(BigInt(value.blockNumber)),
        line: lineNumber,
      } as NumberedCaptureLine);
    }
  });
  return lines;
}

/** One line of a capture file (without the newline). */
export function formatCaptureLine(line: CaptureLine): string {
  return JSON.stringify(line);
}

/** The traffic a capture file holds, in file order. Every line is a target. */
export function captureToTraffic(lines: NumberedCaptureLine[]): TrafficItem[] {
  return lines.map((line): TrafficItem => {
    if (line.kind === "tx") {
      const { hash, tx } = txRequestFromRaw(line.raw);
      return { kind: "tx", hash, tx, target: true, foundBy: ["capture"], line: line.line };
    }
    return {
      kind: "call",
      hash: `call@${line.line}`,
      call: {
        ...(line.from !== undefined ? { from: line.from } : {}),
        to: line.to,
        data: line.data,
        value: line.value !== undefined ? BigInt(line.value) : 0n,
        ...(line.gas !== undefined ? { gas: BigInt(line.gas) } : {}),
      },
      target: true,
      foundBy: ["capture"],
      line: line.line,
      blockNumber: line.blockNumber,
    };
  });
}
