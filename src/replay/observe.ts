/**
 * What one execution showed, read from a trace: geth's `callTracer` (status,
 * output, gas, logs, the calls that reached the proxy) and `prestateTracer`
 * in diff mode (the proxy's storage writes). Both come from one execution
 * through `muxTracer` where the node has it.
 */
import { toBigInt } from "./chain-data.js";
import type { LogEntry, Observation, ReplayFleet } from "./types.js";

export interface CallFrame {
  type?: string;
  from?: string;
  to?: string;
  input?: string;
  output?: string;
  error?: string;
  revertReason?: string;
  gasUsed?: string;
  calls?: CallFrame[];
  logs?: Array<{ address: string; topics?: string[]; data?: string; index?: string; position?: string }>;
}

export interface PrestateDiff {
  pre?: Record<string, { storage?: Record<string, string> }>;
  post?: Record<string, { storage?: Record<string, string> }>;
}

const ZERO_WORD = "0x" + "0".repeat(64);

/** The trace config that gets both tracers in one execution. */
export const MUX_TRACER = {
  tracer: "muxTracer",
  tracerConfig: { callTracer: { withLog: true }, prestateTracer: { diffMode: true, disableCode: true } },
} as const;
export const CALL_TRACER = { tracer: "callTracer", tracerConfig: { withLog: true } } as const;
export const PRESTATE_DIFF_TRACER = { tracer: "prestateTracer", tracerConfig: { diffMode: true, disableCode: true } } as const;

/**
 * Builds an observation from a call trace and (optionally) a prestate diff,
 * of one proxy or of a beacon's fleet (every proxy of it, storage keyed per proxy).
 */
export function observe(call: CallFrame, diff: PrestateDiff | undefined, watched: string | ReplayFleet): Observation {
  const fleet = typeof watched === "string" ? undefined : watched;
  const proxies = new Set(typeof watched === "string" ? [watched.toLowerCase()] : watched.proxies.map((p) => p.toLowerCase()));
  const reached = new Set<string>();
  const failed = call.error !== undefined;
  const output = call.output ?? "0x";
  const logs: Array<LogEntry & { order: number }> = [];
  const proxyInputs: string[] = [];
  const delegates = new Set<string>();
  let sequence = 0;
  const walk = (frame: CallFrame, reverted: boolean) => {
    const frameReverted = reverted || frame.error !== undefined;
    const to = (frame.to ?? "").toLowerCase();
    if (proxies.has(to) && frame.input !== undefined) {
      proxyInputs.push(frame.input.toLowerCase());
      reached.add(to);
    }
    if (frame.type === "DELEGATECALL" && proxies.has((frame.from ?? "").toLowerCase()) && frame.to !== undefined) delegates.add(frame.to.toLowerCase());
    // Interleave this frame's logs with its subcalls by `position`, so the
    // order is emission order even when the node gives no log index.
    const children = frame.calls ?? [];
    const frameLogs = [...(frame.logs ?? [])].sort((a, b) => Number(a.position ?? 0) - Number(b.position ?? 0));
    let next = 0;
    for (let i = 0; i <= children.length; i++) {
      while (next < frameLogs.length && Number(frameLogs[next]!.position ?? children.length) <= i) {
        const log = frameLogs[next++]!;
        const order = log.index !== undefined ? Number(log.index) : sequence;
        sequence++;
        if (!frameReverted) {
          logs.push({
            address: log.address.toLowerCase(),
            topics: (log.topics ?? []).map((t) => t.toLowerCase()),
            data: (log.data ?? "0x").toLowerCase(),
            order,
          });
        }
      }
      if (i < children.length) walk(children[i]!, frameReverted);
    }
  };
  walk(call, false);
  logs.sort((a, b) => a.order - b.order);
  return {
    status: failed ? "revert" : "success",
    ...(failed ? { error: call.error!, revertData: output.toLowerCase() } : { returnData: output.toLowerCase() }),
    gasUsed: toBigInt(call.gasUsed ?? "0x0"),
    logs: logs.map(({ order: _order, ...log }) => log),
    storage: diff !== undefined ? fleetWrites(diff, [...proxies], fleet) : {},
    proxySelectors: [...new Set(proxyInputs.map((input) => input.slice(0, 10)))],
    proxyInputs,
    delegates: [...delegates],
    ...(fleet?.kind === "beacon" ? { proxies: [...reached].sort() } : {}),
  };
}

function fleetWrites(diff: PrestateDiff, proxies: string[], fleet: ReplayFleet | undefined): Record<string, string> {
  if (fleet?.kind !== "beacon") return storageWrites(diff, proxies[0]!);
  const writes: Record<string, string> = {};
  for (const proxy of proxies) for (const [slot, value] of Object.entries(storageWrites(diff, proxy))) writes[storageKey(fleet, proxy, slot)] = value;
  return writes;
}

/** A storage write's key: the slot, or for a beacon's fleet `<proxy>:<slot>`. */
export function storageKey(fleet: ReplayFleet | undefined, proxy: string, slot: string): string {
  return fleet?.kind === "beacon" ? `${proxy.toLowerCase()}:${slot}` : slot;
}

/** The proxy (undefined for a plain slot key) and the slot of a storage key. */
export function splitStorageKey(key: string): { proxy?: string; slot: string } {
  const at = key.indexOf(":");
  return at < 0 ? { slot: key } : { proxy: key.slice(0, at), slot: key.slice(at + 1) };
}


/**
 * The post values of the slots of `account` that changed. In diff mode a
 * slot cleared to zero is in `pre` but not in `post`.
 */
export function storageWrites(diff: PrestateDiff, account: string): Record<string, string> {
  const pre = findAccount(diff.pre, account)?.storage ?? {};
  const post = findAccount(diff.post, account)?.storage ?? {};
  const writes: Record<string, string> = {};
  for (const slot of new Set([...Object.keys(pre), ...Object.keys(post)])) {
    const value = post[slot] ?? ZERO_WORD;
    const before = pre[slot] ?? ZERO_WORD;
    if (word(value) !== word(before) || post[slot] !== undefined) writes[word(slot)] = word(value);
  }
  return writes;
}

function findAccount<T>(accounts: Record<string, T> | undefined, address: string): T | undefined {
  if (accounts === undefined) return undefined;
  if (accounts[address] !== undefined) return accounts[address];
  for (const [key, value] of Object.entries(accounts)) if (key.toLowerCase() === address) return value;
  return undefined;
}

/** A storage key or value as a lower-case 32-byte word. */
export function word(hex: string): string {
  const digits = hex.toLowerCase().replace(/^0x/, "");
  return "0x" + digits.padStart(64, "0");
}
