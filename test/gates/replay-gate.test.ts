import path from "node:path";

import { expect } from "chai";
import { keccak256, toUtf8Bytes } from "ethers";

import type { ReplayGateConfig } from "../../src/gates/config.js";
import { evaluateReplayGate } from "../../src/gates/replay-gate.js";
import type { ReleaseRecord } from "../../src/release/record.js";
import { savedRecord, tempProject, type TempProject } from "./fixtures.js";

describe("the replay gate", () => {
  let project: TempProject;
  let record: ReleaseRecord;
  const config: ReplayGateConfig = { max: 0, minTxs: 1, minFidelity: 1, required: true };

  /** Writes a report beside the record and records the replay step the way bg:replay does. */
  async function replayed(step: Record<string, unknown> = {}, report: Record<string, unknown> = {}) {
    const text = JSON.stringify(
      {
        schema: "hardhat-bluegreen/replay-report@2",
        greenCodehash: record.green.codehash,
        verdict: "clean",
        mode: "faithful",
        fromBlock: 100,
        toBlock: 120,
        txs: 42,
        divergences: [],
        expected: [{ txHash: "0x01" }],
        propagated: [],
        fidelity: { matched: 42, total: 42 },
        ...report,
      },
      null,
      2,
    );
    await project.store.writeReleaseFile(record.chainId, record.id, "replay-100-120.json", text);
    record = (await project.store.update(record.chainId, record.id, (r) => ({
      ...r!,
      steps: {
        ...r!.steps,
        replay: {
          reportFile: "replay-100-120.json",
          reportHash: keccak256(toUtf8Bytes(text)),
          greenCodehash: record.green.codehash,
          txs: 42,
          divergences: 0,
          expected: 1,
          propagated: 0,
          fidelity: { matched: 42, total: 42 },
          mode: "faithful",
          fromBlock: 100,
          toBlock: 120,
          at: "2026-11-22T10:00:00.000Z",
          ...step,
        },
      },
    })))!;
  }
  const evaluate = (c: ReplayGateConfig = config) =>
    evaluateReplayGate(record, c, { releaseDir: project.store.releaseDir(record.chainId, record.id), projectRoot: project.root });

  beforeEach(async () => {
    project = await tempProject();
    record = await savedRecord(project);
  });

  it("passes a clean, faithful replay of this green; the report is evidence", async () => {
    await replayed();
    const result = await evaluate();
    expect(result).to.deep.include({ status: "pass", ok: true });
    expect(result.detail).to.equal("42 txs in blocks 100-120 (faithful): 0 unexpected divergence(s), 1 expected, 0 propagated, fidelity 42/42");
    expect(result.files![0]!.path).to.equal(".bluegreen/1/vault-v2/replay-100-120.json");
    expect(result.evidence).to.deep.include({ txs: 42, divergences: 0, reportFile: ".bluegreen/1/vault-v2/replay-100-120.json" });
  });

  it("fails without a replay, saying how to run one", async () => {
    const result = await evaluate();
    expect(result.status).to.equal("fail");
    expect(result.detail).to.equal("no replay recorded for this release");
    expect(result.fix).to.include("bg:replay");
  });

  it("fails on unexpected divergences above max, too few txs, and less than full fidelity, counted in the report", async () => {
    await replayed({}, { divergences: [{ txHash: "0x01" }, { txHash: "0x02" }], txs: 3, fidelity: { matched: 2, total: 3 } });
    const result = await evaluate({ ...config, minTxs: 10 });
    expect(result.status).to.equal("fail");
    expect(result.detail).to.match(/^2 unexpected divergence\(s\), max 0; 3 transaction\(s\) replayed, min 10; fidelity 2\/3, full fidelity required \(/);
    await replayed({}, { divergences: [{ txHash: "0x01" }, { txHash: "0x02" }], txs: 3, fidelity: { matched: 3, total: 3 } });
    expect((await evaluate({ max: 2, minTxs: 3, minFidelity: 1, required: true })).status).to.equal("pass");
  });

  it("takes the counts from the hash-checked report, not from the record", async () => {
    // The record claims a clean replay; the report it hashes says otherwise.
    await replayed({ divergences: 0, txs: 42 }, { divergences: [{ txHash: "0x0a" }], txs: 42 });
    const result = await evaluate();
    expect(result.status).to.equal("fail");
    expect(result.detail).to.match(/^1 unexpected divergence\(s\), max 0/);
    expect(result.notes![0]).to.include("the gate goes by the report");
  });

  it("requires faithful mode", async () => {
    await replayed({ mode: "fast" }, { mode: "fast" });
    const result = await evaluate();
    expect(result.status).to.equal("fail");
    expect(result.detail).to.match(/^\[BG_REPLAY_NOT_FAITHFUL\] the replay ran in fast mode/);
    expect(result.fix).to.include("--mode faithful");
  });

  it("fails on a report without the replay's own counts", async () => {
    await replayed({}, { divergences: undefined, fidelity: undefined });
    const result = await evaluate();
    expect(result.status).to.equal("fail");
    expect(result.detail).to.match(/is not a hardhat-bluegreen\/replay-report@2 report: divergences required/);
  });

  it("with maxAgeBlocks, fails a replay whose range ended too long before the head", async () => {
    await replayed();
    const at = (head: number) =>
      evaluateReplayGate(record, { ...config, maxAgeBlocks: 100 }, {
        releaseDir: project.store.releaseDir(record.chainId, record.id),
        projectRoot: project.root,
        head: async () => head,
      });
    expect((await at(220)).status).to.equal("pass");
    const stale = await at(221);
    expect(stale.status).to.equal("fail");
    expect(stale.detail).to.match(/^\[BG_REPLAY_STALE\] the replayed range ends at block 120, 101 blocks before the head 221 \(maxAgeBlocks 100\)/);
    const blind = await evaluateReplayGate(record, { ...config, maxAgeBlocks: 100 }, { releaseDir: project.store.releaseDir(record.chainId, record.id), projectRoot: project.root });
    expect(blind.status).to.equal("inconclusive");
  });

  it("fails on an inconclusive replay, with the report's own reason, whatever the recorded counts say", async () => {
    const reason = "inconclusive: blue did not reproduce the chain (fidelity 40/42: receipts 40/42, state 0/0; all of them must match). See fidelity.mismatches.";
    await replayed({}, { verdict: "inconclusive", verdictReason: reason });
    const result = await evaluate();
    expect(result.status).to.equal("fail");
    expect(result.detail.startsWith(reason)).to.equal(true);
    expect(result.fix).to.match(/An inconclusive replay proves nothing/);
  });

  it("fails on a report written before replays had verdicts", async () => {
    await replayed({}, { verdict: undefined });
    const result = await evaluate();
    expect(result.status).to.equal("fail");
    expect(result.detail).to.match(/^the report has no verdict/);
  });

  it("fails when the report file changed after the replay (keccak256 mismatch)", async () => {
    await replayed();
    const file = path.join(project.store.releaseDir(record.chainId, record.id), "replay-100-120.json");
    await project.write(path.relative(project.root, file), JSON.stringify({ greenCodehash: record.green.codehash, edited: true }));
    const result = await evaluate();
    expect(result.status).to.equal("fail");
    expect(result.detail).to.match(/^the replay report \.bluegreen\/1\/vault-v2\/replay-100-120\.json changed since the replay: keccak256 0x/);
  });

  it("fails when the replay or its report is about another green", async () => {
    const other = "0x" + "99".repeat(32);
    await replayed({ greenCodehash: other });
    expect((await evaluate()).detail).to.equal(`the latest replay was of green ${other}, not the staged green ${record.green.codehash}`);
    await replayed({}, { greenCodehash: other });
    expect((await evaluate()).detail).to.equal(
      `the replay report .bluegreen/1/vault-v2/replay-100-120.json is about green ${other}, not ${record.green.codehash}`,
    );
  });

  it("fails on a replay step it cannot read, naming the field", async () => {
    await replayed({ fidelity: "all good" });
    const result = await evaluate();
    expect(result.status).to.equal("fail");
    expect(result.detail).to.equal("the recorded replay is unreadable: steps.replay.fidelity expected object, received string");
  });
});
