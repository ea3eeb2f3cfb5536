/**
 * User probes: a view call on the proxy (or another contract) at a given
 * block, whose decoded return value a condition judges. Calls are pinned to
 * a block so a measurement means the same thing when it is replayed after a
 * restart or a reorg.
 */
import { FunctionFragment, Interface } from "ethers";

import { quantity } from "../common/format.js";
import { BlueGreenError } from "../errors.js";
import type { MetricValue } from "./analysis.js";
import { ExecutionRevertedError, type RpcClient } from "./rpc-client.js";

export type ProbeOutcome = { kind: "value"; value: MetricValue } | { kind: "reverted"; message: string } | { kind: "undecodable"; message: string };

export interface CompiledProbe {
  fragment: FunctionFragment;
  data: string;
}

/** Parses the probe's ABI and encodes its call once; a config mistake is a user error. */
export function compileProbe(name: string, call: string, args: unknown[]): CompiledProbe {
  const signature = call.trim().startsWith("function ") ? call.trim() : `function ${call.trim()}`;
  let fragment: FunctionFragment;
  try {
    fragment = FunctionFragment.from(signature);
  } catch (error) {
    throw new BlueGreenError(
      "BG_MONITOR_PROBE_INVALID",
      `Probe "${name}": "${call}" is not a function ABI (${(error as Error).message.split("(")[0]!.trim()}). ` +
        'Write it like "function totalSupply() view returns (uint256)".',
    );
  }
  if (fragment.outputs.length !== 1) {
    throw new BlueGreenError("BG_MONITOR_PROBE_INVALID", `Probe "${name}": ${fragment.format()} must return exactly one value to judge; it returns ${fragment.outputs.length}.`);
  }
  let data: string;
  try {
    data = new Interface([fragment]).encodeFunctionData(fragment, args);
  } catch (error) {
    throw new BlueGreenError("BG_MONITOR_PROBE_INVALID", `Probe "${name}": its args do not fit ${fragment.format()}: ${(error as Error).message.split("(")[0]!.trim()}. Fix "args".`);
  }
  return { fragment, data };
}

/** Calls the probe on `to` at block `block`. Transport faults propagate (the step is retried); reverts are outcomes. */
export async function runProbe(rpc: RpcClient, probe: CompiledProbe, to: string, block: number): Promise<ProbeOutcome> {
  let raw: string;
  try {
    raw = await rpc.request<string>("eth_call", [{ to, data: probe.data }, quantity(block)]);
  } catch (error) {
    if (error instanceof ExecutionRevertedError) return { kind: "reverted", message: error.message };
    throw error;
  }
  try {
    const [decoded] = new Interface([probe.fragment]).decodeFunctionResult(probe.fragment, raw);
    return { kind: "value", value: toMetricValue(decoded) };
  } catch (error) {
    return { kind: "undecodable", message: `cannot decode ${raw.slice(0, 66)} as ${probe.fragment.outputs[0]!.type}: ${(error as Error).message.split("(")[0]!.trim()}` };
  }
}

/** Numbers stay numbers (big integers lose precision beyond 2^53, fine for thresholds); the rest becomes a string. */
function toMetricValue(v: unknown): MetricValue {
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "string") return v;
  return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));
}
