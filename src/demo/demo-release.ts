/**
 * The release steps as the demo runs them: the same library functions the
 * `bg:*` tasks call (stage, attest, gates, propose, approve, switch,
 * monitor, finalize), bound to the demo's chains and people. Each returns
 * the facts the narration and the summary need.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";

import type { Signer } from "ethers";
import { getAddress } from "ethers";

import { approveCanaryStep, proposeCanaryStep, switchCanaryStep } from "../approval/canary-switch.js";
import { approveRelease, proposeRelease, switchRelease } from "../approval/release-switch.js";
import { finalizeRelease } from "../approval/release-window.js";
import { BlueGreenError } from "../errors.js";
import { attestRelease } from "../gates/attest-release.js";
import type { GatesConfig } from "../gates/config.js";
import { evaluateGates } from "../gates/evaluate-gates.js";
import { type RecordedGates, recordGatesRun } from "../gates/gates-step.js";
import type { LogLine, MonitorLog } from "../monitor/json-log.js";
import { type MonitorOutcome, monitorRelease } from "../monitor/monitor-release.js";
import { shippedArtifacts } from "../packaged-artifacts.js";
import type { ReleaseRecord } from "../release/record.js";
import { IMPLEMENTATION_SLOT } from "../stage/read-proxy.js";
import { stageRelease } from "../stage/stage-release.js";
import { readSwitchFile } from "../switch/switch-file.js";
import { toJson } from "../ui/output.js";
import { DEMO_CANARY, TESTNET_BAKE_DAYS, TESTNET_NETWORK, demoMonitorConfig, testnetGates } from "./demo-config.js";
import { type DemoChain, moveClock, releaseContext } from "./demo-chains.js";
import { TOKEN_ABI } from "./demo-traffic.js";

export interface DemoRelease {
  id: string;
  contract: string;
  reference: string;
}

/** Stages green on a chain from the package's shipped artifacts (nothing is compiled). */
export async function stageOn(chain: DemoChain, release: DemoRelease): Promise<ReleaseRecord> {
  const { record } = await stageRelease({
    provider: chain.rpc,
    signer: chain.deployer,
    artifacts: shippedArtifacts(),
    store: chain.store,
    networkName: chain.network,
    config: { unsafeAllow: [], unsafeAllowRenames: false },
    proxy: chain.proxy,
    contract: release.contract,
    reference: release.reference,
    releaseId: release.id,
  });
  return record;
}

export interface TestnetBake {
  chainId: number;
  switchAddress: string;
  promoteTx: string;
  /** The release closed on the testnet first, when one was live there. */
  finalizedBefore?: string;
  /** Chain time moved forward after the promotion, in seconds. */
  movedSeconds: number;
}

/**
 * Runs the same release through the testnet's switch, then lets the testnet
 * clock run the bake time. A release still live there is finalized first
 * (its window is over by then), as a team would before the next one.
 */
export async function bakeOnTestnet(testnet: DemoChain, release: DemoRelease, previous: string | undefined, projectRoot: string): Promise<TestnetBake> {
  const gates = testnetGates(path.join(projectRoot, "audits"));
  const ctx = await releaseContext(testnet, projectRoot, gates);
  let finalizedBefore: string | undefined;
  if (previous !== undefined) {
    const done = await finalizeRelease(ctx, previous, { signer: testnet.deployer });
    if (done.status !== "done") throw new BlueGreenError("BG_DEMO_UNEXPECTED", `The testnet release ${previous} could not be finalized.`);
    finalizedBefore = done.txHash;
  }
  const record = await stageOn(testnet, release);
  await gatesOn(testnet, record.id, gates, projectRoot, undefined);
  const deployer = await testnet.deployer.getAddress();
  await proposeRelease(ctx, release.id, { actor: deployer });
  // The testnet's approver is the deployer account itself: executing is approving.
  const live = await switchRelease(ctx, release.id, { executor: testnet.deployer });
  if (live.status !== "live") throw new BlueGreenError("BG_DEMO_UNEXPECTED", `The testnet switch of ${release.id} did not go live.`);
  const movedSeconds = TESTNET_BAKE_DAYS * 86_400 + 60;
  await moveClock(testnet, movedSeconds);
  return {
    chainId: testnet.chainId,
    switchAddress: testnet.switchAddress,
    promoteTx: live.txHash,
    ...(finalizedBefore !== undefined ? { finalizedBefore } : {}),
    movedSeconds,
  };
}

