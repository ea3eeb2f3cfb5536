import path from "node:path";

import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { ReleaseStore } from "../src/release/store.js";
import { mergePartials, readPartialReports } from "../src/replay/merge.js";
import { recordReplay, type RecordedReplay, reportStem } from "../src/replay/record-step.js";
import { type ReplayReport, replayJson, VERDICT_EXIT_CODES } from "../src/replay/report.js";
import { runCommand } from "../src/ui/output.js";
import { renderMarkdownReport } from "../src/ui/replay-report.js";
import { renderReplaySummary } from "../src/ui/replay-terminal.js";

interface MergeArgs {
  reports: string[];
  json: boolean;
}

/** `bg:replay merge <partial reports…>`: no network needed, the partial reports say which release and chain. */
export default async function replayMerge(args: MergeArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  let report: ReplayReport | undefined;
  let recorded: RecordedReplay | undefined;
  const result = await runCommand(
    args.json,
    async (out) => {
      const inputs = await readPartialReports(args.reports.map((f) => path.resolve(f)));
      const { chainId, release } = inputs[0]!.report;
      const store = new ReleaseStore(hre.config.blueGreen.recordsDir);
      // The merged report ends by rewriting release.json: refuse a damaged or missing one before joining anything.
      await store.get(chainId, release);
      await store.readIntact(chainId, release);
      const merged = await mergePartials(inputs, { dir: store.releaseDir(chainId, release), stem: reportStem });
      report = merged;
      for (const warning of merged.warnings) if (args.json) out.warn(warning);
      recorded = await recordReplay(store, chainId, merged, { actor: "bg:replay merge", markdown: (file) => renderMarkdownReport(merged, file) });
      return replayJson(merged, { reportFile: path.relative(process.cwd(), recorded.reportPath) });
    },
    () => renderReplaySummary(report!, recorded),
  );
  if (result !== undefined && report !== undefined) process.exitCode = VERDICT_EXIT_CODES[report.verdict];
}
