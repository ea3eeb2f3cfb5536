/**
 * The monitor's Prometheus endpoint, through prom-client: RED metrics of the
 * proxy's traffic (rate: requests, errors: reverts, "duration": gas), the
 * analysis, the release state, and how far the monitor is behind the head.
 *
 * Values are read from the monitor's state at scrape time, so they are
 * exactly what the checkpoint holds: a restart does not reset them, and a
 * reorg corrects them (a counter can then go down, which Prometheus reads as
 * a counter reset).
 */
import { type Server, createServer } from "node:http";

import { Counter, Gauge, Registry } from "prom-client";

import { RELEASE_STATES } from "../release/record.js";
import { SWITCH_STATUSES, type SwitchStatus } from "../switch/read-switch.js";
import { type AnalysisPhase, tally } from "./analysis.js";
import type { AnalysisRunState } from "./analysis-run.js";
import { registerCanaryMetrics } from "./canary-prometheus.js";
import { quantile, type TrafficTotals } from "./traffic-metrics.js";

const PHASES: readonly AnalysisPhase[] = ["Pending", "Running", "Successful", "Failed", "Error", "Inconclusive"];

/** What the endpoint shows; the monitor hands a fresh one after every step. */
export interface MetricsSnapshot {
  release: string;
  totals: TrafficTotals;
  /** Lower-case proxy → its wave (or "release"). */
  subjectOf: Record<string, string>;
  /** `${proxy}|${selector}` → recent gasUsed values. */
  gas: Record<string, number[]>;
  runs: AnalysisRunState[];
  releaseState: string;
  proxyStatus: Record<string, SwitchStatus>;
  head?: number;
  lastProcessed?: number;
  /** Readable names for selectors and event topics (from green's ABI); hex otherwise. */
  selectorName(selector: string): string;
  eventName(topic0: string): string;
}

export class MonitorMetrics {
  readonly registry = new Registry();
  private snapshot: MetricsSnapshot | undefined;
  private readonly rpcErrors: Counter;
  private server: Server | undefined;

