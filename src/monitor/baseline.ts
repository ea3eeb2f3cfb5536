/**
 * Blue's baseline: the same metrics measured on blue, so conditions can say
 * "no worse than before" (`result <= baseline * 1.2`).
 *
 * Traffic metrics are measured over blocks where blue served the proxies:
 * the block range the replay step replayed (real traffic green was already
 * compared on), when the release records one before the promotion, else the
 * last `baseline.blocks` blocks before the promotion. Probes are called at
 * the block before the promotion: blue's answer.
 */
import { z } from "zod";

import type { ReleaseRecord } from "../release/record.js";
import type { MetricValue } from "./analysis.js";
import type { AnalysisRunState } from "./analysis-run.js";
import type { BlockDigest } from "./block-digest.js";
import { readDigests } from "./chain-follower.js";
import type { MonitorConfig, ResolvedMetric } from "./config.js";
import type { ProbeOutcome } from "./probes.js";
import type { RpcClient } from "./rpc-client.js";
import { measureTraffic } from "./traffic-metrics.js";

/** The part of `steps.replay` the baseline reads: the source block range. */
const replayRangeSchema = z.object({ fromBlock: z.number().int().nonnegative(), toBlock: z.number().int().nonnegative() }).passthrough();

export interface BaselineRange {
  from: number;
  to: number;
  source: string;
}

/** Which blocks blue's baseline is measured on, for a promotion in block `promotedBlock`. */
export function baselineRange(record: ReleaseRecord, config: MonitorConfig, promotedBlock: number): BaselineRange | undefined {
  const last = promotedBlock - 1;
  if (last < 0) return undefined;
  if (config.baseline.source !== "pre-promotion") {
    const replay = replayRangeSchema.safeParse(record.steps.replay);
    if (replay.success && replay.data.toBlock <= last && replay.data.fromBlock <= replay.data.toBlock) {
      const from = Math.max(replay.data.fromBlock, replay.data.toBlock - config.baseline.blocks + 1);
      return { from, to: replay.data.toBlock, source: `replay blocks ${from}-${replay.data.toBlock}` };
    }
  }
  const from = Math.max(0, last - config.baseline.blocks + 1);
  return { from, to: last, source: `blocks ${from}-${last} before the promotion` };
}

/**
 * Measures the baseline of every metric of `run` and stores it in the run.
 * A metric without enough blue traffic gets no baseline (its conditions that
 * read one are then inconclusive).
 */
export async function measureBaseline(
  rpc: RpcClient,
  record: ReleaseRecord,
  config: MonitorConfig,
  run: AnalysisRunState,
  metrics: ResolvedMetric[],
  probe: (metric: ResolvedMetric, proxy: string, block: number) => Promise<ProbeOutcome>,
): Promise<void> {
  const promotedBlock = run.startBlock - 1;
  const range = baselineRange(record, config, promotedBlock);
  const baseline: Record<string, Record<string, MetricValue>> = {};
  if (range !== undefined) {
    const watch = new Map(run.proxies.map((p) => [p, 0]));
    const blocks: BlockDigest[] = [];
    for (let from = range.from; from <= range.to; from += config.batchBlocks) {
      const to = Math.min(range.to, from + config.batchBlocks - 1);
      blocks.push(...(await readDigests(rpc, from, to, watch, blocks[blocks.length - 1]?.hash)));
    }
    const seconds = blocks.length > 1 ? blocks[blocks.length - 1]!.t - blocks[0]!.t : 0;
    const proxies = new Set(run.proxies);
    for (const metric of metrics) {
      if (metric.kind === "probe") continue;
      const { value, samples } = measureTraffic(metric, blocks, proxies, seconds);
      if (value !== undefined && samples >= Math.max(1, metric.minSamples)) baseline[metric.name] = { "*": value };
      if (metric.perProxy !== true) continue;
      for (const proxy of run.proxies) {
        const own = measureTraffic(metric, blocks, new Set([proxy]), seconds);
        if (own.value !== undefined && own.samples >= Math.max(1, metric.minSamples)) (baseline[metric.name] ??= {})[proxy] = own.value;
      }
    }
    for (const metric of metrics) {
      if (metric.kind !== "probe") continue;
      const targets = metric.probe?.to !== undefined ? [metric.probe.to.toLowerCase()] : run.proxies;
      for (const proxy of targets) {
        const outcome = await probe(metric, proxy, promotedBlock - 1 >= 0 ? promotedBlock - 1 : 0);
        if (outcome.kind === "value") (baseline[metric.name] ??= {})[proxy] = outcome.value;
      }
    }
  }
  run.baseline = baseline;
  run.baselineSource = range?.source ?? "none (promoted in the first block)";
}
