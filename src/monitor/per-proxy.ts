/**
 * Metrics marked `perProxy`: each watched proxy (a beacon's proxies, a
 * wave's) measured on its own against its own baseline, and the worst one
 * judged. The default measures the proxies together, which a single bad
 * proxy among many quiet ones can hide in; per proxy it cannot.
 */
import { type Measurement, type MetricValue, evaluateMeasurement, isWorse } from "./analysis.js";
import type { BlockDigest } from "./block-digest.js";
import type { ResolvedMetric } from "./config.js";
import { measureTraffic } from "./traffic-metrics.js";

/** The worst proxy's measurement of the window; undefined while no proxy has enough samples (the window stays open). */
export function measurePerProxy(
  run: { proxies: string[]; baseline: Record<string, Record<string, MetricValue>> },
  metric: ResolvedMetric,
  window: { fromBlock: number; fromTime: number },
  block: BlockDigest,
  blocks: BlockDigest[],
): Measurement | undefined {
  let worst: Measurement | undefined;
  for (const proxy of run.proxies) {
    const { value, samples } = measureTraffic(metric, blocks, new Set([proxy]), block.t - window.fromTime);
    if (samples < metric.minSamples || value === undefined) continue;
    // A proxy's own baseline only: the fleet's together is not what one proxy of it did.
    const baseline = run.baseline[metric.name]?.[proxy];
    const { phase, message } = evaluateMeasurement(metric, value, { baseline, samples, proxy, block: block.n });
    const m: Measurement = {
      phase,
      value,
      ...(baseline !== undefined ? { baseline } : {}),
      samples,
      fromBlock: window.fromBlock,
      toBlock: block.n,
      startedAt: window.fromTime,
      finishedAt: block.t,
      proxy,
      message: `${proxy}: ${message}`,
    };
    if (worst === undefined || isWorse(worst.phase, m.phase)) worst = m;
  }
  return worst;
}
