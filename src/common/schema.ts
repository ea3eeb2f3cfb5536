/**
 * The zod fragments every stored document shares. One definition each, so a
 * record, a proposal and a checkpoint agree on what an address is.
 */
import { z } from "zod";

export const addressSchema = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x-prefixed 20-byte address");
export const bytes32Schema = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "must be a 0x-prefixed 32-byte hash");
/** Any 0x-prefixed hex, including "0x". */
export const hexSchema = z.string().regex(/^0x[0-9a-fA-F]*$/, "must be 0x-prefixed hex");
/** Whole bytes of 0x-prefixed hex (calldata, code). */
export const bytesSchema = z.string().regex(/^0x([0-9a-fA-F]{2})*$/, "must be 0x-prefixed hex of whole bytes");
/** A 65-byte ECDSA signature (r, s, v). */
export const signatureSchema = z.string().regex(/^0x[0-9a-fA-F]{130}$/, "must be a 65-byte 0x-prefixed signature");
/** An ISO 8601 time with an offset, as Date#toISOString writes it. */
export const isoTimeSchema = z.string().datetime({ offset: true });
