/**
 * The CanaryRouter a proxy runs during a canary step: what its code must be
 * for a given blue, green, share, salt and cohort mode, where the switch puts
 * it (CREATE2, salt zero), which cohort a caller falls in, and, from code
 * read on chain, whether an address is one of our routers and with which
 * immutables. The router has no storage and no functions, so OpenZeppelin's
 * storage validation has nothing to say about it; what makes it safe is
 * that its runtime code is exactly what this package compiled.
 */
import { AbiCoder, ZeroHash, getAddress, getCreate2Address, keccak256 } from "ethers";

import { BlueGreenError } from "../errors.js";
import { shippedArtifacts } from "../packaged-artifacts.js";
import { BPS_SCALE } from "./canary-cohort.js";

export const CANARY_ROUTER_CONTRACT = "CanaryRouter";

/** The router's immutables, in constructor order. */
export interface CanaryRouterArgs {
  blue: string;
  green: string;
  bps: number;
  salt: string;
  cohortByOrigin: boolean;
}

interface RouterArtifact {
  bytecode: string;
  deployedBytecode: string;
  immutableReferences?: Record<string, Array<{ start: number; length: number }>>;
}

let cached: Promise<RouterArtifact> | undefined;

/** The shipped CanaryRouter artifact (creation and runtime code, immutable positions). */
export function loadCanaryRouterArtifact(): Promise<RouterArtifact> {
  cached ??= (shippedArtifacts().readArtifact(CANARY_ROUTER_CONTRACT) as Promise<RouterArtifact>).catch((error: unknown) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

/** Where each immutable sits in the runtime code: one list of offsets per immutable, in declaration order. */
function immutableOffsets(artifact: RouterArtifact): number[][] {
  const refs = artifact.immutableReferences ?? {};
  // Solidity numbers AST nodes in source order, so ascending ids are the declaration order.
  const ids = Object.keys(refs).sort((a, b) => Number(a) - Number(b));
  if (ids.length !== 5 || ids.some((id) => refs[id]!.some((r) => r.length !== 32))) {
    throw new BlueGreenError("BG_CANARY_ROUTER_ARTIFACT", "The CanaryRouter artifact does not list its five immutables. Reinstall hardhat-bluegreen (in its repository: npx hardhat build).");
  }
  return ids.map((id) => refs[id]!.map((r) => r.start));
}

function words(args: CanaryRouterArgs): string[] {
  const coder = AbiCoder.defaultAbiCoder();
  return [
    coder.encode(["address"], [args.blue]),
    coder.encode(["address"], [args.green]),
    coder.encode(["uint256"], [args.bps]),
    coder.encode(["bytes32"], [args.salt]),
    coder.encode(["bool"], [args.cohortByOrigin]),
  ].map((w) => w.slice(2));
}

/** The runtime code a router with these immutables has on chain. */
export async function canaryRouterRuntimeCode(args: CanaryRouterArgs): Promise<string> {
  const artifact = await loadCanaryRouterArtifact();
  const offsets = immutableOffsets(artifact);
  let hex = artifact.deployedBytecode.slice(2);
  words(args).forEach((word, i) => {
    for (const start of offsets[i]!) hex = hex.slice(0, start * 2) + word + hex.slice(start * 2 + 64);
  });
  return `0x${hex}`;
}

/** EXTCODEHASH of a router with these immutables: the value a canary step pins. */
export async function canaryRouterCodehash(args: CanaryRouterArgs): Promise<string> {
  return keccak256(await canaryRouterRuntimeCode(args));
}

/** Where the switch at `switchAddress` deploys (or finds) the router with these immutables. */
export async function canaryRouterAddress(switchAddress: string, args: CanaryRouterArgs): Promise<string> {
  const artifact = await loadCanaryRouterArtifact();
  const constructorArgs = AbiCoder.defaultAbiCoder().encode(
    ["address", "address", "uint16", "bytes32", "bool"],
    [args.blue, args.green, args.bps, args.salt, args.cohortByOrigin],
  );
  return getCreate2Address(switchAddress, ZeroHash, keccak256(artifact.bytecode + constructorArgs.slice(2)));
}

/**
 * The immutables of `code` when it is exactly our compiled CanaryRouter with
 * some immutables filled in; undefined for any other code.
 */
export async function identifyCanaryRouter(code: string): Promise<CanaryRouterArgs | undefined> {
  const artifact = await loadCanaryRouterArtifact();
  if (code.length !== artifact.deployedBytecode.length) return undefined;
  const offsets = immutableOffsets(artifact);
  const word = (i: number) => code.slice(2 + offsets[i]![0]! * 2, 2 + offsets[i]![0]! * 2 + 64);
  const coder = AbiCoder.defaultAbiCoder();
  let args: CanaryRouterArgs;
  try {
    const bps = BigInt(`0x${word(2)}`);
    const mode = BigInt(`0x${word(4)}`);
    if (bps > BigInt(BPS_SCALE) || mode > 1n) return undefined;
    args = {
      blue: getAddress(coder.decode(["address"], `0x${word(0)}`)[0] as string),
      green: getAddress(coder.decode(["address"], `0x${word(1)}`)[0] as string),
      bps: Number(bps),
      salt: `0x${word(3)}`,
      cohortByOrigin: mode === 1n,
    };
  } catch {
    return undefined;
  }
  // Same length and same immutables is not enough: every other byte must be ours too.
  return (await canaryRouterRuntimeCode(args)).toLowerCase() === code.toLowerCase() ? args : undefined;
}

