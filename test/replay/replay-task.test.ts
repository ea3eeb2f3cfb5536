/**
 * The bg:replay task action, run as the CLI would run it (a Hardhat runtime
 * whose --network is the "mainnet" node), with --json and without.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { keccak256 } from "ethers";
import { createHardhatRuntimeEnvironment } from "hardhat/hre";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import blueGreen from "../../src/index.js";
import { ReleaseStore } from "../../src/release/store.js";
import replayTask from "../../tasks/replay.js";
import { stagedRecord } from "../helpers/record-fixture.js";
import { buildReplayWorld, deployGreen, generateTraffic, settle, type ReplayWorld } from "./helpers/replay-world.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

async function captureStdout(run: () => Promise<void>): Promise<{ stdout: string; exitCode: number | undefined }> {
  const write = process.stdout.write.bind(process.stdout);
  const previous = process.exitCode;
  let stdout = "";
  process.exitCode = undefined;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    return true;
  }) as typeof process.stdout.write;
  try {
    await run();
    return { stdout, exitCode: process.exitCode as number | undefined };
  } finally {
    process.stdout.write = write;
    process.exitCode = previous;
  }
}

describe("the bg:replay task", function () {
  let world: ReplayWorld;
  let dir: string;
  let hre: HardhatRuntimeEnvironment;
  let fromBlock: number;
  let toBlock: number;
  let large: string[];

  before(async () => {
    world = await buildReplayWorld("hardhat", 4);
    dir = await mkdtemp(path.join(tmpdir(), "bg-replay-task-"));
    const traffic = await generateTraffic(world, { count: 16, perBlock: 4, seed: 5, kinds: ["transfer", "transferVia", "approve"] });
    ({ fromBlock, toBlock } = traffic);
    large = traffic.txs.filter((t) => t.large && t.status === "success").map((t) => t.hash).sort();
    const green = await deployGreen(world, "ReplayTokenFeeChange");
    await settle(world);
    const base = stagedRecord("token-v2", world.chainId);
    const record = {
      ...base,
      network: "source",
      proxy: world.token,
      admin: world.admin,
      blue: { address: world.tokenImpl, codehash: world.tokenImplCodehash },
      green: {
        ...base.green,
        ...green,
        contract: "ReplayTokenFeeChange",
        fullyQualifiedName: "contracts/examples/replay/ReplayTokenFeeChange.sol:ReplayTokenFeeChange",
      },
      upgradeSafety: { ...base.upgradeSafety, reference: "contracts/examples/replay/ReplayToken.sol:ReplayToken" },
    };
    await new ReleaseStore(path.join(dir, "records")).update(world.chainId, record.id, () => record);
    hre = await createHardhatRuntimeEnvironment(
      {
        plugins: [blueGreen],
        networks: { source: { type: "http", url: world.node.url } },
        paths: { cache: path.join(dir, "cache"), artifacts: path.join(ROOT, "artifacts") },
        blueGreen: { recordsDir: path.join(dir, "records") },
      },
      { network: "source" },
      ROOT,
    );
  });
  after(async () => {
    await world?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const args = (extra: Record<string, unknown>) => ({
    release: "token-v2",
    fromBlock: "",
    toBlock: "",
    lastBlocks: "",
    traffic: "",
    mode: "",
    cascade: false,
    json: true,
    ...extra,
  });

  it("prints exactly one JSON document, records the evidence, and exits non-zero on divergences", async () => {
    const run = await captureStdout(() => replayTask(args({ fromBlock: String(fromBlock), toBlock: String(toBlock) }), hre));
    const doc = JSON.parse(run.stdout);
    expect(run.exitCode).to.equal(1);
    expect(doc).to.deep.include({ ok: false, release: "token-v2", txs: 16, expected: 0, propagated: 0, mode: "faithful", fromBlock, toBlock });
    expect(doc.verdict).to.equal("divergent");
    expect(doc.fidelity.receipts).to.deep.equal({ matched: 16, total: 16 });
    expect(doc.fidelity.matched).to.equal(doc.fidelity.total);
    expect(doc.divergences.map((d: { txHash: string }) => d.txHash).sort()).to.deep.equal(large);
    for (const d of doc.divergences) expect(Object.keys(d)).to.deep.equal(["txHash", "kind", "critical", "blue", "green"]);

    const record = await new ReleaseStore(path.join(dir, "records")).get(world.chainId, "token-v2");
    expect(record.state).to.equal("replayed");
    const step = record.steps.replay as { reportFile: string; reportHash: string; divergences: number };
    expect(step.divergences).to.equal(large.length);
    const bytes = await readFile(path.join(dir, "records", String(world.chainId), "token-v2", step.reportFile));
    expect(keccak256(bytes)).to.equal(step.reportHash);
    expect(path.resolve(doc.report)).to.equal(path.join(dir, "records", String(world.chainId), "token-v2", step.reportFile));
  });

  it("shows people a summary table and where the report is", async () => {
    const run = await captureStdout(() => replayTask(args({ json: false, lastBlocks: String(toBlock - fromBlock + 1 + 256) }), hre));
    expect(run.stdout).to.match(/Replay/);
    expect(run.stdout).to.match(/divergences/);
    expect(run.stdout).to.match(/Divergences \(root, caused by green\):/);
    expect(run.stdout).to.match(/Report: .*replay-.*\.json/);
    expect(run.exitCode).to.equal(1);
  });

  it("records nothing for a range that holds none of the proxy's traffic: inconclusive, exit 2, the release keeps its evidence", async () => {
    const store = new ReleaseStore(path.join(dir, "records"));
    const before = await store.get(world.chainId, "token-v2");
    // The blocks after the traffic (the settling ones) touch nothing.
    const empty = String(toBlock + 2);
    const run = await captureStdout(() => replayTask(args({ fromBlock: empty, toBlock: empty }), hre));
    const doc = JSON.parse(run.stdout);
    expect(run.exitCode).to.equal(2);
    expect(doc).to.deep.include({ ok: false, verdict: "inconclusive", txs: 0 });
    expect(doc.report).to.equal(undefined);
    const after = await store.get(world.chainId, "token-v2");
    expect(after.steps.replay).to.deep.equal(before.steps.replay);
    expect(after.state).to.equal(before.state);
    const people = await captureStdout(() => replayTask(args({ json: false, fromBlock: empty, toBlock: empty }), hre));
    expect(people.stdout).to.contain("Nothing recorded");
    expect(people.exitCode).to.equal(2);
  });

  it("answers bad input with ok:false JSON that says what to pass", async () => {
    const noRange = JSON.parse((await captureStdout(() => replayTask(args({}), hre))).stdout);
    expect(noRange).to.deep.include({ ok: false });
    expect(noRange.error).to.match(/exactly one of: --from-block A --to-block B, --last-blocks K, or --traffic/);
    const badMode = JSON.parse((await captureStdout(() => replayTask(args({ lastBlocks: "3", mode: "quick" }), hre))).stdout);
    expect(badMode.error).to.match(/--mode "quick" is not a mode/);
    const badCapture = JSON.parse((await captureStdout(() => replayTask(args({ traffic: path.join(dir, "missing.jsonl") }), hre))).stdout);
    expect(badCapture.error).to.match(/Cannot read the capture file/);
    const notBeacon = JSON.parse((await captureStdout(() => replayTask(args({ lastBlocks: "3", proxies: world.token }), hre))).stdout);
    expect(notBeacon).to.deep.include({ ok: false, code: "BG_REPLAY_OPTION" });
    expect(notBeacon.error).to.match(/--proxies lists the proxies of a beacon, but release "token-v2" upgrades the transparent proxy/);
    const badProxy = JSON.parse((await captureStdout(() => replayTask(args({ lastBlocks: "3", proxies: "0x12,0xzz" }), hre))).stdout);
    expect(badProxy).to.deep.include({ ok: false, code: "BG_REPLAY_OPTION" });
    expect(badProxy.error).to.match(/--proxies/);
    // Shards must share one range: --last-blocks would read each shard's own head.
    const movingShard = JSON.parse((await captureStdout(() => replayTask(args({ lastBlocks: "3", shard: "1/2" }), hre))).stdout);
    expect(movingShard).to.deep.include({ ok: false, code: "BG_REPLAY_OPTION" });
    expect(movingShard.error).to.match(/--shard needs the same range in every shard.*--from-block A --to-block B/);
  });
});
