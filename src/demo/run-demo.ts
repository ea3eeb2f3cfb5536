/**
 * `npx hardhat bg:demo`: a whole blue-green release on local chains, with
 * nothing to configure.
 *
 * - Setup: a "mainnet" and a testnet (two `hardhat node` processes), a Safe
 *   2-of-3, the switch, DemoTokenV1 behind a transparent proxy, traffic.
 * - Act one: DemoTokenV2 is staged, replayed, gated (audits, testnet bake,
 *   replay), approved by two Safe owners, switched, monitored, finalized.
 * - Act two: DemoTokenV3 carries a bug. The replay catches it and the gates
 *   refuse the proposal; with the replay skipped on purpose, a 5% canary
 *   step goes through (the proxy runs a CanaryRouter: 95% of callers stay on
 *   blue), the monitor compares green's cohort with blue's over the same
 *   blocks, sees green's reverts and rolls back through the guardian's
 *   timelocked path.
 *
 * Every step calls the same library functions as the `bg:*` tasks, and
 * writes its records into a fresh folder. The nodes are stopped at the end,
 * on errors and on Ctrl-C.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";

import { readStep } from "../release/steps.js";
import { proposeRelease } from "../approval/release-switch.js";
import { finalizeRelease } from "../approval/release-window.js";
import { BlueGreenError, errorMessage } from "../errors.js";
import type { GatesConfig } from "../gates/config.js";
import type { RecordedGates } from "../gates/gates-step.js";
import { type ReleaseRecord, transition } from "../release/record.js";
import type { OpenFork } from "../replay/replay-release.js";
import { reportCounts, type ReplayReport } from "../replay/report.js";
import { readCheckpoint } from "../monitor/checkpoint.js";
import { RELEASE_SUBJECT } from "../monitor/monitor-release.js";
import { readProxyRelease } from "../switch/read-switch.js";
import {
  MAINNET_CHAIN_ID,
  CANARY_PAYMENT,
  DEMO_CANARY_CONDITION,
  DEMO_REVERT_CONDITION,
  NODE_ACCOUNTS,
  RELEASES,
  ROLLBACK_DELAY,
  ROLLBACK_WINDOW,
  TESTNET_BAKE_DAYS,
  TESTNET_CHAIN_ID,
  TRAFFIC,
  demoAuditors,
  demoPaths,
  mainnetGates,
} from "./demo-config.js";
import { type DemoChain, type MainnetChain, moveClock, releaseContext, setUpMainnet, setUpTestnet, tokenVersion } from "./demo-chains.js";
import { days, gateList, heading, percent, seconds, short, shownPath, stepLine, tokens } from "./demo-narration.js";
import {
  type CanarySwitched,
  type DemoRelease,
  attestAudits,
  bakeOnTestnet,
  gatesOn,
  implementationOf,
  proposeApproveCanaryStep,
  proposeApproveSwitch,
  stageOn,
  watch,
} from "./demo-release.js";
import { replayTraffic } from "./demo-replay.js";
import { TOKEN_ABI, type TrafficSummary, fundHolders, payEveryHolder, sendTraffic } from "./demo-traffic.js";
import { cohortOf } from "../switch/canary-cohort.js";
import { readCanaryStep } from "../waves/canary-step.js";
import { type LocalNode, startLocalNode, stopAllLocalNodes, stopNodesOnSignals } from "./local-node.js";

export interface DemoOptions {
  /** The project's cache folder: the run's folder is made under it. */
  cacheDir: string;
  /** Opens the replay's in-process forks (the Hardhat binding gives it). */
  openFork: OpenFork;
  /** One line of narration. */
  log: (line: string) => void;
}

export interface ReplayFigures {
  txs: number;
  divergences: number;
  divergenceKinds: string[];
  fidelity: { matched: number; total: number };
  mode: string;
  fromBlock: number;
  toBlock: number;
  txPerSecond: number;
  report: string;
  markdown: string;
}

export interface GatesFigures {
  ok: boolean;
  state: string;
  evidenceHash: string;
  results: Array<{ name: string; status: string; required: boolean; detail: string }>;
}

export interface SwitchFigures {
  safeTxHash: string;
  safeNonce: string;
  evidenceHash: string;
  approvals: string[];
  txHash: string;
  windowEnd: string;
  version: string;
  /** The proposal's summary for signers (summary.md beside the record). */
  summaryFile: string;
}

export interface CanaryFigures extends CanarySwitched {
  callers: number;
  /** Holders the router sends to green. */
  greenCallers: string[];
  /** version() as a caller of each cohort sees it. */
  versions: { blue: string; green: string };
}

