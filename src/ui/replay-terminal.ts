/**
 * What `bg:replay` and `bg:mirror` show people in the terminal: a progress
 * line (on a TTY only), the summary table, and the mirror's status lines.
 */
import path from "node:path";

import { formatTable } from "@nomicfoundation/hardhat-utils/format";

import { style } from "./output.js";
import type { RecordedReplay } from "../replay/record-step.js";
import { reportCounts, type ReplayReport } from "../replay/report.js";

/** One progress line: bar, count, rate and time left. Pure, for testing. */
export function formatProgress(progress: { done: number; total: number; elapsedMs: number }, width = 24): string {
  const { done, total, elapsedMs } = progress;
  const ratio = total === 0 ? 1 : Math.min(1, done / total);
  const filled = Math.round(ratio * width);
  const rate = elapsedMs > 0 ? (done / elapsedMs) * 1000 : 0;
  const eta = rate > 0 ? (total - done) / rate : undefined;
  return (
    `replaying [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total} txs` +
    ` · ${rate.toFixed(0)} tx/s · ETA ${eta === undefined ? "--" : formatSeconds(eta)}`
  );
}

function formatSeconds(s: number): string {
  if (s < 60) return `${Math.ceil(s)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.ceil(s - m * 60)).padStart(2, "0")}s`;
}

/**
 * Draws the progress line on stderr at most every 100 ms; `done()` clears it.
 * Only used when a person is watching (a TTY, no --json).
 */
export function progressLine(stream: NodeJS.WriteStream = process.stderr) {
  const start = Date.now();
  let last = 0;
  return {
    update(done: number, total: number): void {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      stream.write(`\r${formatProgress({ done, total, elapsedMs: now - start })}\x1b[K`);
    },
    done(): void {
      stream.write("\r\x1b[K");
    },
  };
}