export interface Attestations {
  auditors: string[];
  files: string[];
  report: string;
}

/** Each demo auditor signs an attestation of green's codehash over the same report. */
export async function attestAudits(chain: DemoChain, release: DemoRelease, record: ReleaseRecord, auditors: Signer[], projectRoot: string): Promise<Attestations> {
  const auditsDir = path.join(projectRoot, "audits");
  const report = path.join(auditsDir, `${release.contract}-audit-report.md`);
  await writeFile(
    report,
    `# Audit of ${release.contract} (demo)\n\nGreen codehash: ${record.green.codehash}\n\n` +
      "Scope: the diff from the previous implementation. No open findings.\n\n" +
      "This report was written by `npx hardhat bg:demo`; its auditors are demo keys.\n",
  );
  const files: string[] = [];
  const addresses: string[] = [];
  for (const auditor of auditors) {
    const { file, attestation } = await attestRelease({
      store: chain.store,
      release: release.id,
      reportFile: report,
      reportUri: new URL(`file://${report}`).href,
      findings: { critical: 0, high: 0, medium: 0, low: 0 },
      signer: auditor,
      dir: auditsDir,
      projectRoot,
    });
    files.push(file);
    addresses.push(attestation.auditor);
  }
  return { auditors: addresses, files, report };
}

/** Evaluates and records the gates of a release (what `bg:gates` does), on the record as it is now. */
export async function gatesOn(chain: DemoChain, releaseId: string, config: GatesConfig, projectRoot: string, testnet: DemoChain | undefined): Promise<RecordedGates> {
  const record = await chain.store.get(chain.chainId, releaseId);
  const results = await evaluateGates(record, config, {
    projectRoot,
    releaseDir: chain.store.releaseDir(chain.chainId, record.id),
    connection: undefined,
    openNetwork: async (name) => {
      if (name !== TESTNET_NETWORK || testnet === undefined) throw new BlueGreenError("BG_DEMO_UNEXPECTED", `The demo has no network "${name}".`);
      return { provider: testnet.rpc, close: async () => {} };
    },
    findSwitch: async (chainId) => {
      const file = await readSwitchFile(chain.store, chainId);
      return file === undefined ? undefined : { address: file.address, blockNumber: file.blockNumber, source: `records/${chainId}/switch.json` };
    },
    // Green comes from the shipped artifacts (see stageOn), so that is "the project's build" the gates re-check.
    chain: { provider: chain.rpc, artifacts: shippedArtifacts(), store: chain.store, stageConfig: { unsafeAllow: [], unsafeAllowRenames: false }, buildProfile: "default" },
    monitor: demoMonitorConfig(),
  });
  return recordGatesRun(chain.store, record, results, { actor: "bg:demo" });
}

export interface Switched {
  safeTxHash: string;
  safeNonce: string;
  evidenceHash: string;
  signers: string[];
  txHash: string;
  windowEnd: string;
  summaryFile: string;
}

/** Proposes the promote to the Safe, collects two owners' signatures, and executes it. */
export async function proposeApproveSwitch(chain: DemoChain, release: DemoRelease, gates: GatesConfig, projectRoot: string): Promise<Switched> {
  const ctx = await releaseContext(chain, projectRoot, gates);
  const proposed = await proposeRelease(ctx, release.id, { actor: await chain.deployer.getAddress() });
  if (proposed.proposal.safe === undefined) throw new BlueGreenError("BG_DEMO_UNEXPECTED", "The demo's mainnet approver should be the Safe.");
  const signers: string[] = [];
  for (const owner of chain.owners.slice(0, 2)) {
    const approved = await approveRelease(ctx, release.id, { signer: owner });
    signers.push(approved.added);
  }
  const live = await switchRelease(ctx, release.id, { executor: chain.deployer });
  if (live.status !== "live") throw new BlueGreenError("BG_DEMO_UNEXPECTED", `${release.id} still misses ${live.missing} signature(s).`);
  return {
    safeTxHash: proposed.proposal.safe.safeTxHash,
    safeNonce: proposed.proposal.safe.tx.nonce,
    evidenceHash: proposed.evidenceHash,
    signers,
    txHash: live.txHash,
    windowEnd: live.windowEnd,
    summaryFile: proposed.summaryFile,
  };
}