export interface DemoSummary {
  ok: boolean;
  runDir: string;
  records: string;
  durationSeconds: number;
  nodes: Array<{ role: string; chainId: number; url: string; pid: number; stopped: boolean }>;
  setup: {
    safe: { address: string; owners: string[]; threshold: number };
    switch: { address: string; approver: string; guardian: string; rollbackDelay: number; rollbackWindow: number };
    token: { proxy: string; blue: string; adoptionSafeTxHash: string };
    testnet: { switch: string; proxy: string };
    traffic: TrafficSummary;
  };
  actOne: {
    release: string;
    green: { contract: string; address: string; codehash: string };
    replay: ReplayFigures;
    testnet: { promoteTx: string; bakeDays: number };
    gates: GatesFigures;
    switch: SwitchFigures;
    traffic: TrafficSummary;
    monitor: { verdict: string; ok: boolean; revertRate?: number };
    finalizeTx: string;
    state: string;
  };
  actTwo: {
    release: string;
    green: { contract: string; address: string; codehash: string };
    replay: ReplayFigures;
    testnet: { promoteTx: string; bakeDays: number };
    gates: GatesFigures;
    proposalRefused: string;
    replaySkip: ReplaySkip;
    gatesAfterSkip: GatesFigures;
    canary: CanaryFigures;
    /** Every holder paid the next during the canary: who reverted. */
    payday: TrafficSummary & { revertedFrom: string[] };
    traffic: TrafficSummary;
    monitor: { verdict: string; ok: boolean; cause?: { metric: string; reason: string } };
    rollback: { guardian: string; scheduleTx: string; readyAt: string; executeTx: string; implementation: string; version: string };
    state: string;
  };
  reports: Record<string, string>;
}

/** What the record keeps of the deliberate skip (`steps.replaySkip`). */
export interface ReplaySkip {
  flag: "skipReplay";
  by: string;
  reason: string;
  /** The replay that was overridden. */
  replayReport: string;
  divergences: number;
  at: string;
}

