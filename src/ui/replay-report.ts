/**
 * The replay report as Markdown, for a PR comment: divergences first, each
 * with its decoded call and blue and green side by side; then what the
 * cascade world found, the expected differences, fidelity and warnings.
 */
import { canaryMarkdown } from "./canary-replay-view.js";
import { type ReportEntry, reportCounts, type ReplayReport, type SideSummary } from "../replay/report.js";

/** Entries shown in full per section; the JSON report has all of them. */
const SHOWN = 50;

const KIND_TITLES: Record<string, string> = {
  "proxy-slots": "CRITICAL: green writes the proxy's own slots",
  status: "green succeeds where blue reverted",
  revert: "green reverts",
  return: "return data differs",
  events: "events differ",
  gas: "gas differs",
  storage: "proxy storage differs",
};

export function renderMarkdownReport(report: ReplayReport, jsonFile: string): string {
  const out: string[] = [];
  // Built from the report's bounded lists and its counts: the comparisons file holds every transaction.
  const counts = reportCounts(report);
  const headline =
    report.verdict === "inconclusive"
      ? "inconclusive (blue did not reproduce the chain)"
      : counts.divergences === 0
        ? report.txs === 0
          ? "no traffic replayed"
          : "clean, no unexpected divergence"
        : `${counts.divergences} unexpected divergence${counts.divergences === 1 ? "" : "s"}`;
  out.push(`# Replay of release \`${report.release}\`: ${headline}`, "");
  const critical = counts.critical;
  if (critical > 0) {
    out.push(`> **CRITICAL:** on ${critical} transaction(s) green writes the proxy's implementation, admin or beacon slot: it can move the proxy by itself.`, "");
  }
  out.push("| | |", "|---|---|");
  out.push(
    report.fleet !== undefined
      ? `| beacon | \`${report.fleet.beacon}\` (chain ${report.chainId}): ${report.fleet.proxies.length} proxies, ${report.fleet.proxiesFrom === "list" ? "as listed" : "found from BeaconUpgraded events"} |`
      : `| proxy | \`${report.proxy}\` (chain ${report.chainId})${report.kind !== undefined ? `, ${report.kind}` : ""} |`,
  );
  out.push(`| blue → green | \`${report.blue.address}\` → \`${report.green.address}\` |`);
  out.push(`| green codehash | \`${report.greenCodehash}\` |`);
  out.push(
    `| traffic | ${report.traffic.source === "chain" ? `blocks ${report.fromBlock}-${report.toBlock}${report.mergedShards !== undefined ? ` (merged from ${report.mergedShards} shards)` : ""}` : `capture file \`${report.traffic.file}\` (${report.traffic.lines} lines)`}, ${report.mode} mode${report.cascade ? ", cascade" : ""} |`,
  );
  out.push(`| compared | ${report.txs} transactions (${report.replayed} sent on the fork) |`);
  out.push(`| divergences | ${counts.divergences} unexpected, ${counts.expected} expected${report.cascade ? `, ${counts.propagated} propagated` : ""} |`);
  out.push(`| verdict | ${report.verdictReason} |`);
  out.push(
    `| fidelity | receipts ${report.fidelity.receipts.matched}/${report.fidelity.receipts.total}, proxy state ${report.fidelity.state.matched}/${report.fidelity.state.total}` +
      `${report.fidelity.threshold !== undefined ? ` (needed: ${report.fidelity.threshold * 100}%)` : " (not part of the verdict in fast mode)"} |`,
  );
  out.push(`| discovery | ${report.discovery.used.join(", ")}${report.discovery.unavailable.length > 0 ? ` (not available: ${report.discovery.unavailable.join(", ")})` : ""} |`);
  out.push(`| report | \`${jsonFile}\`${report.comparisons !== undefined ? `, every transaction in \`${report.comparisons.file}\`` : ""} |`, "");
  for (const warning of report.warnings) out.push(`> **Warning:** ${warning}`, "");
  if (report.fleet !== undefined) {
    out.push(`## Proxies of the beacon (${report.fleet.proxies.length})`, "");
    out.push("Green was switched in through the beacon, so every proxy ran it. A transaction that reaches several proxies counts for each.", "");
    out.push("| proxy | found | compared | divergences |", "|---|---|---|---|");
    for (const p of report.fleet.proxies) out.push(`| \`${p.address}\` | ${p.found} | ${p.compared} | ${p.divergences} |`);
    out.push("");
  }

  section(out, "Divergences", report.divergences, counts.divergences, "Caused by green itself: each was replayed from the state blue really had.");
  if (report.cascade) {
    section(out, "Propagated differences (cascade)", report.propagated, counts.propagated, "Seen only when green's own state carries forward: the long-run drift, beyond the root divergences.");
  }
  section(out, "Expected differences", report.expected, counts.expected, "Covered by the expected differences declared in `blueGreen.replay.expected`.");

  if (counts.mismatches > 0) {
    out.push(`## Fidelity mismatches (${counts.mismatches})`, "");
    out.push("Blue's replay did not reproduce the chain here (receipts, or the proxy's storage at the end of a block):", "");
    for (const m of report.fidelity.mismatches.slice(0, SHOWN)) {
      out.push(`- \`${m.hash}\`${m.blockNumber !== undefined ? ` (block ${m.blockNumber})` : ""}: ${m.what.join("; ")}`);
    }
    out.push("");
  }
  if (counts.skipped > 0) {
    out.push(`## Not replayed (${counts.skipped})`, "");
    for (const s of report.skipped.slice(0, SHOWN)) out.push(`- \`${s.hash}\`: ${s.reason}`);
    out.push("");
  }
  if (report.adjustments.length > 0) {
    out.push("## Adjustments made on the fork", "");
    for (const a of report.adjustments.slice(0, SHOWN)) out.push(`- ${a}`);
    out.push("");
  }
  if (report.canary !== undefined) out.push(...canaryMarkdown(report.canary));
  return out.join("\n") + "\n";
}

