/**
 * Reads a CanaryRouter's routing from the chain: its code alone, since the
 * router has no storage and no getters (a getter would shadow the same
 * selector of blue and green behind the proxy).
 *
 * Code is a CanaryRouter when it equals the compiled router with its
 * immutables blanked; the immutables are then read at the offsets the
 * compiler recorded (`immutableReferences`, keyed by AST id: ids grow in
 * declaration order, which `IMMUTABLES_IN_DECLARATION_ORDER` names).
 */
import { dataSlice, getAddress, toBeHex, zeroPadValue } from "ethers";

import type { Eip1193Provider } from "../chain/eip1193.js";
import { quantity } from "../common/format.js";
import { shippedArtifacts } from "../packaged-artifacts.js";
import type { CanaryRouting } from "./canary-cohort.js";

export const CANARY_ROUTER_CONTRACT = "CanaryRouter";

/** The router's immutables as declared in contracts/canary/CanaryRouter.sol. */
const IMMUTABLES_IN_DECLARATION_ORDER = ["blue", "green", "bps", "salt", "cohortByOrigin"] as const;

interface RouterLayout {
  /** Runtime code with every immutable zeroed (lower-case hex, no 0x). */
  blanked: string;
  /** Byte offset of each immutable's first use. */
  offsets: Record<(typeof IMMUTABLES_IN_DECLARATION_ORDER)[number], number>;
  all: Array<{ start: number; length: number }>;
  /** Every place each immutable is written. */
  places: Record<(typeof IMMUTABLES_IN_DECLARATION_ORDER)[number], Array<{ start: number; length: number }>>;
}

let layout: Promise<RouterLayout> | undefined;

async function routerLayout(): Promise<RouterLayout> {
  const artifact = (await shippedArtifacts().readArtifact(CANARY_ROUTER_CONTRACT)) as { deployedBytecode: string; immutableReferences?: Record<string, Array<{ start: number; length: number }>> };
  const refs = Object.entries(artifact.immutableReferences ?? {}).sort(([a], [b]) => Number(a) - Number(b));
  if (refs.length !== IMMUTABLES_IN_DECLARATION_ORDER.length) {
    throw new Error(`the ${CANARY_ROUTER_CONTRACT} artifact has ${refs.length} immutables, expected ${IMMUTABLES_IN_DECLARATION_ORDER.length}: rebuild the package`);
  }
  const all = refs.flatMap(([, places]) => places);
  const offsets = Object.fromEntries(IMMUTABLES_IN_DECLARATION_ORDER.map((name, i) => [name, refs[i]![1][0]!.start])) as RouterLayout["offsets"];
  const places = Object.fromEntries(IMMUTABLES_IN_DECLARATION_ORDER.map((name, i) => [name, refs[i]![1]])) as RouterLayout["places"];
  return { blanked: blank(artifact.deployedBytecode, all), offsets, all, places };
}

function blank(code: string, places: Array<{ start: number; length: number }>): string {
  const hex = code.replace(/^0x/, "").toLowerCase().split("");
  for (const { start, length } of places) for (let i = start * 2; i < (start + length) * 2; i++) hex[i] = "0";
  return hex.join("");
}

/** The routing of the CanaryRouter whose runtime code is `code`; undefined when the code is not a CanaryRouter. */
export async function canaryRoutingOfCode(code: string): Promise<CanaryRouting | undefined> {
  const l = await (layout ??= routerLayout().catch((error: unknown) => {
    layout = undefined;
    throw error;
  }));
  if (code.replace(/^0x/, "").length !== l.blanked.length || blank(code, l.all) !== l.blanked) return undefined;
  const word = (name: keyof RouterLayout["offsets"]) => dataSlice(code, l.offsets[name], l.offsets[name] + 32);
  return {
    blue: getAddress(dataSlice(word("blue"), 12)),
    green: getAddress(dataSlice(word("green"), 12)),
    bps: Number(BigInt(word("bps"))),
    salt: word("salt"),
    cohortByOrigin: BigInt(word("cohortByOrigin")) !== 0n,
  };
}

/** The routing of the CanaryRouter at `address` (at `block`, default latest); undefined when it is not one. */
export async function readCanaryRouting(provider: Eip1193Provider, address: string, block: number | "latest" = "latest"): Promise<CanaryRouting | undefined> {
  const code = (await provider.request({ method: "eth_getCode", params: [address, typeof block === "number" ? quantity(block) : block] })) as string;
  return code === "0x" ? undefined : canaryRoutingOfCode(code);
}

/**
 * The runtime code a CanaryRouter deployed with `routing` has: the compiled
 * code with its immutables written in, byte for byte what its constructor
 * would leave (so a fork can hold a router without a deployment transaction).
 */
export async function canaryRouterCode(routing: CanaryRouting): Promise<string> {
  const l = await (layout ??= routerLayout().catch((error: unknown) => {
    layout = undefined;
    throw error;
  }));
  const words: Record<keyof RouterLayout["offsets"], string> = {
    blue: zeroPadValue(getAddress(routing.blue), 32),
    green: zeroPadValue(getAddress(routing.green), 32),
    bps: zeroPadValue(toBeHex(routing.bps), 32),
    salt: routing.salt.toLowerCase(),
    cohortByOrigin: zeroPadValue(routing.cohortByOrigin ? "0x01" : "0x00", 32),
  };
  const hex = l.blanked.split("");
  for (const [name, places] of Object.entries(l.places) as Array<[keyof RouterLayout["offsets"], Array<{ start: number; length: number }>]>) {
    const value = words[name].slice(2);
    for (const { start } of places) for (let i = 0; i < 64; i++) hex[start * 2 + i] = value[i]!;
  }
  return "0x" + hex.join("");
}