export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const started = performance.now();
  const { log } = options;
  const paths = demoPaths(options.cacheDir);
  await Promise.all([mkdir(paths.records, { recursive: true }), mkdir(paths.audits, { recursive: true }), mkdir(paths.nodes, { recursive: true })]);
  const removeHandlers = stopNodesOnSignals((signal) => log(`\n${signal}: stopping the demo's nodes.`));
  const nodes: LocalNode[] = [];
  const elapsed = () => seconds(performance.now() - started);
  let summary: Omit<DemoSummary, "nodes" | "durationSeconds"> | undefined;
  try {
    log("hardhat-bluegreen demo: one good release and one buggy release, end to end, on local chains.");
    log(`  run folder: ${shownPath(paths.run)}`);

    // ----------------------------------------------------------------- setup
    log(heading("Setup"));
    const [mainnetNode, testnetNode] = await Promise.all([
      startLocalNode({ role: "mainnet", chainId: MAINNET_CHAIN_ID, dir: paths.nodes, accounts: NODE_ACCOUNTS }),
      startLocalNode({ role: "testnet", chainId: TESTNET_CHAIN_ID, dir: paths.nodes, accounts: NODE_ACCOUNTS }),
    ]);
    nodes.push(mainnetNode, testnetNode);
    log(stepLine("ok", "chains", `"mainnet": hardhat node pid ${mainnetNode.pid} at ${mainnetNode.url} (chain ${mainnetNode.chainId}) · testnet: pid ${testnetNode.pid} at ${testnetNode.url} (chain ${testnetNode.chainId})`));

    const [mainnet, testnet] = await Promise.all([setUpMainnet(mainnetNode, paths.records), setUpTestnet(testnetNode, paths.records)]);
    const owners = await Promise.all(mainnet.owners.map((o) => o.getAddress()));
    const guardian = await mainnet.guardian.getAddress();
    log(stepLine("ok", "Safe", `2-of-3 Safe ${mainnet.safe} on the canonical Safe v1.4.1 contracts; owners ${owners.map(short).join(", ")}`));
    log(stepLine("ok", "switch", `BlueGreenSwitch ${mainnet.switchAddress}: approver = the Safe, guardian ${short(guardian)}, rollback delay ${ROLLBACK_DELAY / 3600}h, window ${days(ROLLBACK_WINDOW)}`));
    log(stepLine("ok", "token", `DemoTokenV1 (blue) ${short(mainnet.blue)} behind TransparentUpgradeableProxy ${mainnet.proxy}; adopted by the switch through the Safe (2 of 3 signed safeTxHash ${short(mainnet.adoption.safeTxHash)})`));
    log(stepLine("ok", "testnet", `switch ${short(testnet.switchAddress)} (approver: the team's deployer), DemoTokenV1 behind proxy ${short(testnet.proxy)}, adopted`));

    const deployer = await mainnet.deployer.getAddress();
    await fundHolders(mainnet.rpc, mainnet.proxy, deployer, mainnet.holders);
    const recent = await sendTraffic(mainnet.rpc, mainnet.proxy, mainnet.holders, TRAFFIC.recent, 1);
    log(stepLine("ok", "traffic", `${mainnet.holders.length} holders funded; ${trafficText(recent)}`));
    log(stepLine("info", "time", elapsed()));

    const projectRoot = paths.run;
    const auditors = demoAuditors();
    const auditorAddresses = auditors.map((a) => a.address);
    const gates = (skipReplay = false): GatesConfig => mainnetGates({ auditsDir: paths.audits, auditors: auditorAddresses, replay: true, skipReplay, guardian });

    // -------------------------------------------------------------- act one
    const good: DemoRelease = RELEASES.good;
    log(heading(`Act one: a good release, ${good.contract}`));
    const goodRecord = await stageOn(mainnet, good);
    log(stepLine("ok", "stage", stageText(goodRecord)));

    const goodReplay = await replayTraffic(mainnet, goodRecord, { fromBlock: recent.fromBlock, toBlock: recent.toBlock }, options.openFork);
    const goodReplayFigures = replayFigures(goodReplay.report, goodReplay.reportPath, goodReplay.markdownPath);
    log(stepLine(goodReplayFigures.divergences === 0 ? "ok" : "caught", "replay", replayText(goodReplayFigures, paths.run)));
    if (goodReplayFigures.divergences > 0) throw unexpected(`the replay of ${good.contract} found ${goodReplayFigures.divergences} divergence(s); see ${goodReplay.markdownPath}`);

    const goodBake = await bakeOnTestnet(testnet, good, undefined, projectRoot);
    log(stepLine("ok", "testnet", `same release through the testnet switch (promote tx ${short(goodBake.promoteTx)}); testnet clock moved ${TESTNET_BAKE_DAYS} days`));

    const goodAudits = await attestAudits(mainnet, good, goodRecord, auditors, projectRoot);
    log(stepLine("ok", "audits", `${goodAudits.auditors.length} demo auditors (${goodAudits.auditors.map(short).join(", ")}) signed EIP-712 attestations of codehash ${short(goodRecord.green.codehash)}`));

    const goodGates = await gatesOn(mainnet, good.id, gates(), projectRoot, testnet);
    log(stepLine(goodGates.step.ok ? "ok" : "caught", "gates", `${gateList(goodGates.step.results)} → ${goodGates.record.state}, evidence hash ${short(goodGates.step.evidenceHash)}`));
    if (!goodGates.step.ok) throw unexpected(`the gates of ${good.contract} did not pass: ${failing(goodGates)}`);

    const goodSwitch = await switchThroughSafe(mainnet, good, gates(), projectRoot, log);

    const goodLive = await sendTraffic(mainnet.rpc, mainnet.proxy, mainnet.holders, TRAFFIC.actOneLive, 2);
    log(stepLine("ok", "traffic", `on green: ${trafficText(goodLive)}`));
    const goodWatch = await watch(mainnet, good.id, { once: true });
    const revertMetric = goodWatch.outcome.runs[0]?.metrics["revert-rate"];
    const revertRate = typeof revertMetric?.lastValue === "number" ? revertMetric.lastValue : undefined;
    log(
      stepLine(
        goodWatch.outcome.ok ? "ok" : "caught",
        "monitor",
        `${goodWatch.outcome.verdict}: revert-rate ${revertMetric?.phase ?? "-"} over ${revertMetric?.count ?? 0} windows of 20 blocks` +
          (revertRate !== undefined ? ` (last ${(100 * revertRate).toFixed(1)}%)` : "") +
          `, baseline: ${goodWatch.outcome.runs[0]?.baselineSource ?? "-"}`,
      ),
    );
    if (!goodWatch.outcome.ok) throw unexpected(`the monitor judged ${good.contract} ${goodWatch.outcome.verdict}`);

    await moveClock(mainnet, ROLLBACK_WINDOW + 60);
    const finalized = await finalizeRelease(await releaseContext(mainnet, projectRoot, gates()), good.id, { signer: mainnet.deployer });
    if (finalized.status !== "done" || finalized.txHash === undefined) throw unexpected(`${good.id} was not finalized`);
    log(stepLine("ok", "finalize", `mainnet clock +${days(ROLLBACK_WINDOW)}: the window is over; finalized by anyone (tx ${short(finalized.txHash)}): ${good.contract} stays`));
    log(stepLine("info", "time", elapsed()));

    // -------------------------------------------------------------- act two
    const buggy: DemoRelease = RELEASES.buggy;
    log(heading(`Act two: a buggy release, ${buggy.contract} (a per-transfer cap meant to be 1,000,000 DMO, typed as 1,000)`));
    const buggyRecord = await stageOn(mainnet, buggy);
    log(stepLine("ok", "stage", stageText(buggyRecord)));

    const buggyReplay = await replayTraffic(mainnet, buggyRecord, { fromBlock: goodLive.fromBlock, toBlock: goodLive.toBlock }, options.openFork);
    const buggyReplayFigures = replayFigures(buggyReplay.report, buggyReplay.reportPath, buggyReplay.markdownPath);
    log(stepLine(buggyReplayFigures.divergences > 0 ? "caught" : "ok", "replay", replayText(buggyReplayFigures, paths.run)));
    const example = await divergenceExample(mainnet, buggyReplay.report);
    if (example !== undefined) log(stepLine("info", "", example));
    if (buggyReplayFigures.divergences === 0) throw unexpected(`the replay of ${buggy.contract} found no divergence`);

    const buggyBake = await bakeOnTestnet(testnet, buggy, good.id, projectRoot);
    log(stepLine("ok", "testnet", `${good.contract} finalized there first; ${buggy.contract} promoted (tx ${short(buggyBake.promoteTx)}); testnet clock moved ${TESTNET_BAKE_DAYS} days (no testnet traffic hit the bug)`));
    const buggyAudits = await attestAudits(mainnet, buggy, buggyRecord, auditors, projectRoot);
    log(stepLine("ok", "audits", `${buggyAudits.auditors.length} demo auditors signed attestations of codehash ${short(buggyRecord.green.codehash)} (they missed the bug)`));

    const refusedGates = await gatesOn(mainnet, buggy.id, gates(), projectRoot, testnet);
    log(stepLine(refusedGates.step.ok ? "ok" : "caught", "gates", `${gateList(refusedGates.step.results)} → stays ${refusedGates.record.state}`));
    if (refusedGates.step.ok) throw unexpected(`the gates passed ${buggy.contract} despite the replay`);
    let refusal: string;
    try {
      await proposeRelease(await releaseContext(mainnet, projectRoot, gates()), buggy.id, { actor: deployer });
      throw unexpected(`bg:propose accepted ${buggy.id} with a failing replay gate`);
    } catch (error) {
      if (BlueGreenError.is(error, "BG_DEMO_UNEXPECTED")) throw error;
      refusal = BlueGreenError.is(error) ? error.shortMessage : errorMessage(error);
    }
    log(stepLine("caught", "propose", `refused: ${refusal.replace(/^Release "[^"]+" cannot be proposed: /, "").split(". ")[0]}`));

    const skip = await recordReplaySkip(mainnet, buggy.id, buggyReplay.markdownPath, buggyReplayFigures.divergences);
    log(
      stepLine(
        "skip",
        "SKIP",
        `skipReplay: the replay gate is made advisory (gates.replay.required = false) for this run. Recorded in steps.replaySkip, ` +
          "and the failing replay stays in the evidence hash the Safe signs",
      ),
    );
    const skippedGates = await gatesOn(mainnet, buggy.id, gates(true), projectRoot, testnet);
    log(stepLine("skip", "gates", `${gateList(skippedGates.step.results)} → ${skippedGates.record.state}, evidence hash ${short(skippedGates.step.evidenceHash)}`));
    if (!skippedGates.step.ok) throw unexpected(`the gates still refuse ${buggy.contract} with the replay skipped: ${failing(skippedGates)}`);

    const canary = await canaryThroughSafe(mainnet, buggy, gates(true), projectRoot, log);

    // The monitor watches green from its promotion, with the guardian's key for a rollback.
    const stopMonitor = new AbortController();
    const watching = watch(mainnet, buggy.id, { guardian: mainnet.guardian, signal: stopMonitor.signal });
    watching.catch(() => {});
    let buggyLive: TrafficSummary;
    let payday: Awaited<ReturnType<typeof payEveryHolder>>;
    let scheduled: Awaited<ReturnType<typeof readProxyRelease>>;
    try {
      payday = await payEveryHolder(mainnet.rpc, mainnet.proxy, mainnet.holders, CANARY_PAYMENT);
      const onGreen = payday.revertedFrom.filter((h) => canary.greenCallers.includes(h)).length;
      log(
        stepLine(
          "caught",
          "traffic",
          `every holder pays the next ${CANARY_PAYMENT.toLocaleString("en-US")} DMO: ${payday.summary.reverted} of ${payday.summary.txs} reverted, ` +
            `${onGreen} of them from green's cohort (${canary.greenCallers.length} caller(s)); blue's ${canary.callers - canary.greenCallers.length} callers all paid`,
        ),
      );
      if (onGreen !== payday.summary.reverted) throw unexpected("a caller of blue's cohort reverted during the canary");
      buggyLive = await sendTraffic(mainnet.rpc, mainnet.proxy, mainnet.holders, TRAFFIC.actTwoLive, 3);
      log(stepLine("info", "traffic", `and the usual mix: ${trafficText(buggyLive)}`));
      scheduled = await untilScheduled(mainnet, buggy.id, watching);
    } catch (error) {
      stopMonitor.abort();
      await watching.catch(() => undefined);
      throw error;
    }
    const scheduledRecord = await mainnet.store.get(mainnet.chainId, buggy.id);
    const rollbackStep = readStep(scheduledRecord, "rollback");
    log(stepLine("caught", "monitor", await failedAnalysisText(mainnet, buggy.id)));
    log(
      stepLine(
        "ok",
        "rollback",
        `guardian ${short(guardian)} scheduled it (tx ${short(rollbackStep?.scheduleTx ?? "")}); executable after the ${ROLLBACK_DELAY / 3600}h delay, at ${new Date(scheduled.rollbackReadyAt * 1000).toISOString()}`,
      ),
    );
    await moveClock(mainnet, ROLLBACK_DELAY + 1);
    const watched = await watching;
    const rolledBack = await mainnet.store.get(mainnet.chainId, buggy.id);
    const executed = readStep(rolledBack, "rollback");
    const implementation = await implementationOf(mainnet);
    const versionAfter = await tokenVersion(mainnet);
    if (rolledBack.state !== "rolled-back" || executed?.rolledBackTx === undefined || implementation !== buggyRecord.blue.address) {
      throw unexpected(`the rollback did not complete (record ${rolledBack.state}, proxy runs ${implementation})`);
    }
    log(
      stepLine(
        "ok",
        "rollback",
        `mainnet clock +${ROLLBACK_DELAY / 3600}h: the monitor executed it (tx ${short(executed.rolledBackTx)}); the proxy runs blue ${good.contract} again (version() = "${versionAfter}")`,
      ),
    );
    log(stepLine("info", "time", elapsed()));

    const reports = {
      records: paths.records,
      actOneReplay: goodReplay.markdownPath,
      actOneProposal: goodSwitch.summaryFile,
      actOneEvidence: path.join(mainnet.store.releaseDir(mainnet.chainId, good.id), "gates-evidence.json"),
      actOneMonitorLog: goodWatch.logFile,
      actTwoReplay: buggyReplay.markdownPath,
      actTwoProposal: canary.summaryFile,
      actTwoMonitorLog: watched.logFile,
      actOneRecord: mainnet.store.recordPath(mainnet.chainId, good.id),
      actTwoRecord: mainnet.store.recordPath(mainnet.chainId, buggy.id),
    };
    summary = {
      ok: true,
      runDir: paths.run,
      records: paths.records,
      setup: {
        safe: { address: mainnet.safe, owners, threshold: 2 },
        switch: { address: mainnet.switchAddress, approver: mainnet.safe, guardian, rollbackDelay: ROLLBACK_DELAY, rollbackWindow: ROLLBACK_WINDOW },
        token: { proxy: mainnet.proxy, blue: mainnet.blue, adoptionSafeTxHash: mainnet.adoption.safeTxHash },
        testnet: { switch: testnet.switchAddress, proxy: testnet.proxy },
        traffic: recent,
      },
      actOne: {
        release: good.id,
        green: greenOf(goodRecord),
        replay: goodReplayFigures,
        testnet: { promoteTx: goodBake.promoteTx, bakeDays: TESTNET_BAKE_DAYS },
        gates: gatesFigures(goodGates),
        switch: goodSwitch,
        traffic: goodLive,
        monitor: { verdict: goodWatch.outcome.verdict, ok: goodWatch.outcome.ok, ...(revertRate !== undefined ? { revertRate } : {}) },
        finalizeTx: finalized.txHash,
        state: finalized.record.state,
      },
      actTwo: {
        release: buggy.id,
        green: greenOf(buggyRecord),
        replay: buggyReplayFigures,
        testnet: { promoteTx: buggyBake.promoteTx, bakeDays: TESTNET_BAKE_DAYS },
        gates: gatesFigures(refusedGates),
        proposalRefused: refusal,
        replaySkip: skip,
        gatesAfterSkip: gatesFigures(skippedGates),
        canary,
        payday: { ...payday.summary, revertedFrom: payday.revertedFrom },
        traffic: buggyLive,
        monitor: {
          verdict: watched.outcome.verdict,
          ok: watched.outcome.ok,
          ...(watched.outcome.runs[0]?.cause !== undefined ? { cause: watched.outcome.runs[0].cause } : {}),
        },
        rollback: {
          guardian,
          scheduleTx: rollbackStep?.scheduleTx ?? "",
          readyAt: new Date(scheduled.rollbackReadyAt * 1000).toISOString(),
          executeTx: executed.rolledBackTx,
          implementation,
          version: versionAfter,
        },
        state: rolledBack.state,
      },
      reports,
    };
    await writeFile(path.join(paths.run, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
  } finally {
    await stopAllLocalNodes();
    removeHandlers();
  }
  if (summary === undefined) throw new Error("the demo ended without a summary");
  return {
    ...summary,
    durationSeconds: Math.round((performance.now() - started) / 100) / 10,
    nodes: nodes.map((n) => ({ role: n.role, chainId: n.chainId, url: n.url, pid: n.pid, stopped: n.exited })),
  };
}

/**
 * Act two's canary step through the Safe (bg:propose/approve/switch --step):
 * the proxy runs the CanaryRouter, and each holder's cohort is the router's.
 */
async function canaryThroughSafe(chain: MainnetChain, release: DemoRelease, gates: GatesConfig, projectRoot: string, log: (line: string) => void): Promise<CanaryFigures> {
  const switched = await proposeApproveCanaryStep(chain, release, gates, projectRoot);
  log(stepLine("ok", "propose", `canary step ${switched.step} (promoteCanary) proposed to the Safe: safeTxHash ${short(switched.safeTxHash)}, router ${short(switched.router)}`));
  log(stepLine("ok", "approve", `2 of 3 owners signed: ${switched.signers.map(short).join(", ")}`));
  const step = readCanaryStep(await chain.store.get(chain.chainId, release.id));
  if (step === undefined) throw unexpected("the canary step is not in the record");
  const greenCallers = chain.holders.filter((h) => cohortOf(step.salt, h, switched.bps) === "green");
  const blueCaller = chain.holders.find((h) => !greenCallers.includes(h))!;
  const versions = { blue: await tokenVersion(chain, blueCaller), green: greenCallers.length > 0 ? await tokenVersion(chain, greenCallers[0]!) : "" };
  log(
    stepLine(
      "ok",
      "switch",
      `one transaction (${short(switched.txHash)}): the proxy runs the CanaryRouter; ${greenCallers.length} of ${chain.holders.length} holders ` +
        `(${percent(greenCallers.length, chain.holders.length)}) are in green's cohort and get version() = "${versions.green}", the others stay on blue ("${versions.blue}")`,
    ),
  );
  return { ...switched, callers: chain.holders.length, greenCallers, versions };
}

/** Proposes to the Safe, has two owners sign, switches; one narrated line per step. */
async function switchThroughSafe(chain: MainnetChain, release: DemoRelease, gates: GatesConfig, projectRoot: string, log: (line: string) => void): Promise<SwitchFigures> {
  const switched = await proposeApproveSwitch(chain, release, gates, projectRoot);
  log(stepLine("ok", "propose", `promote() proposed to the Safe: nonce ${switched.safeNonce}, safeTxHash ${short(switched.safeTxHash)}, evidence hash ${short(switched.evidenceHash)}`));
  log(stepLine("ok", "approve", `2 of 3 owners signed: ${switched.signers.map(short).join(", ")}`));
  const version = await tokenVersion(chain);
  log(stepLine("ok", "switch", `one transaction (${short(switched.txHash)}): the proxy runs green, version() = "${version}"; rollback window open until ${switched.windowEnd} (chain time)`));
  return {
    safeTxHash: switched.safeTxHash,
    safeNonce: switched.safeNonce,
    evidenceHash: switched.evidenceHash,
    approvals: switched.signers,
    txHash: switched.txHash,
    windowEnd: switched.windowEnd,
    version,
    summaryFile: switched.summaryFile,
  };
}

/**
 * Writes the deliberate skip into the release record, beside the replay it
 * overrides, so anyone reading the record later sees who skipped what.
 */
async function recordReplaySkip(chain: DemoChain, releaseId: string, replayReport: string, divergences: number): Promise<ReplaySkip> {
  const skip: ReplaySkip = {
    flag: "skipReplay",
    by: "bg:demo",
    reason: "Act two of the demo pushes the release past its failing replay on purpose, to show the monitor and the rollback.",
    replayReport: path.basename(replayReport),
    divergences,
    at: new Date().toISOString(),
  };
  await chain.store.update(chain.chainId, releaseId, (current) => {
    if (current === undefined) throw new BlueGreenError("BG_DEMO_UNEXPECTED", `Release "${releaseId}" disappeared from the demo's records.`);
    // The state stays "replayed"; the history gets its own entry, so the skip shows where the releases's story is read.
    const noted = transition(current, current.state, {
      actor: skip.by,
      note: `replay skipped on purpose (${skip.flag}): the replay gate is advisory for the next gates run, despite ${divergences} divergence(s) in ${skip.replayReport}`,
    });
    return { ...noted, steps: { ...noted.steps, replaySkip: { ...skip } } };
  });
  return skip;
}

/** Waits until the switch shows the rollback scheduled (the monitor's guardian did it). */
/**
 * Waits until the switch shows the rollback scheduled and the monitor has
 * recorded it: the monitor writes the record after the receipt, so on a busy
 * machine the chain can be ahead of the record for a moment.
 */
async function untilScheduled(chain: DemoChain, releaseId: string, monitor: Promise<unknown>): Promise<Awaited<ReturnType<typeof readProxyRelease>>> {
  let failure: unknown;
  let finished = false;
  monitor.then(
    () => (finished = true),
    (error: unknown) => {
      failure = error;
      finished = true;
    },
  );
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const state = await readProxyRelease(chain.provider, chain.switchAddress, chain.proxy);
    if (state.status === "rollback-scheduled" || state.status === "rolled-back") {
      const recorded = readStep(await chain.store.get(chain.chainId, releaseId), "rollback");
      if (recorded?.scheduleTx !== undefined) return state;
    }
    if (failure !== undefined) throw failure;
    if (finished) throw unexpected("the monitor stopped before it scheduled a rollback");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw unexpected("the monitor did not schedule a rollback within 60 seconds");
}

/** The window that failed the analysis, from the monitor's checkpoint beside the record. */
async function failedAnalysisText(chain: DemoChain, releaseId: string): Promise<string> {
  const checkpoint = await readCheckpoint(chain.store, chain.chainId, releaseId);
  const run = checkpoint?.runs[RELEASE_SUBJECT];
  const canaryFailed = run?.metrics["canary-revert-rate"]?.measurements.find((m) => m.phase === "Failed");
  if (canaryFailed?.cohorts !== undefined) {
    const { green, blue } = canaryFailed.cohorts;
    // Both cohorts together are the proxy's whole direct traffic of the same blocks.
    const overall = ((green.value ?? 0) * green.samples + (blue.value ?? 0) * blue.samples) / Math.max(1, green.samples + blue.samples);
    return (
      `green's cohort reverted ${(100 * (green.value ?? 0)).toFixed(1)}% of ${green.samples} call(s), blue's cohort ${(100 * (blue.value ?? 0)).toFixed(1)}% of ${blue.samples}, ` +
      `in blocks ${canaryFailed.fromBlock}-${canaryFailed.toBlock}: \`${DEMO_CANARY_CONDITION}\` holds → analysis ${run?.phase ?? "Failed"} ` +
      `(all callers together: ${(100 * overall).toFixed(1)}%, within the proxy's usual revert rate: at 5% the bug hardly shows in the total)`
    );
  }
  const failed = run?.metrics["revert-rate"]?.measurements.find((m) => m.phase === "Failed");
  if (failed === undefined || typeof failed.value !== "number") return `analysis ${run?.phase ?? "Failed"}: ${run?.cause?.reason ?? ""}`;
  const baseline = typeof failed.baseline === "number" ? ` (blue's baseline ${(100 * failed.baseline).toFixed(1)}%)` : "";
  return (
    `revert rate ${(100 * failed.value).toFixed(1)}% in blocks ${failed.fromBlock}-${failed.toBlock}${baseline}: ` +
    `the failure condition \`${DEMO_REVERT_CONDITION}\` holds → analysis ${run?.phase ?? "Failed"}`
  );
}

function unexpected(what: string): BlueGreenError {
  return new BlueGreenError("BG_DEMO_UNEXPECTED", `The demo expected otherwise: ${what}. This is a bug of the demo; please report it with the run folder.`);
}

function failing(recorded: RecordedGates): string {
  return recorded.step.results
    .filter((r) => r.required && r.status !== "pass")
    .map((r) => `${r.name}: ${r.detail}`)
    .join("; ");
}

function greenOf(record: ReleaseRecord) {
  return { contract: record.green.contract, address: record.green.address, codehash: record.green.codehash };
}

function gatesFigures(recorded: RecordedGates): GatesFigures {
  return {
    ok: recorded.step.ok,
    state: recorded.record.state,
    evidenceHash: recorded.step.evidenceHash,
    results: recorded.step.results.map((r) => ({ name: r.name, status: r.status, required: r.required, detail: r.detail })),
  };
}

function replayFigures(report: ReplayReport, reportPath: string, markdownPath: string): ReplayFigures {
  return {
    txs: report.txs,
    divergences: reportCounts(report).divergences,
    divergenceKinds: [...new Set(report.divergences.map((d) => d.kind))],
    fidelity: { matched: report.fidelity.matched, total: report.fidelity.total },
    mode: report.mode,
    fromBlock: report.fromBlock,
    toBlock: report.toBlock,
    txPerSecond: report.timing.txPerSecond,
    report: reportPath,
    markdown: markdownPath,
  };
}

function stageText(record: ReleaseRecord): string {
  const risks = record.rollbackRisks.length;
  return (
    `green ${record.green.contract} at ${short(record.green.address)}, codehash ${short(record.green.codehash)}; ` +
    `OpenZeppelin: blue → green safe, ${risks} rollback risk${risks === 1 ? "" : "s"} (green → blue)`
  );
}

function replayText(figures: ReplayFigures, runDir: string): string {
  const kinds = figures.divergenceKinds.length > 0 ? ` (${figures.divergenceKinds.join(", ")})` : "";
  return (
    `${figures.txs} txs of blocks ${figures.fromBlock}-${figures.toBlock}, each run as blue and as green (${figures.mode}, ${figures.txPerSecond} tx/s): ` +
    `${figures.divergences} divergence${figures.divergences === 1 ? "" : "s"}${kinds}, fidelity ${figures.fidelity.matched}/${figures.fidelity.total} → ${path.relative(runDir, figures.markdown)}`
  );
}

/** The first divergence in the token's own terms: what the holder tried, and what each side did. */
async function divergenceExample(chain: DemoChain, report: ReplayReport): Promise<string | undefined> {
  const first = report.divergences[0];
  if (first === undefined) return undefined;
  const tx = (await chain.rpc.request({ method: "eth_getTransactionByHash", params: [first.txHash] })) as { input: string } | null;
  const call = tx === null ? null : TOKEN_ABI.parseTransaction({ data: tx.input });
  const what =
    call === null ? first.call : call.name === "approve" ? `approve of ${tokens(call.args[1] as bigint)}` : `${call.name} of ${tokens(call.args[call.args.length - 1] as bigint)}`;
  const side = (s: ReplayReport["divergences"][number]["blue"]) => (s.status === "success" ? "succeeds" : `reverts with ${(s.revert ?? "").split("(")[0]}`);
  return `e.g. ${what} (tx ${short(first.txHash)}, block ${first.blockNumber ?? "?"}): blue ${side(first.blue)}, green ${side(first.green)}`;
}

function trafficText(t: TrafficSummary): string {
  return (
    `${t.txs} txs from ${t.senders} accounts in blocks ${t.fromBlock}-${t.toBlock}: ${t.large} transfers of 1,000 DMO or more, ` +
    `${t.reverted} reverted (${percent(t.reverted, t.txs)})`
  );
}

/** The end of the story for people: where to read more, and what was stopped. */
export function renderDemoEnd(summary: DemoSummary): string {
  const r = summary.reports;
  const inRun = (file: string) => path.relative(summary.runDir, file);
  const release = (record: string, files: string[]) =>
    `${inRun(path.dirname(record))}/: release.json · ${files.map((f) => path.basename(f)).join(" · ")}`;
  const lines = [
    heading(`Reports, in ${shownPath(summary.runDir)}/`),
    `  act one   ${release(r.actOneRecord!, [r.actOneReplay!, r.actOneProposal!, r.actOneEvidence!, r.actOneMonitorLog!])}`,
    `  act two   ${release(r.actTwoRecord!, [r.actTwoReplay!, r.actTwoProposal!, r.actTwoMonitorLog!])}`,
    `  run       summary.json (this run in one document; also \`--json\`)`,
    "",
    `Stopped ${summary.nodes.map((n) => `${n.role} (pid ${n.pid})`).join(" and ")}. Done in ${summary.durationSeconds}s.`,
  ];
  return lines.join("\n");
}
