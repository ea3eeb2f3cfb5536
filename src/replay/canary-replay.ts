/**
 * `bg:replay --canary <bps>`: the green world runs with the CanaryRouter in
 * place, as the live canary would. The router (its runtime code, immutables
 * written in: no deployment transaction on the fork) goes where green would
 * go, green's own code beside it, so each target runs blue directly in the
 * blue world and through the router in the other.
 *
 * The report then shows the split the live canary would make (each
 * transaction's cohort, by the router's formula, and which implementation
 * really ran behind the router) and the router's gas overhead: for a caller
 * of blue's cohort the same transaction ran blue directly and blue through
 * the router, so the difference in gasUsed is the router's cost.
 */
import { getAddress, keccak256, toUtf8Bytes } from "ethers";

import { BlueGreenError } from "../errors.js";
import { type CanaryRouting, type Cohort, BPS_SCALE, cohortOfCall } from "../switch/canary-cohort.js";
import { canaryRouterCode } from "../switch/canary-router-code.js";
import type { TxComparison } from "./types.js";

/** What `--canary` asks for: the share, and the salt and cohort mode of the live canary. */
export interface CanaryReplayOptions {
  bps: number;
  salt: string;
  cohortByOrigin: boolean;
}

/** The router in the green world, and green's own code that it routes to. */
export interface CanaryWorld {
  routing: CanaryRouting;
  router: { address: string; code: string };
  green: { address: string; code: string };
}

export interface CanaryReplayTx {
  hash: string;
  from?: string;
  /** The cohort by the router's formula; undefined when the caller is not known (msg.sender mode, a call from a contract). */
  cohort?: Cohort;
  /** The implementation that really ran behind the router in the replay. */
  ran: Cohort | "none";
  blueGas: string;
  routedGas: string;
}

export interface CanaryReplaySummary {
  bps: number;
  salt: string;
  cohortBy: "tx.origin" | "msg.sender";
  router: string;
  /** Per cohort: transactions, and those whose green-world observation differs from blue's. */
  cohorts: Record<Cohort, { txs: number; diverged: number }>;
  /** The share of compared transactions that ran green behind the router. */
  observedShare: number;
  /** Transactions whose caller the formula and the replay disagree on (should be none). */
  mismatched: string[];
  /** gasUsed through the router minus directly on blue, over the blue cohort's transactions. */
  routerOverhead: { txs: number; min?: number; median?: number; max?: number };
  txs: CanaryReplayTx[];
}

/** Checks `--canary` and builds the router that goes on the fork. */
export async function canaryWorld(options: CanaryReplayOptions, release: { id: string; blue: { address: string }; green: { address: string } }, greenCode: string): Promise<CanaryWorld> {
  if (!Number.isInteger(options.bps) || options.bps < 1 || options.bps >= BPS_SCALE) {
    throw new BlueGreenError("BG_REPLAY_CANARY_SHARE", `--canary ${options.bps} is not a canary share: give basis points from 1 to 9999 (500 is 5% of callers on green).`);
  }
  const routing: CanaryRouting = { blue: getAddress(release.blue.address), green: getAddress(release.green.address), bps: options.bps, salt: options.salt, cohortByOrigin: options.cohortByOrigin };
  const code = await canaryRouterCode(routing);
  // Where the router sits on the fork matters to nobody (it is only ever delegated to): an address no account holds.
  const address = getAddress("0x" + keccak256(toUtf8Bytes(`hardhat-bluegreen canary router ${keccak256(code)}`)).slice(-40));
  return { routing, router: { address, code }, green: { address: routing.green, code: greenCode } };
}

/** The salt of a release's canary when none is configured: derived from the release id, so every step keeps its cohorts. */
export function defaultCanarySalt(releaseId: string): string {
  return keccak256(toUtf8Bytes(`hardhat-bluegreen canary ${releaseId}`));
}

/** The split and the router's overhead, from the replay's comparisons (green's side ran through the router). */
export function summarizeCanary(world: CanaryWorld, comparisons: TxComparison[], proxy: string): CanaryReplaySummary {
  const green = world.routing.green.toLowerCase();
  const blue = world.routing.blue.toLowerCase();
  const cohorts: CanaryReplaySummary["cohorts"] = { green: { txs: 0, diverged: 0 }, blue: { txs: 0, diverged: 0 } };
  const txs: CanaryReplayTx[] = [];
  const mismatched: string[] = [];
  const overhead: number[] = [];
  let ranGreen = 0;
  for (const c of comparisons) {
    const direct = c.to?.toLowerCase() === proxy.toLowerCase();
    const cohort = c.from === undefined ? undefined : cohortOfCall(world.routing, { origin: c.from, ...(direct ? { sender: c.from } : {}) });
    const ran: CanaryReplayTx["ran"] = c.green.delegates.includes(green) ? "green" : c.green.delegates.includes(blue) ? "blue" : "none";
    if (ran === "green") ranGreen++;
    if (cohort !== undefined && ran !== "none" && cohort !== ran) mismatched.push(c.hash);
    const side = cohort ?? (ran === "none" ? undefined : ran);
    if (side !== undefined) {
      cohorts[side].txs++;
      if (c.differences.length > 0) cohorts[side].diverged++;
    }
    if (ran === "blue" && c.blue.status === "success" && c.green.status === "success") overhead.push(Number(c.green.gasUsed - c.blue.gasUsed));
    txs.push({ hash: c.hash, ...(c.from !== undefined ? { from: c.from } : {}), ...(cohort !== undefined ? { cohort } : {}), ran, blueGas: c.blue.gasUsed.toString(), routedGas: c.green.gasUsed.toString() });
  }
  return {
    bps: world.routing.bps,
    salt: world.routing.salt,
    cohortBy: world.routing.cohortByOrigin ? "tx.origin" : "msg.sender",
    router: world.router.address,
    cohorts,
    observedShare: comparisons.length === 0 ? 0 : ranGreen / comparisons.length,
    mismatched,
    routerOverhead:
      overhead.length === 0
        ? { txs: 0 }
        : { txs: overhead.length, min: Math.min(...overhead), median: median(overhead), max: Math.max(...overhead) },
    txs,
  };
}

/** The lower median (a value really measured). */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length / 2) - 1]!;
}
