/**
 * Shards: `bg:replay --shard i/n` run as n separate processes, then
 * `bg:replay merge`, give the same report as one run of the range; a
 * shard's partial report is never the release's evidence; the merge refuses
 * partials that do not fit together. Plus the slicing itself.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { keccak256 } from "ethers";

import { evaluateReplayGate } from "../../src/gates/replay-gate.js";
import { BlueGreenError } from "../../src/errors.js";
import type { ReleaseRecord } from "../../src/release/record.js";
import { ReleaseStore } from "../../src/release/store.js";
import { checkPartials, mergePartials, type PartialInput, readPartialReports } from "../../src/replay/merge.js";
import { recordReplay } from "../../src/replay/record-step.js";
import type { ReplayReport } from "../../src/replay/report.js";
import { parseShard, sliceRange } from "../../src/replay/shard.js";
import { onlyJson, runHardhat } from "../helpers/cli.js";
import { buildReplayWorld, generateTraffic, settle, type ReplayWorld } from "./helpers/replay-world.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (BlueGreenError.is(e)) return e.code;
    throw e;
  }
  return undefined;
}

describe("shard slices", function () {
  const weights = [
    { number: 11, weight: 5 },
    { number: 12, weight: 1 },
    { number: 15, weight: 9 },
    { number: 16, weight: 2 },
    { number: 20, weight: 3 },
  ];

  it("cover the range exactly once, in order, with whole blocks", () => {
    for (const n of [1, 2, 3, 4, 7]) {
      const slices = sliceRange(weights, 10, 25, n);
      expect(slices).to.have.length(n);
      expect(slices[0]!.fromBlock).to.equal(10);
      expect(slices[n - 1]!.toBlock).to.equal(25);
      for (let i = 1; i < n; i++) expect(slices[i]!.fromBlock).to.equal(slices[i - 1]!.toBlock + 1);
      const weightIn = (s: { fromBlock: number; toBlock: number }) => weights.filter((w) => w.number >= s.fromBlock && w.number <= s.toBlock).reduce((a, w) => a + w.weight, 0);
      expect(slices.reduce((a, s) => a + weightIn(s), 0)).to.equal(20);
    }
  });

  it("balance the transactions: no slice holds more than its share plus one block", () => {
    const many = Array.from({ length: 60 }, (_, i) => ({ number: 100 + i, weight: 1 + ((i * 7) % 5) }));
    const total = many.reduce((a, w) => a + w.weight, 0);
    const slices = sliceRange(many, 100, 159, 4);
    for (const s of slices) {
      const inSlice = many.filter((w) => w.number >= s.fromBlock && w.number <= s.toBlock).reduce((a, w) => a + w.weight, 0);
      expect(inSlice).to.be.at.most(total / 4 + 5);
      expect(inSlice).to.be.at.least(total / 4 - 5);
    }
  });

  it("are the same however often they are cut (n processes agree), and empty slices stay in place", () => {
    expect(sliceRange(weights, 10, 25, 3)).to.deep.equal(sliceRange([...weights], 10, 25, 3));
    const one = [{ number: 12, weight: 4 }];
    const slices = sliceRange(one, 10, 14, 3);
    expect(slices.map((s) => [s.fromBlock, s.toBlock])).to.deep.equal([
      [10, 12],
      [13, 12],
      [13, 14],
    ]);
  });

  it("parse i/n and refuse anything else with BG_REPLAY_OPTION", () => {
    expect(parseShard("2/4")).to.deep.equal({ index: 2, count: 4 });
    for (const bad of ["0/4", "5/4", "2", "a/b", "1/0", "-1/2"]) expect(codeOf(() => parseShard(bad)), bad).to.equal("BG_REPLAY_OPTION");
  });
});

describe("bg:replay --shard i/n in n processes, then bg:replay merge", function () {
  let world: ReplayWorld;
  let records: string;
  let traffic: Awaited<ReturnType<typeof generateTraffic>>;
  let env: Record<string, string>;
  let store: ReleaseStore;
  const RELEASE = "fee-shards";
  const N = 3;
  let single: { doc: any; report: ReplayReport; jsonl: string };
  let partials: string[];

  const releaseDir = () => store.releaseDir(world.chainId, RELEASE);
  const readReport = async (file: string) => JSON.parse(await readFile(file, "utf8")) as ReplayReport;

  before(async function () {
    this.timeout(600_000);
    world = await buildReplayWorld("anvil", 6);
    records = await mkdtemp(path.join(tmpdir(), "bg-replay-shards-"));
    store = new ReleaseStore(records);
    traffic = await generateTraffic(world, { count: 30, perBlock: 3, seed: 17, kinds: ["transfer", "transferVia", "approve"] });
    await settle(world, 5);
    env = { BLUEGREEN_RPC_URL: world.node.url, BLUEGREEN_RECORDS_DIR: records };
    const staged = await runHardhat(
      ["bg:stage", "--network", "localMainnet", "--proxy", world.token, "--contract", "ReplayTokenFeeChange", "--reference", "ReplayToken", "--release", RELEASE, "--json"],
      env,
    );
    expect(staged.code).to.equal(0, staged.stdout + staged.stderr);
    const range = ["--from-block", String(traffic.fromBlock), "--to-block", String(traffic.toBlock)];

    const one = await runHardhat(["bg:replay", "--network", "localMainnet", "--release", RELEASE, ...range, "--json"], env);
    expect(one.code).to.equal(1, one.stdout + one.stderr);
    const doc = onlyJson(one);
    const report = await readReport(path.resolve(doc.report));
    single = { doc, report, jsonl: await readFile(path.join(releaseDir(), report.comparisons!.file), "utf8") };

    // n separate processes, side by side, as n CI machines would run them.
    const shards = await Promise.all(
      Array.from({ length: N }, (_, i) => runHardhat(["bg:replay", "--network", "localMainnet", "--release", RELEASE, ...range, "--shard", `${i + 1}/${N}`, "--json"], env)),
    );
    partials = shards.map((run, i) => {
      const d = onlyJson(run);
      expect(d.partial, `shard ${i + 1}: ${run.stderr}`).to.equal(true);
      expect(d.shard).to.include({ index: i + 1, count: N });
      return path.resolve(d.report);
    });
  });

  after(async () => {
    await world?.stop();
    if (records !== undefined) await rm(records, { recursive: true, force: true });
  });

  it("writes partial reports that cut the range into whole-block slices and record nothing", async () => {
    const reports = await Promise.all(partials.map(readReport));
    expect(reports.map((r) => r.schema)).to.deep.equal(Array(N).fill("hardhat-bluegreen/replay-partial@1"));
    expect(reports[0]!.shard!.fromBlock).to.equal(traffic.fromBlock);
    expect(reports[N - 1]!.shard!.toBlock).to.equal(traffic.toBlock);
    for (let i = 1; i < N; i++) expect(reports[i]!.shard!.fromBlock).to.equal(reports[i - 1]!.shard!.toBlock + 1);
    // Every shard replayed part of the traffic, and together all of it.
    for (const r of reports) expect(r.txs).to.be.greaterThan(0);
    expect(reports.reduce((n, r) => n + r.txs, 0)).to.equal(single.report.txs);
    for (const r of reports) expect(r.release).to.equal(RELEASE);
    const record = await store.get(world.chainId, RELEASE);
    expect((record.steps.replay as { reportFile: string }).reportFile).to.equal(path.basename(single.doc.report));
  });

  it("merges into the report one run gives: same divergences, fidelity and comparisons, recorded as the release's replay", async function () {
    this.timeout(300_000);
    const merged = await runHardhat(["bg:replay", "merge", ...partials, "--json"], env);
    expect(merged.code).to.equal(1, merged.stdout + merged.stderr);
    const doc = onlyJson(merged);
    expect(doc).to.include({ verdict: "divergent", mergedShards: N, txs: single.doc.txs });
    const report = await readReport(path.resolve(doc.report));
    // What the shards asked of the source adds up in the merged report.
    const shardPrefetch = (await Promise.all(partials.map((p) => readReport(path.resolve(p))))).map((r) => r.sourceRequests.prefetch!);
    expect(shardPrefetch.every((p) => p !== undefined)).to.equal(true);
    expect(report.sourceRequests.prefetch).to.deep.include({
      path: shardPrefetch[0]!.path,
      requests: shardPrefetch.reduce((n, p) => n + p.requests, 0),
      accounts: shardPrefetch.reduce((n, p) => n + p.accounts, 0),
    });
    const large = traffic.txs.filter((t) => t.large && t.status === "success").map((t) => t.hash).sort();
    expect(large.length).to.be.greaterThan(1);
    expect(report.divergences.map((d) => d.txHash).sort()).to.deep.equal(large);
    expect(report.divergences).to.deep.equal(single.report.divergences);
    expect(report.expected).to.deep.equal(single.report.expected);
    expect(report.fidelity).to.deep.equal(single.report.fidelity);
    expect(report.counts).to.deep.equal(single.report.counts);
    expect([report.verdict, report.verdictReason, report.replayed, report.blocks]).to.deep.equal([
      single.report.verdict,
      single.report.verdictReason,
      single.report.replayed,
      single.report.blocks,
    ]);
    expect(report.warnings).to.deep.equal(single.report.warnings);
    const jsonl = await readFile(path.join(releaseDir(), report.comparisons!.file), "utf8");
    expect(jsonl.trim().split("\n")).to.have.length(single.report.txs);
    expect(jsonl).to.equal(single.jsonl);

    const record = await store.get(world.chainId, RELEASE);
    const step = record.steps.replay as { reportFile: string; reportHash: string; divergences: number };
    expect(step.reportFile).to.equal(path.basename(doc.report));
    expect(keccak256(await readFile(path.resolve(doc.report)))).to.equal(step.reportHash);
    expect(step.divergences).to.equal(large.length);
    // The gate reads the merged report as it reads one run's.
    const gate = await evaluateReplayGate(record, { max: large.length, minTxs: 1, minFidelity: 1, required: true }, { releaseDir: releaseDir(), projectRoot: records });
    expect(gate.status, gate.detail).to.equal("pass");
    expect(gate.evidence).to.include({ txs: single.report.txs, divergences: large.length });
  });

  it("refuses a set of partials with a shard missing, one given twice, or from another split, with the code that says which", async () => {
    const inputs: PartialInput[] = await Promise.all(partials.map(async (file) => ({ file, report: (await readReport(file)) as PartialInput["report"] })));
    expect(codeOf(() => checkPartials([...inputs, inputs[1]!]))).to.equal("BG_REPLAY_MERGE_OVERLAP");
    const shifted = inputs.map((i, k) => (k === 1 ? { ...i, report: { ...i.report, shard: { ...i.report.shard, fromBlock: i.report.shard.fromBlock - 1 } } } : i));
    expect(codeOf(() => checkPartials(shifted))).to.equal("BG_REPLAY_MERGE_OVERLAP");
    const gap = inputs.map((i, k) => (k === 1 ? { ...i, report: { ...i.report, shard: { ...i.report.shard, fromBlock: i.report.shard.fromBlock + 1 } } } : i));
    expect(codeOf(() => checkPartials(gap))).to.equal("BG_REPLAY_MERGE_GAP");
    const otherGreen = inputs.map((i, k) => (k === 2 ? { ...i, report: { ...i.report, greenCodehash: keccak256("0x00") } } : i));
    expect(codeOf(() => checkPartials(otherGreen))).to.equal("BG_REPLAY_MERGE_MISMATCH");
    const otherSettings = inputs.map((i, k) => (k === 0 ? { ...i, report: { ...i.report, settings: { ...i.report.settings!, hash: keccak256("0x01") } } } : i));
    expect(codeOf(() => checkPartials(otherSettings))).to.equal("BG_REPLAY_MERGE_MISMATCH");
    const otherSplit = inputs.map((i) => ({ ...i, report: { ...i.report, shard: { ...i.report.shard, count: 4 } } }));
    expect(codeOf(() => checkPartials([...otherSplit.slice(0, 1), ...inputs.slice(1)]))).to.equal("BG_REPLAY_MERGE_MISMATCH");

    const missing = await mergePartials([inputs[0]!, inputs[2]!], { dir: records, stem: () => "never" }).catch((e: unknown) => e);
    expect(BlueGreenError.is(missing) ? missing.code : missing).to.equal("BG_REPLAY_MERGE_GAP");
    expect((missing as Error).message).to.match(/Shard 2\/3 is missing/);
    const whole = await readPartialReports([path.resolve(single.doc.report)]).catch((e: unknown) => e);
    expect(BlueGreenError.is(whole) ? whole.code : whole).to.equal("BG_REPLAY_MERGE_INPUT");
  });

  it("never takes a partial report as the release's replay: not recorded, and refused by the gate", async () => {
    const partial = await readReport(partials[1]!);
    const error = await recordReplay(store, world.chainId, partial, { actor: "test", markdown: () => "" }).catch((e: unknown) => e);
    expect(BlueGreenError.is(error) ? error.code : error).to.equal("BG_REPLAY_PARTIAL");
    // A record pointed at a partial by hand, with the right hash: the gate still refuses it.
    const record = await store.get(world.chainId, RELEASE);
    const bytes = await readFile(partials[1]!);
    const forged = {
      ...record,
      steps: { ...record.steps, replay: { ...(record.steps.replay as object), reportFile: path.basename(partials[1]!), reportHash: keccak256(bytes) } },
    } as ReleaseRecord;
    const gate = await evaluateReplayGate(forged, { max: 100, minTxs: 1, minFidelity: 0, required: true }, { releaseDir: releaseDir(), projectRoot: records });
    expect(gate.status).to.equal("fail");
    expect(gate.code).to.equal("BG_REPLAY_PARTIAL");
  });
});
