/**
 * One transaction of the report, for people and machines: its decoded call
 * and blue and green side by side, with what differed.
 */
import { jsonSafe } from "../common/format.js";
import { primaryKind } from "./compare.js";
import type { AbiDecoder } from "./decode.js";
import type { Difference, DifferenceKind, DiscoveryMethod, Observation, TxComparison } from "./types.js";

/** One side (blue or green) of a transaction, for people and machines. */
export interface SideSummary {
  status: "success" | "revert";
  revert?: string;
  returnData?: string;
  gasUsed: string;
  events: string[];
  /** Post values of the proxy slots that differ between blue and green. */
  storage?: Record<string, string>;
}

export interface ReportEntry {
  txHash: string;
  /** The most significant unexpected difference (or the first expected one). */
  kind: DifferenceKind;
  kinds: DifferenceKind[];
  blockNumber?: number;
  line?: number;
  from?: string;
  to?: string;
  /** The transaction's calldata, decoded. */
  call: string;
  /** The calls that reached the proxy, decoded (differs from `call` for internal calls). */
  proxyCalls: string[];
  foundBy: DiscoveryMethod[];
  method: "exact";
  /** Green wrote the proxy's own slots (implementation, admin, beacon). */
  critical: boolean;
  blue: SideSummary;
  green: SideSummary;
  differences: Array<{ kind: DifferenceKind; blue: unknown; green: unknown; expectedBy?: string; critical?: true }>;
}

export function toEntry(c: TxComparison, blue: Observation, green: Observation, differences: Difference[], decoder: AbiDecoder): ReportEntry {
  const storageSlots = new Set<string>();
  for (const d of differences) if (d.kind === "storage") for (const slot of Object.keys(d.blue as object)) storageSlots.add(slot);
  const side = (o: Observation): SideSummary => ({
    status: o.status,
    ...(o.status === "revert" ? { revert: decoder.revert(o.revertData, o.error) } : {}),
    ...(o.returnData !== undefined && o.returnData !== "0x" ? { returnData: o.returnData } : {}),
    gasUsed: o.gasUsed.toString(),
    events: o.logs.map((l) => decoder.log(l)),
    ...(storageSlots.size > 0
      ? { storage: Object.fromEntries([...storageSlots].map((slot) => [slot, o.storage[slot] ?? "(unchanged)"])) }
      : {}),
  });
  return {
    txHash: c.hash,
    kind: primaryKind(differences)!,
    kinds: differences.map((d) => d.kind),
    ...(c.blockNumber !== undefined ? { blockNumber: c.blockNumber } : {}),
    ...(c.line !== undefined ? { line: c.line } : {}),
    ...(c.from !== undefined ? { from: c.from } : {}),
    ...(c.to !== undefined ? { to: c.to } : {}),
    call: decoder.call(c.input),
    proxyCalls: [...new Set([...blue.proxyInputs, ...green.proxyInputs])].map((input) => decoder.call(input)),
    foundBy: c.foundBy,
    method: c.method,
    critical: differences.some((d) => d.critical === true),
    blue: side(blue),
    green: side(green),
    differences: differences.map((d) => ({
      kind: d.kind,
      blue: jsonSafe(d.blue),
      green: jsonSafe(d.green),
      ...(d.expectedBy !== undefined ? { expectedBy: d.expectedBy } : {}),
      ...(d.critical === true ? { critical: true as const } : {}),
    })),
  };
}
