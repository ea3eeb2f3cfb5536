/**
 * `bg:monitor`: follows the chain after a release's switch, analyses green's
 * traffic against blue's baseline (Argo-style), and acts on the verdict.
 *
 * One step: read the head; find the proxies this release's green went live
 * on (the release's proxy, or each promoted wave); undo anything a reorg
 * orphaned; read the new confirmed blocks in batches, feeding each batch to
 * the analysis runs and writing the checkpoint after it; then act (alert,
 * auto-rollback), publish the summary in the release record and refresh the
 * Prometheus snapshot.
 *
 * Steps repeat every `pollInterval` until `--once` has caught up, the
 * `--duration` is over (whatever the steps are doing), the release is
 * closed (rolled back or finalized everywhere), or the caller aborts. RPC
 * faults fail a step, never the monitor: the step is retried with backoff
 * from the last checkpoint, and batches shrink while reads fail. The verdict
 * counts the blocks analysed against those due, and is never "healthy" on
 * fewer.
 */
import { type Interface, type Signer, getAddress } from "ethers";

import type { Eip1193Provider } from "../chain/eip1193.js";
import { BlueGreenError } from "../errors.js";
import type { ReleaseRecord } from "../release/record.js";
import type { ReleaseStore } from "../release/store.js";
import { switchInterface } from "../switch/artifact.js";
import { compareProxyWithRecord } from "../switch/proxy-drift.js";
import type { SwitchStatus } from "../switch/read-switch.js";
import { readSwitchFile } from "../switch/switch-file.js";
import type { WavesConfig } from "../waves/config.js";
import { readWavesStep } from "../waves/waves-step.js";
import { acknowledgeRuns, logRunEvent, raiseAlerts } from "./alerts.js";
import { advanceRun, ensureMetrics, measurementRetention, newRun, rewindRun } from "./analysis-run.js";
import { assertGuardian, progressAutoRollback } from "./auto-rollback.js";
import { measureBaseline } from "./baseline.js";
import { isReleaseGreen, routingAt } from "./canary-analysis.js";
import type { CanaryRun } from "./canary-measurement.js";
import { canaryOnSwitch, findCanaryPromotion } from "./canary-promotion.js";
import type { BlockDigest, WatchSet } from "./block-digest.js";
import { ChainMovedError, findForkPoint, readDigests, readHead, readHeader } from "./chain-follower.js";
import { type MonitorCheckpoint, freshCheckpoint, readCheckpoint, writeCheckpoint } from "./checkpoint.js";
import type { MonitorConfig, ResolvedMetric } from "./config.js";
import type { MonitorLog } from "./json-log.js";
import { appendBlocks, pruneLedger, rewindLedger } from "./ledger.js";
import { readMonitorStep, withMonitorStep } from "./monitor-step.js";
import { growFleets, isBeaconRelease, openFleet, watchSetOf } from "./fleet.js";
import { findOrphanedRollbacks, reconcileOrphanedRollback } from "./orphaned-rollback.js";
import { type MonitorOutcome, type Reconciliation, type StopReason, outcomeOf } from "./outcome.js";
import { type CompiledProbe, compileProbe, runProbe } from "./probes.js";
import type { MonitorMetrics } from "./prometheus.js";
import { type ProxyOnSwitch, blocksAt, findPromotion, readProxyOnSwitch } from "./promotions.js";
import { RpcClient, describe } from "./rpc-client.js";
import { metricsSnapshotOf, monitorStepOf } from "./summary.js";
import { backoffDelay, isTransient, retrying } from "./transient.js";

export type { MonitorOutcome, Verdict } from "./outcome.js";

export interface MonitorReleaseOptions {
  provider: Eip1193Provider;
  store: ReleaseStore;
  chainId: number;
  releaseId: string;
  config: MonitorConfig;
  /** Waves and their own analyses, when the release has a wave plan. */
  waves?: WavesConfig;
  /** Green's ABI, to name selectors and events in metrics and logs. */
  abi?: Interface;
  /** Catch up once, judge, and stop. */
  once?: boolean;
  /** Stop after this many seconds of wall-clock time. */
  durationSeconds?: number;
  /** Schedule and execute rollbacks through this guardian when the analysis fails. */
  autoRollback?: { guardian: Signer };
  /** Start a fresh analysis for runs that ended Inconclusive, Failed or Error (after a person looked). */
  acknowledge?: { reason?: string };
  metrics?: MonitorMetrics;
  log: MonitorLog;
  signal?: AbortSignal;
}

