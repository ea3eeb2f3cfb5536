/**
 * Blue against green for one transaction: status, revert reason, return
 * data, events, gas (within a tolerance) and the proxy's storage writes.
 * Differences a declared rule covers are marked expected; the rest are
 * divergences.
 */
import type { ExpectedDifference } from "./config.js";
import { splitStorageKey } from "./observe.js";
import type { Difference, LogEntry, Observation, ReceiptFacts } from "./types.js";

export interface CompareOptions {
  /** Percent of blue's gas that green may differ by. */
  gasTolerance: number;
  expected: readonly ExpectedDifference[];
}

/** Compares two observations of the same transaction from the same pre-state. */
export function compareObservations(blue: Observation, green: Observation, options: CompareOptions): Difference[] {
  const selectors = new Set([...blue.proxySelectors, ...green.proxySelectors]);
  const rules = options.expected.filter((r) => r.selector === undefined || selectors.has(r.selector));
  const differences: Difference[] = [];
  const add = (d: Difference) => differences.push(d);

  // "revert": green reverts where blue did not, or reverts differently.
  // "status": green succeeds where blue reverted (a check green lost).
  if (blue.status === "success" && green.status === "revert") {
    add(expect({ kind: "revert", blue: statusOf(blue), green: statusOf(green) }, rules));
  } else if (blue.status === "revert" && green.status === "success") {
    add(expect({ kind: "status", blue: statusOf(blue), green: statusOf(green) }, rules));
  } else if (blue.status === "revert" && (blue.revertData !== green.revertData || blue.error !== green.error)) {
    add(expect({ kind: "revert", blue: statusOf(blue), green: statusOf(green) }, rules));
  }
  if (blue.status === "success" && green.status === "success" && blue.returnData !== green.returnData) {
    add(expect({ kind: "return", blue: blue.returnData, green: green.returnData }, rules));
  }

  const events = compareEvents(blue.logs, green.logs, rules);
  if (events !== undefined) add(events);

  const gas = compareGas(blue.gasUsed, green.gasUsed, options.gasTolerance, rules);
  if (gas !== undefined) add(gas);

  const proxySlots = compareProxySlots(blue.storage, green.storage);
  if (proxySlots !== undefined) differences.unshift(proxySlots);

  const storage = compareStorage(withoutProxySlots(blue.storage), withoutProxySlots(green.storage), rules);
  if (storage !== undefined) add(storage);
  return differences;
}

/** ERC-1967's implementation, admin and beacon slots: the proxy's own. */
export const PROXY_SLOTS: Readonly<Record<string, string>> = {
  "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc": "implementation",
  "0xb53127684a568b3173ae13b9f8a6016e243e63b6e8ee1178d6a717850b5d6103": "admin",
  "0xa3f0ad74e5423aebfd80d3ef4346578335a9a72aeaee59ff6cb3582b35133d50": "beacon",
};

/** A key's proxy slot name (a beacon fleet's keys are `<proxy>:<slot>`), undefined for any other slot. */
function proxySlotName(key: string): string | undefined {
  const { proxy, slot } = splitStorageKey(key);
  const name = PROXY_SLOTS[slot];
  return name === undefined ? undefined : proxy === undefined ? name : `${proxy}:${name}`;
}

function withoutProxySlots(storage: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(storage).filter(([key]) => proxySlotName(key) === undefined));
}

/** A write to the proxy's own slots that blue did not make (or made otherwise): never expected. */
function compareProxySlots(blue: Record<string, string>, green: Record<string, string>): Difference | undefined {
  const keys = [...new Set([...Object.keys(blue), ...Object.keys(green)])].filter((key) => proxySlotName(key) !== undefined).sort();
  const differing = keys.filter((key) => blue[key] !== green[key]);
  if (differing.length === 0) return undefined;
  const pick = (side: Record<string, string>) => Object.fromEntries(differing.map((key) => [proxySlotName(key)!, side[key] ?? "(unchanged)"]));
  return { kind: "proxy-slots", blue: pick(blue), green: pick(green), critical: true };
}

function statusOf(o: Observation): Record<string, string> {
  return o.status === "success" ? { status: "success" } : { status: "revert", error: o.error ?? "", revertData: o.revertData ?? "0x" };
}

/** Marks a difference expected when a rule of its kind (without further conditions) covers it. */
function expect(d: Difference, rules: readonly ExpectedDifference[]): Difference {
  const rule = rules.find((r) => r.kind === d.kind);
  return rule !== undefined ? { ...d, expectedBy: rule.reason } : d;
}

