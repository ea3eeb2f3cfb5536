/**
 * Where a `bg:replay --canary` report goes: beside the release record, under
 * its own name, leaving the record's replay evidence alone.
 */
import type { ReleaseStore } from "../release/store.js";
import { reportStem } from "./record-step.js";
import { type ReplayReport, serializeReport } from "./report.js";

/**
 * Writes a canary replay's report files (`replay-canary-<bps>-<time>.json`
 * and `.md`) beside the release record. A canary replay is not the
 * release's replay evidence (blue's cohort never runs green), so the
 * record's steps are left as they are.
 */
export async function writeCanaryReport(
  store: ReleaseStore,
  chainId: number,
  report: ReplayReport,
  markdown: (jsonFile: string) => string,
): Promise<{ reportPath: string; markdownPath: string }> {
  const stem = reportStem(report.startedAt).replace(/^replay-/, `replay-canary-${report.canary?.bps ?? 0}-`);
  const reportPath = await store.writeReleaseFile(chainId, report.release, `${stem}.json`, serializeReport(report));
  const markdownPath = await store.writeReleaseFile(chainId, report.release, `${stem}.md`, markdown(`${stem}.json`));
  return { reportPath, markdownPath };
}
