import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { keccak256 } from "ethers";

import { replayStepSchema as gateReplayStepSchema } from "../../src/gates/replay-gate.js";
import { transition, type ReleaseRecord, type ReleaseState } from "../../src/release/record.js";
import { ReleaseStore } from "../../src/release/store.js";
import { compareObservations } from "../../src/replay/compare.js";
import { AbiDecoder } from "../../src/replay/decode.js";
import { recordReplay, replayStepSchema } from "../../src/replay/record-step.js";
import { renderMarkdownReport } from "../../src/ui/replay-report.js";
import { formatProgress } from "../../src/ui/replay-terminal.js";
import { buildReport, replayJson, type ReplayReport } from "../../src/replay/report.js";
import type { Observation, TxComparison } from "../../src/replay/types.js";
import { stagedRecord } from "../helpers/record-fixture.js";

const TRANSFER = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

function obs(overrides: Partial<Observation> = {}): Observation {
  return {
    status: "success",
    returnData: "0x",
    gasUsed: 50_000n,
    logs: [{ address: "0x" + "01".repeat(20), topics: [TRANSFER, "0x" + "00".repeat(32), "0x" + "00".repeat(32)], data: "0x" + "00".repeat(31) + "05" }],
    storage: {},
    proxySelectors: ["0xa9059cbb"],
    proxyInputs: ["0xa9059cbb" + "00".repeat(64)],
    delegates: [],
    ...overrides,
  };
}

function sampleReport(record: ReleaseRecord, divergent: number): ReplayReport {
  const comparisons: TxComparison[] = Array.from({ length: 3 }, (_, i) => {
    const blue = obs();
    const green = i < divergent ? obs({ status: "revert", revertData: "0x", error: "execution reverted", logs: [], returnData: undefined }) : obs();
    return {
      hash: "0x" + String(i + 1).padStart(64, "0"),
      blockNumber: 10 + i,
      from: "0x" + "02".repeat(20),
      to: record.proxy,
      input: "0xa9059cbb" + "00".repeat(64),
      foundBy: ["to"],
      blue,
      green,
      differences: compareObservations(blue, green, { gasTolerance: 0, expected: [] }),
      method: "exact",
    };
  });
  return buildReport({
    release: record,
    mode: "faithful",
    cascade: false,
    traffic: { source: "chain" },
    fromBlock: 10,
    toBlock: 12,
    forkBlocks: [9],
    discovery: { used: ["to", "logs"], unavailable: [], mayMiss: "", found: { to: 3 } },
    comparisons,
    replayed: 3,
    blocks: 3,
    fidelity: { matched: 3, total: 3, receipts: { matched: 3, total: 3 }, state: { matched: 0, total: 0 }, mismatches: [] },
    fidelityThreshold: 1,
    skipped: [],
    adjustments: [],
    warnings: [],
    sourceRequests: { discovery: 5, fork: 7, cached: 0 },
    startedAt: new Date("2026-11-22T10:00:00.123Z"),
    finishedAt: new Date("2026-11-22T10:00:02.000Z"),
    replaySeconds: 1.5,
    decoder: new AbiDecoder([["function transfer(address to, uint256 value)", "event Transfer(address indexed from, address indexed to, uint256 value)"]]),
  });
}

