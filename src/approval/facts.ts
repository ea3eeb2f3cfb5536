/**
 * On-chain facts a proposal rests on, pinned when it is made and read again
 * before each signature and before execution. If any changed (another
 * upgrade, a new approver, a different green), the proposal is stale and
 * nothing is signed or sent.
 *
 * Facts are plain data (an eth_call, a code hash, a storage slot), so they
 * survive in proposal.json and a signer can re-check each one with their own
 * node, e.g. `cast call <to> <data>`, without trusting the proposer.
 */
import { AbiCoder, type Provider, keccak256 } from "ethers";
import { z } from "zod";

import { addressSchema, bytes32Schema, hexSchema } from "../common/schema.js";


export const factSchema = z.discriminatedUnion("kind", [
  z
    .object({
      kind: z.literal("call"),
      /** What the fact means, for people. */
      label: z.string(),
      to: addressSchema,
      data: hexSchema,
      /** Raw return data when the proposal was made. */
      expected: hexSchema,
      /** ABI types of the return data, to show values instead of hex. */
      returns: z.array(z.string()),
    })
    .strict(),
  z.object({ kind: z.literal("codehash"), label: z.string(), address: addressSchema, expected: bytes32Schema }).strict(),
  z.object({ kind: z.literal("storage"), label: z.string(), address: addressSchema, slot: bytes32Schema, expected: bytes32Schema }).strict(),
]);

export type Fact = z.infer<typeof factSchema>;

/** A fact to pin: everything but its value, which is read from the chain. */
export type FactQuery =
  | Omit<Extract<Fact, { kind: "call" }>, "expected">
  | Omit<Extract<Fact, { kind: "codehash" }>, "expected">
  | Omit<Extract<Fact, { kind: "storage" }>, "expected">;

export interface FactDrift {
  label: string;
  expected: string;
  actual: string;
}

/** Reads the current value of a fact (raw hex). */
export async function readFact(provider: Provider, fact: FactQuery): Promise<string> {
  switch (fact.kind) {
    case "call":
      return (await provider.call({ to: fact.to, data: fact.data })).toLowerCase();
    case "codehash":
      return keccak256(await provider.getCode(fact.address));
    case "storage":
      return (await provider.getStorage(fact.address, fact.slot)).toLowerCase();
  }
}

/** Reads each query now and returns it pinned to that value. */
export async function pinFacts(provider: Provider, queries: readonly FactQuery[]): Promise<Fact[]> {
  return Promise.all(queries.map(async (q) => ({ ...q, expected: await readFact(provider, q) }) as Fact));
}

/** Re-reads every fact; returns the ones whose value changed, shown for people. */
export async function checkFacts(provider: Provider, facts: readonly Fact[]): Promise<FactDrift[]> {
  const drifts: FactDrift[] = [];
  for (const fact of facts) {
    const actual = await readFact(provider, fact);
    if (actual.toLowerCase() !== fact.expected.toLowerCase()) {
      drifts.push({ label: fact.label, expected: showFactValue(fact, fact.expected), actual: showFactValue(fact, actual) });
    }
  }
  return drifts;
}

/** A fact's value as people read it: decoded ABI values for calls, hex otherwise. */
export function showFactValue(fact: Fact, value: string): string {
  if (fact.kind !== "call" || fact.returns.length === 0) return value;
  try {
    const decoded = AbiCoder.defaultAbiCoder().decode(fact.returns, value);
    return fact.returns.length === 1 ? showValue(decoded[0]) : showValue([...decoded]);
  } catch {
    return value;
  }
}

function showValue(value: unknown): string {
  if (Array.isArray(value)) return "(" + value.map(showValue).join(", ") + ")";
  if (value !== null && typeof value === "object" && "toArray" in value) {
    return showValue((value as { toArray(): unknown[] }).toArray());
  }
  return String(value);
}

/** A command a signer can run against their own node to read the fact themselves. */
export function factCheckCommand(fact: Fact): string {
  switch (fact.kind) {
    case "call":
      return `cast call ${fact.to} ${fact.data}`;
    case "codehash":
      return `cast codehash ${fact.address}`;
    case "storage":
      return `cast storage ${fact.address} ${fact.slot}`;
  }
}