  constructor(release: string) {
    const self = this;
    const snap = () => self.snapshot;
    this.registry.setDefaultLabels({ release });

    new Counter({
      name: "bluegreen_proxy_requests_total",
      help: "Calls to the proxy since its promotion (status: success or reverted; origin: direct, or internal as seen through the proxy's logs)",
      labelNames: ["wave", "proxy", "selector", "origin", "status"],
      registers: [this.registry],
      collect() {
        this.reset();
        const s = snap();
        if (s === undefined) return;
        for (const [key, n] of Object.entries(s.totals.calls)) {
          const [proxy, selector, origin, status] = key.split("|") as [string, string, string, string];
          this.inc({ wave: s.subjectOf[proxy] ?? "", proxy, selector: selector === "internal" ? "internal" : s.selectorName(selector), origin, status }, n);
        }
      },
    });
    new Counter({
      name: "bluegreen_proxy_events_total",
      help: "Events the proxy emitted since its promotion",
      labelNames: ["wave", "proxy", "event"],
      registers: [this.registry],
      collect() {
        this.reset();
        const s = snap();
        if (s === undefined) return;
        for (const [key, n] of Object.entries(s.totals.events)) {
          const [proxy, topic] = key.split("|") as [string, string];
          this.inc({ wave: s.subjectOf[proxy] ?? "", proxy, event: s.eventName(topic) }, n);
        }
      },
    });
    new Gauge({
      name: "bluegreen_proxy_gas_used",
      help: "gasUsed of recent successful direct calls to the proxy, per selector (quantile 0.5 and 0.95)",
      labelNames: ["wave", "proxy", "selector", "quantile"],
      registers: [this.registry],
      collect() {
        this.reset();
        const s = snap();
        if (s === undefined) return;
        for (const [key, values] of Object.entries(s.gas)) {
          if (values.length === 0) continue;
          const [proxy, selector] = key.split("|") as [string, string];
          for (const q of [0.5, 0.95]) this.set({ wave: s.subjectOf[proxy] ?? "", proxy, selector: s.selectorName(selector), quantile: String(q) }, quantile(values, q));
        }
      },
    });
    new Gauge({
      name: "bluegreen_release_state",
      help: "1 for the release's current lifecycle state, 0 for the others",
      labelNames: ["state"],
      registers: [this.registry],
      collect() {
        const s = snap();
        if (s === undefined) return;
        for (const state of RELEASE_STATES) this.set({ state }, s.releaseState === state ? 1 : 0);
      },
    });
    new Gauge({
      name: "bluegreen_proxy_switch_status",
      help: "1 for the status the switch reports for the proxy's latest release, 0 for the others",
      labelNames: ["wave", "proxy", "status"],
      registers: [this.registry],
      collect() {
        this.reset();
        const s = snap();
        if (s === undefined) return;
        for (const [proxy, current] of Object.entries(s.proxyStatus)) {
          for (const status of SWITCH_STATUSES) this.set({ wave: s.subjectOf[proxy] ?? "", proxy, status }, status === current ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: "bluegreen_analysis_phase",
      help: "1 for the current phase of each analysis run (one per wave, or 'release'), 0 for the others",
      labelNames: ["wave", "phase"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const run of snap()?.runs ?? []) for (const phase of PHASES) this.set({ wave: run.subject, phase }, run.phase === phase ? 1 : 0);
      },
    });
    new Counter({
      name: "bluegreen_analysis_measurements_total",
      help: "Measurements taken per metric, by phase",
      labelNames: ["wave", "metric", "phase"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const run of snap()?.runs ?? []) {
          for (const m of Object.values(run.metrics)) {
            const t = tally(m);
            this.inc({ wave: run.subject, metric: m.name, phase: "Successful" }, t.successful);
            this.inc({ wave: run.subject, metric: m.name, phase: "Failed" }, t.failed);
            this.inc({ wave: run.subject, metric: m.name, phase: "Inconclusive" }, t.inconclusive);
            this.inc({ wave: run.subject, metric: m.name, phase: "Error" }, t.error);
          }
        }
      },
    });
    new Gauge({
      name: "bluegreen_analysis_metric_value",
      help: "Latest measured value of each numeric metric (probes returning true/false as 1/0)",
      labelNames: ["wave", "metric"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const run of snap()?.runs ?? []) {
          for (const m of Object.values(run.metrics)) {
            const v = m.measurements[m.measurements.length - 1]?.value;
            if (typeof v === "number" && Number.isFinite(v)) this.set({ wave: run.subject, metric: m.name }, v);
            else if (typeof v === "boolean") this.set({ wave: run.subject, metric: m.name }, v ? 1 : 0);
          }
        }
      },
    });
    new Gauge({
      name: "bluegreen_blocks_behind_head",
      help: "Blocks between the chain head and the last block the monitor processed (confirmation depth included)",
      registers: [this.registry],
      collect() {
        const s = snap();
        if (s?.head !== undefined && s.lastProcessed !== undefined) this.set(Math.max(0, s.head - s.lastProcessed));
      },
    });
    new Gauge({
      name: "bluegreen_last_processed_block",
      help: "Last confirmed block the monitor processed",
      registers: [this.registry],
      collect() {
        const s = snap();
        if (s?.lastProcessed !== undefined) this.set(s.lastProcessed);
      },
    });
    registerCanaryMetrics(this.registry, () => snap()?.runs ?? []);
    this.rpcErrors = new Counter({
      name: "bluegreen_rpc_errors_total",
      help: "Failed JSON-RPC attempts (each was retried with backoff)",
      registers: [this.registry],
    });
  }

  update(snapshot: MetricsSnapshot): void {
    this.snapshot = snapshot;
  }

  rpcError(): void {
    this.rpcErrors.inc();
  }

  /** Serves GET /metrics (and /healthz) on `port` (0: any free port); resolves to the port bound. */
  async serve(port: number, host = "127.0.0.1"): Promise<number> {
    this.server = createServer((req, res) => {
      const url = (req.url ?? "/").split("?")[0];
      if (req.method === "GET" && url === "/metrics") {
        this.registry.metrics().then(
          (body) => {
            res.writeHead(200, { "content-type": this.registry.contentType });
            res.end(body);
          },
          (error: unknown) => {
            res.writeHead(500, { "content-type": "text/plain" });
            res.end(String(error));
          },
        );
        return;
      }
      if (req.method === "GET" && url === "/healthz") {
        const runs = this.snapshot?.runs ?? [];
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ release: this.snapshot?.release, lastProcessed: this.snapshot?.lastProcessed, runs: runs.map((r) => ({ wave: r.subject, phase: r.phase })) }));
        return;
      }
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found: try /metrics\n");
    });
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    const address = server.address();
    return typeof address === "object" && address !== null ? address.port : port;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
