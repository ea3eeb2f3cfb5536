/**
 * Recording a replay: the report files in the release folder and a summary
 * in the release record, `steps.replay`, which the replay gate reads.
 *
 * While a release is being prepared (staged, replayed, gated) a replay
 * becomes its evidence and moves it to "replayed"; a replay after gating
 * therefore asks for the gates to run again on the new evidence.
 *
 * Once a release is proposed, its evidence is frozen: the proposal, and any
 * signature already collected, commit to it. A replay then still writes its
 * report, and records its summary under `steps.replayRecheck`, leaving
 * `steps.replay` and the state alone. A different verdict shows there, and
 * in the exit code, without silently changing what signers approved.
 *
 * The record is written once, at the end, atomically and under the store's
 * lock; an interrupted replay leaves at most report files behind, and
 * running it again is always safe.
 */
import { BlueGreenError } from "../errors.js";
import { type ReleaseRecord, type ReleaseState, transition } from "../release/record.js";
import type { ReleaseStore } from "../release/store.js";
import { reportCounts, reportHash, serializeReport, type ReplayReport } from "./report.js";
import { replayStepSchema, type ReplayStep } from "./replay-step-schema.js";

export { replayStepSchema, type ReplayStep };

/** States in which a replay is the release's evidence. */
export const EVIDENCE_STATES: readonly ReleaseState[] = ["staged", "replayed", "gated"];

export interface RecordedReplay {
  record: ReleaseRecord;
  step: ReplayStep;
  /** Absolute paths of the files written. */
  reportPath: string;
  markdownPath: string;
  /** "replay": steps.replay and the state moved to replayed; "replayRecheck": frozen evidence left alone. */
  recordedAs: "replay" | "replayRecheck";
  previousState: ReleaseState;
}

/** File name stem of a report: `replay-<UTC time>`, sortable and safe on every OS. */
export function reportStem(startedAt: string): string {
  return `replay-${startedAt.replace(/\.\d+Z$/, "Z").replace(/:/g, "-")}`;
}

/** File name stem of a shard's partial report: `replay-shard-<i>-of-<n>-<UTC time>`. */
export function partialStem(startedAt: string, shard: { index: number; count: number }): string {
  return `replay-shard-${shard.index}-of-${shard.count}-${reportStem(startedAt).slice("replay-".length)}`;
}

/** The stem of a report's files: a shard's partial report is named apart, so no one takes it for a whole one. */
export function stemOf(report: Pick<ReplayReport, "startedAt" | "shard">): string {
  return report.shard !== undefined ? partialStem(report.startedAt, report.shard) : reportStem(report.startedAt);
}

/**
 * Writes a shard's partial report into the release folder, and nothing into
 * the record: a slice of the range is no evidence for the release until
 * `bg:replay merge` puts every slice together.
 */
export async function writePartialReport(store: ReleaseStore, chainId: number, report: ReplayReport): Promise<string> {
  if (report.shard === undefined) throw new Error("writePartialReport: not a shard's report");
  await store.readIntact(chainId, report.release);
  return store.writeReleaseFile(chainId, report.release, `${stemOf(report)}.json`, serializeReport(report));
}

/** Writes the report files and the record summary. */
export async function recordReplay(
  store: ReleaseStore,
  chainId: number,
  report: ReplayReport,
  /** `markdown` renders the report for people (ui/replay-report.ts); it is given the JSON file's name to link to. */
  options: { actor: string; at?: Date; markdown: (jsonFile: string) => string },
): Promise<RecordedReplay> {
  // A record that is damaged (a step that does not parse, another release's id) is refused
  // before any report is written; store.update refuses it again under the lock.
  if (report.shard !== undefined) {
    throw new BlueGreenError(
      "BG_REPLAY_PARTIAL", `This is shard ${report.shard.index}/${report.shard.count}'s partial report (blocks ${report.shard.fromBlock}-${report.shard.toBlock}): it is not the release's replay. ` +
        "Run every shard, then `npx hardhat bg:replay merge <partial reports…>` to record the whole range.",
    );
  }
  await store.readIntact(chainId, report.release);
  const stem = reportStem(report.startedAt);
  const json = serializeReport(report);
  const reportPath = await store.writeReleaseFile(chainId, report.release, `${stem}.json`, json);
  const markdownPath = await store.writeReleaseFile(chainId, report.release, `${stem}.md`, options.markdown(`${stem}.json`));
  const at = options.at ?? new Date();
  const step: ReplayStep = {
    reportFile: `${stem}.json`,
    reportHash: reportHash(json),
    greenCodehash: report.greenCodehash,
    txs: report.txs,
    divergences: reportCounts(report).divergences,
    expected: reportCounts(report).expected,
    propagated: reportCounts(report).propagated,
    fidelity: { matched: report.fidelity.matched, total: report.fidelity.total },
    mode: report.mode,
    verdict: report.verdict,
    fromBlock: report.fromBlock,
    toBlock: report.toBlock,
    ...(report.fleet !== undefined ? { proxies: report.fleet.proxies.length } : {}),
    at: at.toISOString(),
  };
  let recordedAs: RecordedReplay["recordedAs"] = "replay";
  let previousState: ReleaseState = "staged";
  const record = await store.update(chainId, report.release, (current) => {
    if (current === undefined) {
      throw new BlueGreenError("BG_REPLAY_RELEASE_GONE", `Release "${report.release}" disappeared from the store during the replay. Stage it again, then replay.`);
    }
    if (current.green.codehash.toLowerCase() !== report.greenCodehash) {
      throw new BlueGreenError(
        "BG_REPLAY_GREEN_CHANGED", `Release "${report.release}" was staged again with another green (${current.green.codehash}) while this replay ran. ` +
          `The report ${stem}.json stays in the release folder; replay again to record evidence for the new green.`,
      );
    }
    previousState = current.state;
    if (EVIDENCE_STATES.includes(current.state)) {
      recordedAs = "replay";
      const next = { ...current, steps: { ...current.steps, replay: step } };
      return transition(next, "replayed", {
        actor: options.actor,
        at,
        note: `${report.verdict}: ${step.txs} txs, ${step.divergences} divergence(s), fidelity ${step.fidelity.matched}/${step.fidelity.total}: ${stem}.json`,
      });
    }
    recordedAs = "replayRecheck";
    return { ...current, steps: { ...current.steps, replayRecheck: step }, updatedAt: at.toISOString() };
  });
  return { record: record!, step, reportPath, markdownPath, recordedAs, previousState };
}