function section(out: string[], title: string, entries: ReportEntry[], count: number, intro: string): void {
  out.push(`## ${title} (${count})`, "");
  if (count === 0) {
    out.push("None.", "");
    return;
  }
  out.push(intro, "");
  entries.slice(0, SHOWN).forEach((entry, i) => renderEntry(out, entry, i + 1));
  const shown = Math.min(SHOWN, entries.length);
  if (count > shown) out.push(`…and ${count - shown} more in the JSON report${entries.length < count ? " and its comparisons file" : ""}.`, "");
}

function renderEntry(out: string[], entry: ReportEntry, n: number): void {
  const where = entry.blockNumber !== undefined ? `block ${entry.blockNumber}` : entry.line !== undefined ? `line ${entry.line}` : "";
  out.push(`### ${n}. ${KIND_TITLES[entry.kind] ?? entry.kind} — \`${entry.txHash}\`${where !== "" ? ` (${where})` : ""}`, "");
  out.push(`- call: \`${escape(entry.call)}\`${entry.from !== undefined ? ` from \`${entry.from}\`` : ""}${entry.to !== undefined ? ` to \`${entry.to}\`` : ""}`);
  const internal = entry.proxyCalls.filter((c) => c !== entry.call);
  if (internal.length > 0) out.push(`- reaches the proxy as: ${internal.map((c) => `\`${escape(c)}\``).join(", ")}`);
  const expected = entry.differences.filter((d) => d.expectedBy !== undefined);
  if (expected.length > 0) out.push(`- expected: ${expected.map((d) => `${d.kind} (${escape(d.expectedBy!)})`).join("; ")}`);
  out.push("", "| | blue | green |", "|---|---|---|");
  for (const row of sideBySide(entry.blue, entry.green, entry.kinds)) out.push(row);
  out.push("");
}

function sideBySide(blue: SideSummary, green: SideSummary, kinds: string[]): string[] {
  const rows: string[] = [];
  const mark = (kind: string) => (kinds.includes(kind) ? " **≠**" : "");
  const status = (s: SideSummary) => (s.status === "success" ? "success" : `revert: \`${escape(s.revert ?? "")}\``);
  rows.push(`| status${mark("status") || mark("revert")} | ${status(blue)} | ${status(green)} |`);
  // What is the same on both sides is said once, briefly; what differs is shown in full.
  if (kinds.includes("return")) rows.push(`| return **≠** | ${code(blue.returnData ?? "")} | ${code(green.returnData ?? "")} |`);
  const b = BigInt(blue.gasUsed);
  const g = BigInt(green.gasUsed);
  const delta = b === 0n ? "" : ` (${g >= b ? "+" : ""}${((Number(g - b) / Number(b)) * 100).toFixed(2)}%)`;
  rows.push(`| gas${mark("gas")} | ${blue.gasUsed} | ${green.gasUsed}${g !== b ? delta : ""} |`);
  if (kinds.includes("events")) rows.push(`| events **≠** | ${list(blue.events)} | ${list(green.events)} |`);
  else rows.push(`| events | (same: ${blue.events.length}) | (same: ${green.events.length}) |`);
  for (const slot of Object.keys({ ...(blue.storage ?? {}), ...(green.storage ?? {}) })) {
    rows.push(`| slot \`${slot.slice(0, 10)}…\`${mark("storage")} | ${code(blue.storage?.[slot] ?? "")} | ${code(green.storage?.[slot] ?? "")} |`);
  }
  return rows;
}

function list(items: string[]): string {
  return items.length === 0 ? "(none)" : items.map((e) => `\`${escape(e)}\``).join("<br>");
}

function code(s: string): string {
  return s === "" ? "" : `\`${escape(s.length > 70 ? `${s.slice(0, 70)}…` : s)}\``;
}

/** Keeps table cells intact: pipes and backticks would break the Markdown. */
function escape(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/`/g, "'").replace(/\n/g, " ");
}