describe("recording a replay in the release", function () {
  let dir: string;
  let store: ReleaseStore;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "bg-replay-record-"));
    store = new ReleaseStore(dir);
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  async function stageIn(state: ReleaseState): Promise<ReleaseRecord> {
    let record = stagedRecord("vault-v2");
    const path: Record<string, ReleaseState[]> = { staged: [], gated: ["gated"], proposed: ["gated", "proposed"], live: ["gated", "proposed", "live"] };
    for (const next of path[state]!) record = transition(record, next, { actor: "test" });
    await store.update(record.chainId, record.id, () => record);
    return record;
  }

  it("writes the JSON and Markdown reports and records their summary as the release's replay evidence", async () => {
    const record = await stageIn("staged");
    const report = sampleReport(record, 1);
    const recorded = await recordReplay(store, record.chainId, report, { actor: "bg:replay", markdown: (file) => renderMarkdownReport(report, file), at: new Date("2026-11-22T10:00:03Z") });

    expect(path.basename(recorded.reportPath)).to.equal("replay-2026-11-22T10-00-00Z.json");
    const bytes = await readFile(recorded.reportPath);
    expect(recorded.step.reportHash).to.equal(keccak256(bytes));
    expect(JSON.parse(bytes.toString("utf8")).greenCodehash).to.equal(record.green.codehash);
    expect(await readFile(recorded.markdownPath, "utf8")).to.match(/^# Replay of release `vault-v2`: 1 unexpected divergence/);

    const saved = (await store.get(record.chainId, record.id))!;
    expect(saved.state).to.equal("replayed");
    expect(saved.history.at(-1)).to.include({ state: "replayed", actor: "bg:replay" });
    expect(saved.steps.replay).to.deep.equal({
      reportFile: "replay-2026-11-22T10-00-00Z.json",
      reportHash: keccak256(bytes),
      greenCodehash: record.green.codehash,
      txs: 3,
      divergences: 1,
      expected: 0,
      propagated: 0,
      fidelity: { matched: 3, total: 3 },
      mode: "faithful",
      verdict: "divergent",
      fromBlock: 10,
      toBlock: 12,
      at: "2026-11-22T10:00:03.000Z",
    });
    expect(replayStepSchema.safeParse(saved.steps.replay).success).to.equal(true);
    expect(gateReplayStepSchema.safeParse(saved.steps.replay).success).to.equal(true);
  });

  it("moves a gated release back to replayed, so that the gates run on the new evidence", async () => {
    const record = await stageIn("gated");
    const report = sampleReport(record, 0);
    const recorded = await recordReplay(store, record.chainId, report, { actor: "bg:replay", markdown: (file) => renderMarkdownReport(report, file) });
    expect(recorded).to.include({ recordedAs: "replay", previousState: "gated" });
    expect((await store.get(record.chainId, record.id)).state).to.equal("replayed");
  });

  it("leaves the evidence of a proposed release alone and records the run as a recheck", async () => {
    const record = await stageIn("proposed");
    const before = await store.get(record.chainId, record.id);
    const report = sampleReport(record, 2);
    const recorded = await recordReplay(store, record.chainId, report, { actor: "bg:replay", markdown: (file) => renderMarkdownReport(report, file) });
    expect(recorded).to.include({ recordedAs: "replayRecheck", previousState: "proposed" });
    const saved = await store.get(record.chainId, record.id);
    expect(saved.state).to.equal("proposed");
    expect(saved.history).to.deep.equal(before.history);
    expect(saved.steps.replay).to.equal(undefined);
    expect(saved.steps.replayRecheck).to.include({ divergences: 2, txs: 3 });
  });

  it("refuses to record a replay of a green the release no longer stages", async () => {
    const record = await stageIn("staged");
    const report = sampleReport({ ...record, green: { ...record.green, codehash: "0x" + "99".repeat(32) } }, 0);
    const error = await recordReplay(store, record.chainId, report, { actor: "bg:replay", markdown: (file) => renderMarkdownReport(report, file) }).catch((e: Error) => e);
    expect((error as Error).message).to.match(/was staged again with another green/);
    expect((await store.get(record.chainId, record.id)).state).to.equal("staged");
  });
});

describe("the replay's outputs", function () {
  const record = stagedRecord("vault-v2");

  it("has the --json shape: one entry per divergent transaction with its kind, blue and green", () => {
    const doc = replayJson(sampleReport(record, 2), { reportFile: "r.json" });
    expect(Object.keys(doc)).to.deep.equal([
      "ok",
      "verdict",
      "verdictReason",
      "release",
      "txs",
      "blocks",
      "divergences",
      "expected",
      "propagated",
      "fidelity",
      "mode",
      "fromBlock",
      "toBlock",
      "warnings",
      "report",
    ]);
    expect(doc).to.deep.include({ ok: false, release: "vault-v2", txs: 3, expected: 0, propagated: 0, verdict: "divergent", fidelity: { matched: 3, total: 3, receipts: { matched: 3, total: 3 }, state: { matched: 0, total: 0 }, threshold: 1 }, mode: "faithful", fromBlock: 10, toBlock: 12 });
    expect(doc.divergences).to.have.length(2);
    expect(Object.keys(doc.divergences[0]!)).to.deep.equal(["txHash", "kind", "critical", "blue", "green"]);
    expect(doc.divergences[0]).to.deep.include({ kind: "revert" });
    expect(doc.divergences[0]!.green).to.include({ status: "revert" });
    expect(replayJson(sampleReport(record, 0)).ok).to.equal(true);
  });

  it("puts divergences first in the Markdown, with decoded calls and blue and green side by side", () => {
    const md = renderMarkdownReport(sampleReport(record, 1), "replay.json");
    const divergences = md.indexOf("## Divergences (1)");
    expect(divergences).to.be.greaterThan(0);
    expect(md.indexOf("## Expected differences")).to.be.greaterThan(divergences);
    expect(md).to.include("| | blue | green |");
    expect(md).to.include("call: `transfer(to=0x0000000000000000000000000000000000000000, value=0)`");
    expect(md).to.match(/\| status \*\*≠\*\* \| success \| revert: `execution reverted \(no revert data\)` \|/);
    expect(md).to.include("`Transfer(from=0x0000000000000000000000000000000000000000, to=0x0000000000000000000000000000000000000000, value=5) @0x010101…0101`");
  });

  it("draws progress with a rate and an ETA", () => {
    expect(formatProgress({ done: 500, total: 2000, elapsedMs: 1000 }, 8)).to.equal("replaying [##------] 500/2000 txs · 500 tx/s · ETA 3s");
    expect(formatProgress({ done: 0, total: 10, elapsedMs: 0 }, 4)).to.equal("replaying [----] 0/10 txs · 0 tx/s · ETA --");
  });
});
