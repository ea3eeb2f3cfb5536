/**
 * The demo's replay step: the recent traffic of the "mainnet" node replayed
 * twice per transaction on in-process forks (as blue, and with green
 * switched in), exactly as `bg:replay` does, and recorded in the release.
 */

import { BlueGreenError } from "../errors.js";
import type { ReleaseRecord } from "../release/record.js";
import { AbiDecoder } from "../replay/decode.js";
import { recordReplay } from "../replay/record-step.js";
import type { OpenFork } from "../replay/replay-release.js";
import { replayRelease } from "../replay/replay-release.js";
import type { ReplayReport } from "../replay/report.js";
import { SourceRpc } from "../replay/source-rpc.js";
import { renderMarkdownReport } from "../ui/replay-report.js";
import type { DemoChain } from "./demo-chains.js";
import { TOKEN_ABI } from "./demo-traffic.js";

/** The demo's replay settings: whole blocks in order, and 1% of gas either way is noise (a new function moves the dispatcher). */
export const DEMO_REPLAY = { mode: "faithful", gasTolerance: 1, workers: 2, tracing: "auto" } as const;

/** DemoTokenV3's custom error, so the report names the revert. */
const V3_ERRORS = ["error TransferAboveCap(uint256 value, uint256 cap)"];

export interface DemoReplay {
  report: ReplayReport;
  reportPath: string;
  markdownPath: string;
}

/** Replays blocks `fromBlock`..`toBlock` of the chain for the release, and records the report. */
export async function replayTraffic(
  chain: DemoChain,
  record: ReleaseRecord,
  range: { fromBlock: number; toBlock: number },
  openFork: OpenFork,
): Promise<DemoReplay> {
  const source = new SourceRpc({ url: chain.node.url, timeoutMs: 30_000, retries: 2 });
  return replayAndRecord(chain, record, range, openFork, source);
}

async function replayAndRecord(
  chain: DemoChain,
  record: ReleaseRecord,
  range: { fromBlock: number; toBlock: number },
  openFork: OpenFork,
  source: SourceRpc,
): Promise<DemoReplay> {
  const report = await replayRelease({
    release: { id: record.id, chainId: record.chainId, proxy: record.proxy, blue: record.blue, green: { address: record.green.address, codehash: record.green.codehash } },
    source,
    openFork,
    traffic: { kind: "range", fromBlock: range.fromBlock, toBlock: range.toBlock },
    mode: DEMO_REPLAY.mode,
    cascade: false,
    config: { gasTolerance: DEMO_REPLAY.gasTolerance, expected: [], workers: DEMO_REPLAY.workers, tracing: DEMO_REPLAY.tracing },
    decoder: new AbiDecoder([TOKEN_ABI.fragments.map((f) => f.format("full")), V3_ERRORS]),
  });
  const recorded = await recordReplay(chain.store, chain.chainId, report, { actor: "bg:demo", markdown: (file) => renderMarkdownReport(report, file) });
  if (recorded.recordedAs !== "replay") throw new BlueGreenError("BG_DEMO_UNEXPECTED", `The replay of ${record.id} was not recorded as its evidence (${recorded.recordedAs}).`);
  return { report, reportPath: recorded.reportPath, markdownPath: recorded.markdownPath };
}