/** Subject of a release without waves. */
export const RELEASE_SUBJECT = "release";

export async function monitorRelease(options: MonitorReleaseOptions): Promise<MonitorOutcome> {
  return new ReleaseMonitor(options).run();
}

class ReleaseMonitor {
  private readonly rpc: RpcClient;
  private iface!: Interface;
  private switchAddress!: string;
  private switchBlock!: number;
  private record!: ReleaseRecord;
  private cp!: MonitorCheckpoint;
  private checkpointPath = "";
  private head: number | undefined;
  private proxyStatus: Record<string, SwitchStatus> = {};
  private readonly probes = new Map<string, CompiledProbe>();
  private lastStepSummary = "";
  private readonly deadline = new AbortController();
  /** Confirmed head of the last step that read it. */
  private confirmed: number | undefined;
  /** A step of this run completed. */
  private completedStep = false;
  /** Blocks per read; halved when a read fails, doubled back (up to `batchBlocks`) when one succeeds. */
  private batch: number;
  private readonly reconciled: Reconciliation[] = [];

  constructor(private readonly o: MonitorReleaseOptions) {
    this.batch = o.config.batchBlocks;
    this.rpc = new RpcClient(o.provider, {
      ...o.config.rpc,
      onRetry: (info) => {
        o.metrics?.rpcError();
        o.log("warn", "rpc-retry", { ...info });
      },
    });
  }

  async run(): Promise<MonitorOutcome> {
    const { o } = this;
    // The duration is a deadline, not a check between steps: it ends pauses, batches and retries alike.
    const timer =
      o.durationSeconds !== undefined
        ? setTimeout(() => {
            this.deadline.abort();
            this.rpc.stop();
          }, o.durationSeconds * 1000)
        : undefined;
    try {
      return await this.follow();
    } finally {
      clearTimeout(timer);
      this.rpc.stop();
    }
  }

  private async follow(): Promise<MonitorOutcome> {
    const { o } = this;
    await this.init();
    let failures = 0;
    let stopped: StopReason | undefined;
    while (stopped === undefined) {
      if (o.signal?.aborted === true) {
        stopped = "signal";
        break;
      }
      if (this.deadline.signal.aborted) {
        stopped = "duration";
        break;
      }
      let caughtUp = false;
      const tipBefore = this.cp.tip?.n;
      try {
        caughtUp = await this.step();
        this.completedStep = true;
        failures = 0;
      } catch (error) {
        if (!isTransient(error)) throw error;
        // A step that got some batches through shows a node that answers, if not always: the budget starts again.
        if (this.cp.tip?.n !== tipBefore) failures = 0;
        failures++;
        o.metrics?.rpcError();
        o.log("warn", "step-failed", { error: describe(error), attempt: failures, message: "nothing of the unfinished batch was recorded; it is retried from the checkpoint" });
        if (o.once === true && failures >= 5 && !this.deadline.signal.aborted) {
          throw new BlueGreenError(
            "BG_MONITOR_RPC_UNRELIABLE",
            `The node did not answer reliably (${describe(error)}), after ${failures} attempts. Nothing was recorded for the unfinished step; ` +
              "check the network's RPC URL and run bg:monitor again (it resumes from its checkpoint).",
            { cause: error as Error },
          );
        }
        await this.pause(backoffDelay(o.config.rpc, failures));
        continue;
      }
      if (o.once === true && caughtUp) stopped = "once";
      else if (this.releaseClosed()) stopped = "release-closed";
      else if (caughtUp) await this.pause(o.config.pollInterval);
    }
    const outcome = outcomeOf(this.cp, this.proxyStatus, {
      release: o.releaseId,
      chainId: o.chainId,
      stopped,
      head: this.head,
      confirmed: this.confirmed,
      // The verdict must rest on the chain as read by this run: its head, and before any promotion is known, a whole step.
      looked: this.confirmed !== undefined && (Object.keys(this.cp.proxies).length > 0 || this.completedStep),
      reconciled: this.reconciled,
      checkpoint: this.checkpointPath,
    });
    o.log(outcome.verdict === "inconclusive" ? "warn" : "info", "monitor-stopped", {
      because: stopped,
      verdict: outcome.verdict,
      lastBlock: this.cp.tip?.n,
      blocksAnalysed: outcome.blocks.analysed,
      blocksDue: outcome.blocks.due,
    });
    return outcome;
  }

