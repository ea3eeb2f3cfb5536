/**
 * Which implementation a caller runs during a canary: the CanaryRouter's own
 * formula, in TypeScript, so replay and monitor put every transaction in the
 * cohort the router put it in.
 *
 *   green  iff  uint256(keccak256(abi.encodePacked(salt, caller))) % 10000 < bps
 *
 * The caller is `tx.origin` when the router cohorts by origin (its default),
 * else the proxy's `msg.sender`. Pure: no chain, no Hardhat.
 */
import { getAddress, isHexString, solidityPackedKeccak256 } from "ethers";

/** The two cohorts of a canary: callers routed to green, and the rest, who stay on blue. */
export type Cohort = "green" | "blue";

/** Basis points: the router's share is out of 10,000. */
export const BPS_SCALE = 10_000;

/** What decides a caller's cohort: the router's immutables (blue and green name the implementations). */
export interface CanaryRouting {
  blue: string;
  green: string;
  /** Share routed to green, in basis points (0..10000). */
  bps: number;
  /** bytes32, 0x-prefixed. */
  salt: string;
  /** True: the caller is tx.origin; false: the proxy's msg.sender. */
  cohortByOrigin: boolean;
}

/** The caller's position in 0..9999: the router's `keccak256(abi.encodePacked(salt, caller)) % 10000`. */
export function cohortSlot(salt: string, caller: string): number {
  if (!isHexString(salt, 32)) throw new Error(`a canary salt is 32 bytes (0x + 64 hex digits), got ${salt}`);
  return Number(BigInt(solidityPackedKeccak256(["bytes32", "address"], [salt, getAddress(caller)])) % BigInt(BPS_SCALE));
}

/** The cohort the router puts `caller` in, for a share of `bps` basis points. */
export function cohortOf(salt: string, caller: string, bps: number): Cohort {
  if (!Number.isInteger(bps) || bps < 0 || bps > BPS_SCALE) throw new Error(`a canary share is 0..${BPS_SCALE} basis points, got ${bps}`);
  return cohortSlot(salt, caller) < bps ? "green" : "blue";
}

/**
 * The cohort of a call, from who sent the transaction and who called the
 * proxy. `sender` is undefined when only the transaction is known (a call
 * seen through the proxy's logs): under msg.sender cohorting its cohort is
 * then unknown.
 */
export function cohortOfCall(routing: CanaryRouting, call: { origin: string; sender?: string }): Cohort | undefined {
  const caller = routing.cohortByOrigin ? call.origin : call.sender;
  return caller === undefined ? undefined : cohortOf(routing.salt, caller, routing.bps);
}
