/**
 * The value of a traffic metric over a run of block digests: revert rate,
 * request rate, a gas quantile, an event rate. Pure functions; the same code
 * measures green's windows and blue's baseline, so they compare like for like.
 */
import type { BlockDigest, CallSample } from "./block-digest.js";
import type { ResolvedMetric } from "./config.js";

export interface TrafficValue {
  /** Undefined when there is nothing to measure (no calls for a rate or a quantile). */
  value: number | undefined;
  samples: number;
}

/**
 * Measures `metric` over `blocks`, counting only the given proxies.
 * `seconds` is the chain time the window spans (for per-minute rates).
 */
export function measureTraffic(metric: ResolvedMetric, blocks: BlockDigest[], proxies: Set<string>, seconds: number): TrafficValue {
  const calls: CallSample[] = [];
  let events = 0;
  for (const block of blocks) {
    for (const call of block.calls ?? []) if (proxies.has(call.proxy)) calls.push(call);
    if (metric.kind === "events") {
      for (const e of block.events ?? []) if (proxies.has(e.proxy) && e.topic0 === metric.eventTopic) events += e.count;
    }
  }
  const minutes = Math.max(seconds, 1) / 60;
  const bySelector = (c: CallSample) => metric.selector === undefined || c.selector === metric.selector;
  switch (metric.kind) {
    case "revertRate": {
      const direct = calls.filter((c) => c.direct && bySelector(c));
      const reverted = direct.filter((c) => !c.ok).length;
      return { value: direct.length === 0 ? undefined : reverted / direct.length, samples: direct.length };
    }
    case "requestRate": {
      const counted = calls.filter(bySelector);
      return { value: counted.length / minutes, samples: counted.length };
    }
    case "gas": {
      const gas = calls.filter((c) => c.direct && c.ok && bySelector(c)).map((c) => c.gas);
      return { value: gas.length === 0 ? undefined : quantile(gas, metric.quantile ?? 0.95), samples: gas.length };
    }
    case "events":
      return { value: events / minutes, samples: events };
    case "probe":
    case "mannWhitney":
      throw new Error(`${metric.kind} is not a traffic metric`);
  }
}

/** Nearest-rank quantile (no interpolation: every value reported was really used). */
export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1]!;
}

/** Totals over digests, per proxy and selector, for the Prometheus endpoint and reports. */
export interface TrafficTotals {
  /** key `${proxy}|${selector}|${direct ? "direct" : "internal"}|${ok ? "success" : "reverted"}` → count */
  calls: Record<string, number>;
  /** key `${proxy}|${topic0}` → count */
  events: Record<string, number>;
}

export function emptyTotals(): TrafficTotals {
  return { calls: {}, events: {} };
}

/** Adds (sign 1) or removes (sign -1) a block's traffic. */
export function addToTotals(totals: TrafficTotals, block: BlockDigest, sign: 1 | -1 = 1): void {
  for (const c of block.calls ?? []) {
    const key = `${c.proxy}|${c.selector}|${c.direct ? "direct" : "internal"}|${c.ok ? "success" : "reverted"}`;
    totals.calls[key] = (totals.calls[key] ?? 0) + sign;
    if (totals.calls[key] === 0) delete totals.calls[key];
  }
  for (const e of block.events ?? []) {
    const key = `${e.proxy}|${e.topic0}`;
    totals.events[key] = (totals.events[key] ?? 0) + sign * e.count;
    if (totals.events[key] === 0) delete totals.events[key];
  }
}

export function mergeTotals(a: TrafficTotals, b: TrafficTotals): TrafficTotals {
  const out = emptyTotals();
  for (const [k, v] of [...Object.entries(a.calls), ...Object.entries(b.calls)]) out.calls[k] = (out.calls[k] ?? 0) + v;
  for (const [k, v] of [...Object.entries(a.events), ...Object.entries(b.events)]) out.events[k] = (out.events[k] ?? 0) + v;
  return out;
}