function logKey(log: LogEntry): string {
  return `${log.address}|${log.topics.join(",")}|${log.data}`;
}

function compareEvents(blue: LogEntry[], green: LogEntry[], rules: readonly ExpectedDifference[]): Difference | undefined {
  if (sameLogs(blue, green)) return undefined;
  const difference: Difference = { kind: "events", blue, green };
  const eventRules = rules.filter((r) => r.kind === "events");
  // A rule without an event allows any event difference for its selector.
  const blanket = eventRules.find((r) => r.topic === undefined);
  if (blanket !== undefined) return { ...difference, expectedBy: blanket.reason };
  const allowed = eventRules.filter((r) => r.topic !== undefined);
  if (allowed.length === 0) return difference;
  const isAllowed = (log: LogEntry) => allowed.some((r) => log.topics[0] === r.topic);
  // The events the rules allow are set aside on both sides; if the rest match, the difference is expected.
  if (sameLogs(blue.filter((l) => !isAllowed(l)), green.filter((l) => !isAllowed(l)))) {
    const used = allowed.filter((r) => [...blue, ...green].some((l) => l.topics[0] === r.topic));
    return { ...difference, expectedBy: used.map((r) => r.reason).join("; ") };
  }
  return difference;
}

function sameLogs(a: LogEntry[], b: LogEntry[]): boolean {
  return a.length === b.length && a.every((log, i) => logKey(log) === logKey(b[i]!));
}

function compareGas(blue: bigint, green: bigint, tolerance: number, rules: readonly ExpectedDifference[]): Difference | undefined {
  if (blue === green) return undefined;
  const delta = green - blue;
  const percent = blue === 0n ? Infinity : (Number(delta) / Number(blue)) * 100;
  if (Math.abs(percent) <= tolerance) return undefined;
  const difference: Difference = { kind: "gas", blue: blue.toString(), green: green.toString() };
  for (const rule of rules.filter((r) => r.kind === "gas")) {
    // maxIncreasePercent bounds an increase; a saving within the rule's selector is always fine.
    if (rule.maxIncreasePercent === undefined || percent <= rule.maxIncreasePercent) return { ...difference, expectedBy: rule.reason };
  }
  return difference;
}

function compareStorage(
  blue: Record<string, string>,
  green: Record<string, string>,
  rules: readonly ExpectedDifference[],
): Difference | undefined {
  const slots = [...new Set([...Object.keys(blue), ...Object.keys(green)])].sort();
  const differing = slots.filter((slot) => blue[slot] !== green[slot]);
  if (differing.length === 0) return undefined;
  const pick = (side: Record<string, string>) => Object.fromEntries(differing.map((slot) => [slot, side[slot] ?? "(unchanged)"]));
  const difference: Difference = { kind: "storage", blue: pick(blue), green: pick(green) };
  const storageRules = rules.filter((r) => r.kind === "storage");
  const blanket = storageRules.find((r) => r.slot === undefined);
  if (blanket !== undefined) return { ...difference, expectedBy: blanket.reason };
  // A rule names a slot of the implementation's layout: it covers that slot in every proxy of a beacon.
  const covering = differing.map((key) => storageRules.find((r) => r.slot === splitStorageKey(key).slot));
  if (covering.length > 0 && covering.every((r) => r !== undefined)) {
    return { ...difference, expectedBy: [...new Set(covering.map((r) => r!.reason))].join("; ") };
  }
  return difference;
}

/** True when every difference is covered by a declared rule. */
export function allExpected(differences: readonly Difference[]): boolean {
  return differences.length > 0 && differences.every((d) => d.expectedBy !== undefined);
}

/** The most significant unexpected difference (the kind a divergence is filed under). */
export function primaryKind(differences: readonly Difference[]): Difference["kind"] | undefined {
  return (differences.find((d) => d.expectedBy === undefined) ?? differences[0])?.kind;
}

/** Whether a replayed receipt reproduces the real one (status, gas used, logs). */
export function sameReceipt(replayed: ReceiptFacts, real: ReceiptFacts): { same: boolean; what: string[] } {
  const what: string[] = [];
  if (replayed.status !== real.status) what.push(`status ${replayed.status} vs ${real.status}`);
  if (replayed.gasUsed !== real.gasUsed) what.push(`gas ${replayed.gasUsed} vs ${real.gasUsed}`);
  if (!sameLogs(replayed.logs, real.logs)) what.push(`logs (${replayed.logs.length} vs ${real.logs.length})`);
  return { same: what.length === 0, what };
}