/** The summary people read after a replay. */
export function renderReplaySummary(report: ReplayReport, recorded: RecordedReplay | undefined, partialFile?: string): string {
  const lines: string[] = [];
  const counts = reportCounts(report);
  const verdictText =
    report.verdict === "clean" ? style.ok(report.verdictReason) : report.verdict === "divergent" ? style.bad(report.verdictReason) : style.warn(report.verdictReason);
  const rows: Array<[string, string]> = [
    ["verdict", verdictText],
    [
      "traffic",
      report.shard !== undefined
        ? `shard ${report.shard.index}/${report.shard.count}: blocks ${report.shard.fromBlock}-${report.shard.toBlock} of ${report.fromBlock}-${report.toBlock}`
        : report.traffic.source === "chain"
          ? `blocks ${report.fromBlock}-${report.toBlock}${report.mergedShards !== undefined ? ` (${report.mergedShards} shards merged)` : ""}`
          : `capture ${report.traffic.file}`,
    ],
    ["mode", `${report.mode}${report.cascade ? " + cascade" : ""}`],
    ["compared", `${report.txs} txs (${report.replayed} mined in ${report.blocks} blocks), ${report.timing.txPerSecond.toFixed(0)} tx/s`],
    ["divergences", counts.divergences === 0 ? style.ok("0") : style.bad(String(counts.divergences))],
    ["expected", String(counts.expected)],
    ...(counts.skipped > 0
      ? ([["not compared", style.warn(`${counts.skipped}${report.skipped[0] !== undefined ? `, e.g. ${report.skipped[0].hash}: ${report.skipped[0].reason}` : ""} (all under "skipped" in the report)`)]] as Array<[string, string]>)
      : []),
    ...(report.cascade ? ([["propagated", String(counts.propagated)]] as Array<[string, string]>) : []),
    [
      "fidelity",
      `receipts ${report.fidelity.receipts.matched}/${report.fidelity.receipts.total}, proxy state ${report.fidelity.state.matched}/${report.fidelity.state.total}` +
        (report.fidelity.matched < report.fidelity.total ? style.warn(" (blue did not reproduce the chain everywhere)") : ""),
    ],
    ["discovery", report.discovery.used.join(", ")],
    ["source", sourceLine(report.sourceRequests)],
    ...(report.fleet !== undefined
      ? ([["beacon", `${report.fleet.beacon}: ${report.fleet.proxies.length} proxies (${report.fleet.proxiesFrom === "list" ? "listed" : "from BeaconUpgraded events"})`]] as Array<[string, string]>)
      : []),
  ];
  lines.push(
    formatTable([
      { type: "section-header", text: `Replay of ${report.release}` },
      ...rows.map(([k, v]) => ({ type: "row" as const, cells: [k, v] })),
    ]),
  );
  if (report.fleet !== undefined) {
    lines.push(
      "",
      formatTable([
        { type: "section-header", text: "Proxies of the beacon" },
        { type: "header", cells: ["proxy", "found", "compared", "divergences"] },
        ...report.fleet.proxies.map((p) => ({ type: "row" as const, cells: [p.address, String(p.found), String(p.compared), p.divergences === 0 ? "0" : style.bad(String(p.divergences))] })),
      ]),
    );
  }
  if (counts.divergences > 0) {
    lines.push("", style.bold("Divergences (root, caused by green):"));
    for (const d of report.divergences.slice(0, 10)) {
      lines.push(`  ${style.bad((d.critical ? "CRITICAL " + d.kind : d.kind).padEnd(8))} ${d.txHash}  ${d.call}`);
    }
    if (counts.divergences > 10) lines.push(`  …and ${counts.divergences - 10} more (see the report)`);
  }
  for (const warning of report.warnings) lines.push(style.warn(`warning: ${warning}`));
  if (partialFile !== undefined && report.shard !== undefined) {
    const rel = path.relative(process.cwd(), partialFile) || partialFile;
    lines.push(
      "",
      `Partial report of shard ${report.shard.index}/${report.shard.count}: ${rel} (not recorded; the verdict above is this slice's).`,
      `When every shard has run: npx hardhat bg:replay merge ${path.join(path.dirname(rel), `replay-shard-*-of-${report.shard.count}-*.json`)}`,
    );
  }
  if (recorded !== undefined) {
    const rel = (p: string) => path.relative(process.cwd(), p) || p;
    lines.push("", `Report: ${rel(recorded.reportPath)} (and ${path.basename(recorded.markdownPath)} for a PR comment)`);
    lines.push(
      recorded.recordedAs === "replay"
        ? `Recorded in the release as its replay evidence; state ${recorded.previousState} → replayed.` +
            (recorded.previousState === "gated" ? " Run bg:gates again on the new evidence." : "")
        : `The release is ${recorded.previousState}: its replay evidence is frozen, so this run is recorded as steps.replayRecheck.`,
    );
  }
  if (report.verdict === "inconclusive" && report.txs === 0) {
    lines.push(
      "",
      "Nothing recorded: a replay that compared nothing is no evidence, so the release keeps the replay it had.",
      style.dim("Replay a range that holds the proxy's traffic (--from-block/--to-block, --last-blocks K, or --traffic <capture>). Exit code 2."),
    );
  } else if (report.verdict === "inconclusive") {
    lines.push(style.dim("Read fidelity.mismatches in the report: check the fork source (an archive node) and the range, then replay again. Exit code 2."));
  } else if (counts.divergences > 0) {
    lines.push(
      style.dim("Fix green, or declare intended differences in blueGreen.replay.expected, then replay again."),
    );
  }
  return lines.join("\n");
}

/** Status lines of `bg:mirror`. */
export function renderMirrorStarted(info: { url: string; upstream: string; proxy: string; out: string }): string {
  return [
    `bg:mirror listening on ${style.bold(info.url)}`,
    `  forwarding to ${info.upstream}`,
    `  capturing eth_sendRawTransaction and eth_call touching ${info.proxy}`,
    `  into ${info.out}`,
    "Point your dApp or load generator at it; press Ctrl-C to stop.",
  ].join("\n");
}

export function renderMirrorStopped(stats: { requests: number; captured: number; unsigned: number; out: string }): string {
  const unsigned =
    stats.unsigned > 0
      ? `${stats.unsigned} eth_sendTransaction request(s) to the proxy were forwarded but not captured: the node signs those, so no raw transaction crossed the mirror. ` +
        "Have the client sign them itself (eth_sendRawTransaction) to capture them.\n"
      : "";
  return `bg:mirror stopped: ${stats.requests} request(s) forwarded, ${stats.captured} line(s) captured in ${stats.out}.\n` + unsigned +
    `Replay them with: npx hardhat bg:replay --network <source> --release <id> --traffic ${stats.out}`;
}

/** Requests that reached the source, and how the forks' state was fetched. */
function sourceLine(r: ReplayReport["sourceRequests"]): string {
  const prefetch = r.prefetch;
  const sent = r.discovery + r.fork + (prefetch?.requests ?? 0);
  const how = prefetch === undefined || prefetch.path === "off" ? "no prefetch" : `prefetch by ${prefetch.path}`;
  return `${sent} requests (${how}), ${r.cached} answered from the cache`;
}
