/**
 * The canary's series on the monitor's Prometheus endpoint, labelled by
 * `cohort` (green, blue): each canary metric's latest value and sample count
 * per cohort over the same blocks, and each judge's p-value. Read from the
 * runs at scrape time, like the rest of the endpoint.
 */
import { Gauge, type Registry } from "prom-client";

import type { AnalysisRunState } from "./analysis-run.js";

export function registerCanaryMetrics(registry: Registry, runs: () => AnalysisRunState[]): void {
  const latest = function* () {
    for (const run of runs()) {
      if (run.canary === undefined) continue;
      for (const m of Object.values(run.metrics)) {
        const cohorts = m.measurements[m.measurements.length - 1]?.cohorts;
        if (cohorts !== undefined) yield { wave: run.subject, metric: m.name, cohorts };
      }
    }
  };
  new Gauge({
    name: "bluegreen_canary_metric_value",
    help: "Latest value of each canary metric per cohort over the same blocks (green: callers routed to green, blue: the rest); a judge's revert rate or median gas",
    labelNames: ["wave", "metric", "cohort"],
    registers: [registry],
    collect() {
      this.reset();
      for (const { wave, metric, cohorts } of latest()) {
        for (const cohort of ["green", "blue"] as const) {
          const value = cohorts[cohort].value;
          if (value !== undefined && Number.isFinite(value)) this.set({ wave, metric, cohort }, value);
        }
      }
    },
  });
  new Gauge({
    name: "bluegreen_canary_samples",
    help: "Samples (calls) behind the latest measurement of each canary metric, per cohort",
    labelNames: ["wave", "metric", "cohort"],
    registers: [registry],
    collect() {
      this.reset();
      for (const { wave, metric, cohorts } of latest()) for (const cohort of ["green", "blue"] as const) this.set({ wave, metric, cohort }, cohorts[cohort].samples);
    },
  });
  new Gauge({
    name: "bluegreen_canary_judge_p_value",
    help: "p-value of the latest Mann–Whitney judgement of green's cohort against blue's",
    labelNames: ["wave", "metric"],
    registers: [registry],
    collect() {
      this.reset();
      for (const { wave, metric, cohorts } of latest()) if (cohorts.judge !== undefined) this.set({ wave, metric }, cohorts.judge.pValue);
    },
  });
}