  /** True once the caller aborted or the duration is over: the current step ends after its batch. */
  private stopping(): boolean {
    return this.o.signal?.aborted === true || this.deadline.signal.aborted;
  }

  /** Sleeps, waking early when aborted or at the deadline. */
  private async pause(seconds: number): Promise<void> {
    const signals = [this.o.signal, this.deadline.signal].filter((s): s is AbortSignal => s !== undefined);
    if (signals.some((s) => s.aborted)) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, seconds * 1000);
      function done() {
        clearTimeout(timer);
        for (const s of signals) s.removeEventListener("abort", done);
        resolve();
      }
      for (const s of signals) s.addEventListener("abort", done, { once: true });
    });
  }

  private async init(): Promise<void> {
    const { o } = this;
    this.iface = await switchInterface();
    this.record = await o.store.get(o.chainId, o.releaseId);
    const switchFile = await readSwitchFile(o.store, o.chainId);
    if (switchFile === undefined) {
      throw new BlueGreenError(
        "BG_MONITOR_NO_SWITCH",
        `No BlueGreenSwitch is recorded for chain ${o.chainId}, so there is no promotion to monitor. Deploy and use one first (bg:init, bg:adopt, bg:switch).`,
      );
    }
    this.switchAddress = getAddress(switchFile.address);
    this.switchBlock = switchFile.blockNumber;
    if (o.autoRollback !== undefined) {
      const guardian = await o.autoRollback.guardian.getAddress();
      await retrying(() => assertGuardian(this.rpc, this.iface, this.switchAddress, guardian), o.config.rpc);
    }
    const saved = await readCheckpoint(o.store, o.chainId, o.releaseId);
    if (saved !== undefined && (getAddress(saved.switch) !== this.switchAddress || getAddress(saved.green) !== getAddress(this.record.green.address))) {
      o.log("warn", "checkpoint-discarded", { message: "the checkpoint is of another switch or green; starting the analysis afresh" });
    }
    const usable = saved !== undefined && getAddress(saved.switch) === this.switchAddress && getAddress(saved.green) === getAddress(this.record.green.address);
    this.cp = usable ? saved : this.newCheckpoint();
    this.checkpointPath = o.store.releaseDir(o.chainId, o.releaseId) + "/monitor-checkpoint.json";
    if (usable) o.log("info", "resumed", { fromBlock: this.cp.tip?.n, runs: Object.keys(this.cp.runs) });
    else o.log("info", "started", { switch: this.switchAddress, green: this.record.green.address });
    for (const run of Object.values(this.cp.runs)) ensureMetrics(run, this.metricsFor(run.subject));
    if (o.acknowledge !== undefined) acknowledgeRuns(this.cp, o.acknowledge.reason, (subject) => this.metricsFor(subject), o.log);
  }

  private newCheckpoint(): MonitorCheckpoint {
    return freshCheckpoint({ release: this.o.releaseId, chainId: this.o.chainId, switch: this.switchAddress, green: getAddress(this.record.green.address) });
  }

  private metricsFor(subject: string, canary = this.cp?.runs[subject]?.canary): ResolvedMetric[] {
    const metrics = this.o.waves?.waves.find((w) => w.name === subject)?.analysis?.metrics ?? this.o.config.analysis.metrics;
    // A canary step adds the cohort comparison to the usual analysis of the proxy's traffic; listed first, it names
    // the cause when both fail on the same block (it is the sharper signal at a small share).
    return canary !== undefined ? [...this.o.config.canary.metrics, ...metrics] : metrics;
  }

  /** One step; true when the monitor reached the confirmed head. */
  private async step(): Promise<boolean> {
    const { o } = this;
    this.record = await o.store.get(o.chainId, o.releaseId);
    const { head, confirmed } = await readHead(this.rpc, o.config.confirmations);
    this.head = head;
    this.confirmed = confirmed;
    await this.discover(confirmed);
    if (Object.keys(this.cp.proxies).length === 0) {
      if (o.once === true) {
        const switched = ["live", "rollback-scheduled", "finalized", "rolled-back"].includes(this.record.state);
        throw new BlueGreenError(
          switched ? "BG_MONITOR_PROMOTION_UNCONFIRMED" : "BG_MONITOR_NOT_LIVE",
          switched
            ? `Release "${o.releaseId}" was switched, but its promotion is not yet ${o.config.confirmations} block(s) deep on chain ${o.chainId} (head ${head}). ` +
                "The monitor only reads confirmed blocks; run bg:monitor --once again once a few more blocks are mined."
            : `Release "${o.releaseId}" is not live on chain ${o.chainId}: the switch has not promoted its green ${this.record.green.address} on ${this.record.proxy}. ` +
                `Nothing to monitor yet; promote it first (bg:propose, bg:approve, bg:switch).`,
        );
      }
      if (!this.cp.alerted.includes("waiting-for-promotion")) {
        this.cp.alerted.push("waiting-for-promotion");
        o.log("info", "waiting-for-promotion", { green: this.record.green.address });
      }
      return true;
    }
    await this.handleReorg(confirmed);
    if (this.cp.tip === undefined) return true;
    await growFleets(this.rpc, this.cp, confirmed, o.log);
    let tip = this.cp.tip;
    while (tip.n < confirmed) {
      if (this.stopping()) return false;
      const to = Math.min(confirmed, tip.n + this.batch);
      let digests: BlockDigest[];
      try {
        digests = await readDigests(this.rpc, tip.n + 1, to, this.watchSet(), tip.hash);
      } catch (error) {
        // A batch is all or nothing: under steady loss only a small one gets through.
        if (isTransient(error) && !(error instanceof ChainMovedError)) this.resizeBatch(Math.max(1, Math.floor(this.batch / 2)), describe(error));
        throw error;
      }
      const next = structuredClone(this.cp);
      await this.apply(next, digests);
      this.cp = next;
      await this.persist();
      tip = this.cp.tip!;
      this.resizeBatch(Math.min(o.config.batchBlocks, this.batch * 2));
    }
    await this.readStatuses();
    await this.reconcileRollbacks();
    await this.act();
    await this.persist();
    return tip.n >= confirmed;
  }

  private resizeBatch(size: number, because?: string): void {
    if (size === this.batch) return;
    this.o.log(size < this.batch ? "warn" : "info", "batch-size", { from: this.batch, to: size, ...(because !== undefined ? { because } : {}) });
    this.batch = size;
  }

  /**
   * A rollback we scheduled whose transaction a reorg removed leaves the
   * switch at `live`: forget it, and put the record back to `live`. Whether
   * it is still wanted is for the analysis of the new chain to say (act()
   * schedules again only while a run is failing).
   */
  private async reconcileRollbacks(): Promise<void> {
    const orphans = await findOrphanedRollbacks(this.rpc, this.cp, this.proxyStatus, this.record);
    for (const { proxy, txHash } of orphans) {
      const ar = this.cp.autoRollback;
      if (ar !== undefined) {
        delete ar.scheduled[proxy.toLowerCase()];
        if (Object.keys(ar.scheduled).length + Object.keys(ar.executed).length + ar.vetoed.length === 0) delete this.cp.autoRollback;
      }
      this.o.log("alert", "rollback-orphaned", {
        proxy,
        txHash,
        message: "the rollback transaction is no longer on chain (a reorg removed it) and the switch says live; the analysis of the new chain decides whether to schedule it again",
      });
      const updated = await reconcileOrphanedRollback(this.o.store, this.o.chainId, this.o.releaseId, { proxy, txHash, by: "bg:monitor" });
      if (updated !== undefined) {
        this.record = updated;
        this.reconciled.push({ proxy, from: "rollback-scheduled", to: "live", reason: "rollback-orphaned", txHash });
      }
    }
    if (orphans.length > 0) await this.persist();
  }

  /** Finds proxies where this release's green went live, and opens their analysis runs. */
  private async discover(confirmed: number): Promise<void> {
    const plan = readWavesStep(this.record);
    const candidates = plan?.fleet ?? [this.record.proxy];
    for (const candidate of candidates) {
      const key = candidate.toLowerCase();
      if (this.cp.proxies[key] !== undefined) continue;
      const found = await findPromotion(this.rpc, this.iface, this.switchAddress, this.switchBlock, candidate, this.record.green.address);
      let promotion = found.promotion;
      let canary: CanaryRun | undefined = promotion !== undefined ? await canaryOnSwitch(this.rpc, found.onSwitch, this.record.green.address) : undefined;
      if (promotion === undefined) {
        const step = await findCanaryPromotion(this.rpc, this.iface, this.switchAddress, this.switchBlock, candidate, this.record.green.address);
        promotion = step?.promotion;
        canary = step?.canary;
      }
      if (promotion === undefined || promotion.block > confirmed) continue;
      const wave = plan?.waves.find((w) => w.proxies.some((p) => p.toLowerCase() === key));
      const subject = wave?.name ?? RELEASE_SUBJECT;
      // Everything that can fail (RPC) comes before anything is registered, so a failed step leaves no half-made run.
      let run = this.cp.runs[subject];
      // A beacon's promotion switches its proxies: they are what is watched and measured.
      const fleet = isBeaconRelease(this.record) ? await openFleet(this.rpc, this.record, key, promotion.block, confirmed) : undefined;
      if (run === undefined) {
        const proxies = fleet !== undefined ? Object.keys(fleet.proxies) : (wave?.proxies ?? [candidate]).map((p) => p.toLowerCase());
        run = newRun(subject, proxies, promotion.block + 1, promotion.time, this.metricsFor(subject, canary));
        if (canary !== undefined) run.canary = canary;
        await measureBaseline(this.rpc, this.record, this.o.config, run, this.metricsFor(subject), (m, p, b) => this.probe(m, p, b));
      }
      const header = await readHeader(this.rpc, promotion.block);
      if (header === undefined) throw new ChainMovedError(`block ${promotion.block} is not available`);

      this.o.log("info", "promotion-found", {
        proxy: promotion.proxy,
        wave: subject,
        block: promotion.block,
        txHash: promotion.txHash,
        blue: promotion.blue,
        ...(canary !== undefined ? { canary: { router: canary.router, bps: canary.bps, cohortByOrigin: canary.cohortByOrigin } } : {}),
      });
      if (this.cp.runs[subject] === undefined) {
        this.cp.runs[subject] = run;
        this.o.log("info", "analysis-started", { wave: subject, proxies: run.proxies, fromBlock: run.startBlock, baseline: run.baseline, baselineSource: run.baselineSource });
      } else {
        for (const p of fleet !== undefined ? Object.keys(fleet.proxies) : [key]) if (!run.proxies.includes(p)) run.proxies.push(p);
      }
      this.cp.proxies[key] = { subject, promotedBlock: promotion.block, promotedAt: promotion.time, promoteTx: promotion.txHash };
      if (fleet !== undefined) {
        (this.cp.fleets ??= {})[key] = fleet;
        this.o.log("info", "beacon-proxies", { beacon: promotion.proxy, proxies: Object.keys(fleet.proxies).map((p) => getAddress(p)) });
      }
      const digest: BlockDigest = { n: promotion.block, hash: header.hash, parent: header.parentHash, t: Number(header.timestamp) };
      if (this.cp.tip === undefined) {
        this.cp.tip = { n: digest.n, hash: digest.hash, t: digest.t };
        this.cp.ledger.push(digest);
      } else if (promotion.block < this.cp.tip.n) {
        // Found after blocks past its promotion were processed for other proxies: read them again with it.
        const kept = this.cp.ledger.find((b) => b.n === promotion.block);
        if (kept !== undefined && kept.hash === digest.hash) {
          this.rewindTo(kept, "late-promotion");
        } else {
          this.o.log("error", "late-promotion", {
            proxy: promotion.proxy,
            block: promotion.block,
            processedUntil: this.cp.tip.n,
            message: "its traffic before the next block is not counted (the blocks are no longer kept)",
          });
        }
      }
    }
  }

  private watchSet(): WatchSet {
    return watchSetOf(this.cp);
  }

  /** Re-checks the last processed block; on a reorg, rolls everything back to the fork point. */
  private async handleReorg(confirmed: number): Promise<void> {
    const tip = this.cp.tip!;
    const onChain = await readHeader(this.rpc, tip.n);
    if (onChain !== undefined && onChain.hash.toLowerCase() === tip.hash.toLowerCase()) return;
    const fork = await findForkPoint(this.rpc, this.cp.ledger.map((b) => ({ n: b.n, hash: b.hash })));
    if (fork === undefined) {
      this.o.log("error", "deep-reorg", {
        processedUntil: tip.n,
        message: `none of the last ${this.cp.ledger.length} processed blocks is on the chain any more; the analysis restarts from the promotions`,
      });
      const fresh = this.newCheckpoint();
      fresh.autoRollback = this.cp.autoRollback;
      fresh.alerted = this.cp.alerted;
      fresh.acknowledgements = this.cp.acknowledgements;
      this.cp = fresh;
      await this.discover(confirmed);
      return;
    }
    this.rewindTo(this.cp.ledger.find((b) => b.n === fork)!, "reorg");
  }

  /** Forgets every block after `fork` (kept in the ledger): counts, gas samples and measurements. */
  private rewindTo(fork: BlockDigest, why: "reorg" | "late-promotion"): void {
    const dropped = rewindLedger(this.cp, fork);
    for (const run of Object.values(this.cp.runs)) rewindRun(run, this.metricsFor(run.subject), { n: fork.n, t: fork.t });
    this.o.log("warn", why, {
      forkBlock: fork.n,
      rolledBack: dropped.length,
      message: why === "reorg" ? "counts and measurements of the orphaned blocks were rolled back" : "the blocks after the promotion are read again",
    });
  }

  /** Feeds a batch of digests to `next` (a copy of the checkpoint, swapped in only once all went well). */
  private async apply(next: MonitorCheckpoint, digests: BlockDigest[]): Promise<void> {
    const { o } = this;
    appendBlocks(next, digests);
    const ledgerRange = (from: number, to: number) => next.ledger.filter((b) => b.n >= from && b.n <= to);
    const retention = measurementRetention(o.config.reorgDepth);
    for (const run of Object.values(next.runs)) {
      const events = await advanceRun(run, this.metricsFor(run.subject), digests, ledgerRange, (m, p, b) => this.probe(m, p, b), retention);
      for (const event of events) logRunEvent(o.log, event);
    }
    pruneLedger(next, o.config.reorgDepth);
    next.updatedAt = new Date().toISOString();
  }

  private async probe(metric: ResolvedMetric, proxy: string, block: number) {
    let compiled = this.probes.get(metric.name);
    if (compiled === undefined) {
      compiled = compileProbe(metric.name, metric.probe!.call, metric.probe!.args);
      this.probes.set(metric.name, compiled);
    }
    return runProbe(this.rpc, compiled, metric.probe?.to ?? proxy, block);
  }

  private async readStatuses(): Promise<void> {
    for (const proxy of Object.keys(this.cp.proxies)) {
      const state = await readProxyOnSwitch(this.rpc, this.iface, this.switchAddress, proxy);
      const previous = this.proxyStatus[proxy];
      const status = isReleaseGreen(this.cp, state.green) ? state.status : "none";
      if (previous !== undefined && previous !== status) {
        this.o.log(status === "rolled-back" || status === "rollback-scheduled" ? "warn" : "info", "switch-status", { proxy: state.proxy, from: previous, to: status });
      }
      this.proxyStatus[proxy] = status;
      if (status === "live") await this.followCanaryStep(proxy, state);
      if (state.adopted && status !== "none") await this.checkSwitchRecord(state.proxy, state.proxyAdmin, state.implementation);
    }
  }

  /**
   * A later canary step (a new router with a larger share) or the last one
   * (green itself): from the block it went live in, calls are put in the
   * cohorts of what then ran, so one run follows the canary step by step.
   */
  private async followCanaryStep(proxy: string, state: ProxyOnSwitch): Promise<void> {
    const subject = this.cp.proxies[proxy]?.subject;
    const canary = subject !== undefined ? this.cp.runs[subject]?.canary : undefined;
    if (canary === undefined || state.green !== getAddress(this.record.green.address)) return;
    const current = routingAt(canary, Number.MAX_SAFE_INTEGER);
    if (state.implementation === getAddress(current.router)) return;
    const next =
      state.implementation === state.green
        ? { router: state.green, bps: 10_000, salt: current.salt, cohortByOrigin: current.cohortByOrigin }
        : await canaryOnSwitch(this.rpc, state, this.record.green.address);
    if (next === undefined || next.bps <= current.bps) return;
    const { first: fromBlock } = await blocksAt(this.rpc, state.promotedAt, this.switchBlock);
    (canary.steps ??= []).push({ fromBlock, router: getAddress(next.router), bps: next.bps, salt: next.salt, cohortByOrigin: next.cohortByOrigin });
    this.o.log("info", "canary-step", { proxy: state.proxy, router: getAddress(next.router), bps: next.bps, fromBlock });
    await this.persist();
  }

  /**
   * The proxy's ERC-1967 slots must say what the switch records: a v5 proxy
   * cannot be checked on chain, so a green that wrote its slots, or code that
   * vanished, shows only here. A mismatch is critical and fails every open
   * analysis of the proxy, so the usual alert and auto-rollback follow.
   */
  private async checkSwitchRecord(proxy: string, proxyAdmin: string, implementation: string): Promise<void> {
    const rpc: Eip1193Provider = { request: ({ method, params }) => this.rpc.request(method, (params as unknown[] | undefined) ?? []) };
    const { findings } = await compareProxyWithRecord(rpc, { proxy, proxyAdmin, implementation });
    if (findings.length === 0) return;
    const reason = findings.map((f) => f.message).join(" ");
    for (const f of findings) {
      const key = `switch-record:${proxy}:${f.kind}:${f.onChain}`;
      if (this.cp.alerted.includes(key)) continue;
      this.cp.alerted.push(key);
      this.o.log("alert", "switch-record-mismatch", { proxy, severity: f.severity, kind: f.kind, recorded: f.recorded, onChain: f.onChain, message: f.message });
    }
    // A beacon is in no run's proxies (its proxies are): its subject names the run.
    const subject = this.cp.proxies[proxy.toLowerCase()]?.subject;
    for (const run of Object.values(this.cp.runs)) {
      if ((run.subject !== subject && !run.proxies.includes(proxy.toLowerCase())) || run.phase === "Failed" || run.phase === "Error") continue;
      const from = run.phase;
      run.phase = "Failed";
      run.cause = { metric: "switch-record", reason };
      if (this.cp.tip !== undefined) run.completedAt = { block: this.cp.tip.n, time: this.cp.tip.t };
      logRunEvent(this.o.log, { kind: "run-phase", subject: run.subject, from, to: "Failed", cause: run.cause });
    }
  }

  /** Alerts and auto-rollback, then the record's summary and the metrics snapshot. */
  private async act(): Promise<void> {
    const { o, cp } = this;
    const failing = Object.values(cp.runs).filter((r) => r.phase === "Failed" || r.phase === "Error");
    raiseAlerts(cp, o.log, { id: o.releaseId, autoRollback: o.autoRollback !== undefined });
    if (failing.length > 0 && o.autoRollback !== undefined) {
      const run = failing[0]!;
      const reason = `analysis of ${run.subject} ${run.phase}: ${run.cause !== undefined ? `${run.cause.metric}: ${run.cause.reason}` : "no cause recorded"}`;
      await progressAutoRollback(
        { rpc: this.rpc, iface: this.iface, switchAddress: this.switchAddress, guardian: o.autoRollback.guardian, store: o.store, log: o.log },
        cp,
        { subject: run.subject, reason },
      );
      await this.readStatuses();
    }
    await this.publish();
  }

  private async publish(): Promise<void> {
    const { o } = this;
    const step = monitorStepOf(this.cp, readMonitorStep(this.record));
    const summary = JSON.stringify({ ...step, updatedAt: "" });
    if (summary !== this.lastStepSummary) {
      const updated = await o.store.update(o.chainId, o.releaseId, (current) => (current === undefined ? undefined : withMonitorStep(current, step)));
      if (updated !== undefined) this.record = updated;
      this.lastStepSummary = summary;
    }
    o.metrics?.update(metricsSnapshotOf(this.cp, { releaseState: this.record.state, proxyStatus: this.proxyStatus, head: this.head }, o.abi));
  }

  private async persist(): Promise<void> {
    this.cp.updatedAt = new Date().toISOString();
    this.checkpointPath = await writeCheckpoint(this.o.store, this.cp);
  }

  private releaseClosed(): boolean {
    const statuses = Object.values(this.proxyStatus);
    if (statuses.length === 0) return false;
    if (statuses.some((s) => s === "rollback-scheduled")) return false;
    if (statuses.some((s) => s === "rolled-back")) return true;
    const plan = readWavesStep(this.record);
    const all = plan?.fleet.length ?? 1;
    return statuses.length >= all && statuses.every((s) => s === "finalized" || s === "none");
  }
}
