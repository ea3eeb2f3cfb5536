/**
 * Everything the demo would otherwise read from hardhat.config.ts, built in
 * code: its chains, its people (keys), its gates, its monitor analysis and
 * its switch timings. The demo never reads the user's config.
 */
import path from "node:path";

import { Wallet, id as keccakText } from "ethers";

import type { GatesConfig } from "../gates/config.js";
import { type MonitorConfig, resolveMonitorConfig } from "../monitor/config.js";
import type { CanaryConfig } from "../waves/canary-config.js";

/** The local "mainnet" keeps Hardhat's usual chain id; the testnet takes Sepolia's. */
export const MAINNET_CHAIN_ID = 31337;
export const TESTNET_CHAIN_ID = 11155111;
export const TESTNET_NETWORK = "demo-testnet";
export const MAINNET_NETWORK = "demo-mainnet";

/** Funded accounts of each node: a deployer, three Safe owners, a guardian, and the token's holders. */
export const NODE_ACCOUNTS = 82;
export const ROLE_ACCOUNTS = { deployer: 0, owners: [1, 2, 3], guardian: 4, firstHolder: 5 } as const;

/** The switch's timings: a guardian's rollback can be vetoed for an hour; the window stays open a week. */
export const ROLLBACK_DELAY = 3600;
export const ROLLBACK_WINDOW = 7 * 24 * 3600;
export const TESTNET_BAKE_DAYS = 14;

export const RELEASES = {
  good: { id: "demo-token-v2", contract: "DemoTokenV2", reference: "DemoTokenV1" },
  buggy: { id: "demo-token-v3", contract: "DemoTokenV3", reference: "DemoTokenV2" },
} as const;

/** Transactions of traffic: before act one (what gets replayed), and while each green is watched. */
export const TRAFFIC = { recent: 300, actOneLive: 100, actTwoLive: 100 } as const;

/**
 * The demo's two auditors. Their keys are derived from public strings: they
 * sign demo attestations and nothing else, and must never hold funds.
 */
export function demoAuditors(): Wallet[] {
  return [1, 2].map((n) => new Wallet(keccakText(`hardhat-bluegreen demo auditor ${n}`)));
}

/**
 * The gates of the mainnet release. `skipReplay` is the demo's explicit
 * skip: the replay gate stays in the evidence but only as advisory
 * (`required: false`), exactly what a team would write in
 * `blueGreen.gates.replay.required` to push a release past a failing replay.
 */
export function mainnetGates(options: { auditsDir: string; auditors: string[]; replay: boolean; skipReplay?: boolean; guardian?: string }): GatesConfig {
  return {
    audits: { min: 2, auditors: options.auditors, dir: options.auditsDir, required: true },
    testnet: { network: TESTNET_NETWORK, minDays: TESTNET_BAKE_DAYS, minTxs: 0, fromBlock: 0, maxScanBlocks: 5_000, required: true },
    ...(options.replay ? { replay: { max: 0, minTxs: 1, minFidelity: 1, required: options.skipReplay !== true } } : {}),
    upgradeSafety: { required: true },
    rollbackSafety: { required: false },
    source: { allowMetadataMismatch: false, required: true },
    ...(options.guardian !== undefined ? { observability: { guardian: options.guardian, required: true } } : {}),
    // The demo's nodes sign for their own unlocked accounts: no key is written anywhere.
    secrets: { required: true, networks: { [MAINNET_NETWORK]: { kind: "remote" }, [TESTNET_NETWORK]: { kind: "remote" } } },
    custom: [],
    auditsDir: options.auditsDir,
  };
}

/** The testnet release only needs stage's own checks to be promoted there. */
export function testnetGates(auditsDir: string): GatesConfig {
  return { upgradeSafety: { required: true }, custom: [], auditsDir };
}

/** When a window of the revert rate fails: above 10%, or 5 points above blue's own rate. */
export const DEMO_REVERT_CONDITION = "result > 0.1 || (hasBaseline && result > baseline + 0.05)";
/** During the canary: green's cohort's revert rate (`result`) against blue's cohort's (`baseline`), same blocks. */
export const DEMO_CANARY_CONDITION = "result > baseline + 0.02";

/**
 * Act two's canary: one step of 5% of callers (by tx.origin, salt derived
 * from the release id), then green. The demo's 77 holders put 3 on green.
 */
/** What each holder pays the next during act two's canary: above the buggy cap (1,000 DMO), far below the real one. */
export const CANARY_PAYMENT = 5_000;

export const DEMO_CANARY: CanaryConfig = {
  steps: [
    { name: "5%", bps: 500 },
    { name: "green", bps: 10_000 },
  ],
  salt: undefined,
  cohortByOrigin: true,
};

/**
 * The monitor's analysis: the revert rate over windows of 20 blocks, judged
 * absolutely and against blue's baseline; gas and request rate reported
 * only. Three healthy windows make the analysis Successful.
 */
export function demoMonitorConfig(): MonitorConfig {
  return resolveMonitorConfig({
    confirmations: 0,
    interval: "20 blocks",
    pollInterval: "100ms",
    batchBlocks: 50,
    baseline: { source: "auto", blocks: 200 },
    metrics: [
      { name: "revert-rate", kind: "revertRate", count: 3, failureCondition: DEMO_REVERT_CONDITION },
      { name: "gas-p95", kind: "gas", quantile: 0.95, dryRun: true, failureCondition: "hasBaseline && result > baseline * 1.25" },
      { name: "request-rate", kind: "requestRate", dryRun: true },
    ],
    // Act two's canary: green's cohort against blue's over the same blocks.
    canary: {
      metrics: [
        { name: "canary-revert-rate", kind: "revertRate", failureCondition: DEMO_CANARY_CONDITION },
        { name: "canary-reverts-judge", kind: "mannWhitney", of: "reverts", confidence: 0.95, minSamples: 3 },
      ],
    },
    rpc: { timeout: "10s", attempts: 3, backoff: "100ms", maxBackoff: "1s" },
  });
}

/** The run's folders, all under one fresh folder of the project's cache. */
export interface DemoPaths {
  run: string;
  records: string;
  audits: string;
  nodes: string;
}

export function demoPaths(cacheDir: string, now: Date = new Date()): DemoPaths {
  const stamp = now.toISOString().replace(/[:.]/g, "-");
  const run = path.join(cacheDir, "bluegreen-demo", `${stamp}-${process.pid}`);
  return { run, records: path.join(run, "records"), audits: path.join(run, "audits"), nodes: path.join(run, "nodes") };
}