export interface CanarySwitched {
  step: string;
  bps: number;
  router: string;
  safeTxHash: string;
  evidenceHash: string;
  signers: string[];
  txHash: string;
  windowEnd: string;
  summaryFile: string;
}

/**
 * The first canary step through the Safe, as `bg:propose/approve/switch
 * --step` do it: the switch deploys the step's router and points the proxy
 * at it.
 */
export async function proposeApproveCanaryStep(chain: DemoChain, release: DemoRelease, gates: GatesConfig, projectRoot: string): Promise<CanarySwitched> {
  const ctx = await releaseContext(chain, projectRoot, gates);
  const step = DEMO_CANARY.steps[0]!;
  const proposed = await proposeCanaryStep(ctx, release.id, { step: step.name, actor: await chain.deployer.getAddress(), config: DEMO_CANARY });
  if (proposed.proposal.safe === undefined || proposed.router === undefined) throw new BlueGreenError("BG_DEMO_UNEXPECTED", "The demo's canary step should go through the Safe, with a router.");
  const signers: string[] = [];
  for (const owner of chain.owners.slice(0, 2)) {
    const approved = await approveCanaryStep(ctx, release.id, step.name, { signer: owner });
    signers.push(approved.added);
  }
  const live = await switchCanaryStep(ctx, release.id, step.name, { executor: chain.deployer });
  if (live.status !== "live") throw new BlueGreenError("BG_DEMO_UNEXPECTED", `${release.id} step ${step.name} still misses ${live.missing} signature(s).`);
  return {
    step: step.name,
    bps: step.bps,
    router: live.implementation,
    safeTxHash: proposed.proposal.safe.safeTxHash,
    evidenceHash: proposed.evidenceHash,
    signers,
    txHash: live.txHash,
    windowEnd: live.windowEnd,
    summaryFile: proposed.summaryFile,
  };
}

export interface Watched {
  outcome: MonitorOutcome;
  logFile: string;
  lines: LogLine[];
}

/**
 * Runs the monitor on the release (what `bg:monitor` does), keeping its JSON
 * log lines in a file beside the record. With a guardian it rolls back on
 * a failed analysis.
 */
export function watch(chain: DemoChain, releaseId: string, options: { once?: boolean; guardian?: Signer; signal?: AbortSignal }): Promise<Watched> {
  const lines: LogLine[] = [];
  const log: MonitorLog = (level, event, fields = {}) => {
    lines.push({ ts: new Date().toISOString(), level, event, ...fields });
  };
  const logFile = path.join(chain.store.releaseDir(chain.chainId, releaseId), "monitor-log.jsonl");
  const run = async (): Promise<Watched> => {
    try {
      const outcome = await monitorRelease({
        provider: chain.rpc,
        store: chain.store,
        chainId: chain.chainId,
        releaseId,
        config: demoMonitorConfig(),
        abi: TOKEN_ABI,
        ...(options.once === true ? { once: true } : { durationSeconds: 120 }),
        ...(options.guardian !== undefined ? { autoRollback: { guardian: options.guardian } } : {}),
        log,
        ...(options.signal !== undefined ? { signal: options.signal } : {}),
      });
      return { outcome, logFile, lines };
    } finally {
      await writeFile(logFile, lines.map((l) => toJson(l)).join("\n") + "\n");
    }
  };
  return run();
}

/** The implementation the proxy's ERC-1967 slot holds. */
export async function implementationOf(chain: DemoChain): Promise<string> {
  const word = (await chain.rpc.request({ method: "eth_getStorageAt", params: [chain.proxy, IMPLEMENTATION_SLOT, "latest"] })) as string;
  return getAddress("0x" + word.slice(-40));
}
