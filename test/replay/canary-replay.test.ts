/**
 * `bg:replay --canary <bps>`, run as the CLI runs it against a "mainnet"
 * Hardhat node: the green world has a CanaryRouter in the proxy's place, so
 * each transaction runs green or blue by its sender's cohort. The report
 * shows the split (each transaction's cohort, and which implementation
 * really ran behind the router) and the router's gas overhead; the
 * release's replay evidence is left alone.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { keccak256, toUtf8Bytes } from "ethers";
import { createHardhatRuntimeEnvironment } from "hardhat/hre";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import blueGreen from "../../src/index.js";
import { ReleaseStore } from "../../src/release/store.js";
import { cohortOf } from "../../src/switch/canary-cohort.js";
import replayTask from "../../tasks/replay.js";
import { stagedRecord } from "../helpers/record-fixture.js";
import { type GeneratedTx, buildReplayWorld, deployGreen, generateTraffic, settle, type ReplayWorld } from "./helpers/replay-world.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const SALT = keccak256(toUtf8Bytes("token-v2 canary"));
const BPS = 5000;

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

describe("bg:replay --canary", function () {
  this.timeout(240_000);
  let world: ReplayWorld;
  let dir: string;
  let hre: HardhatRuntimeEnvironment;
  let fromBlock: number;
  let toBlock: number;
  let txs: GeneratedTx[];

  before(async () => {
    world = await buildReplayWorld("hardhat", 10);
    dir = await mkdtemp(path.join(tmpdir(), "bg-replay-canary-"));
    const traffic = await generateTraffic(world, { count: 24, perBlock: 4, seed: 11, kinds: ["transfer", "transferVia"] });
    ({ fromBlock, toBlock, txs } = traffic);
    const green = await deployGreen(world, "ReplayTokenFeeChange");
    await settle(world);
    const base = stagedRecord("token-v2", world.chainId);
    const record = {
      ...base,
      network: "source",
      proxy: world.token,
      admin: world.admin,
      blue: { address: world.tokenImpl, codehash: world.tokenImplCodehash },
      green: { ...base.green, ...green, contract: "ReplayTokenFeeChange", fullyQualifiedName: "contracts/examples/replay/ReplayTokenFeeChange.sol:ReplayTokenFeeChange" },
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
    fromBlock: String(fromBlock),
    toBlock: String(toBlock),
    lastBlocks: "",
    traffic: "",
    mode: "",
    cascade: false,
    canary: String(BPS),
    canarySalt: SALT,
    canaryCohort: "",
    json: true,
    ...extra,
  });

  it("reports each transaction's cohort, the implementation that really ran behind the router, and the router's gas overhead", async () => {
    const run = await captureStdout(() => replayTask(args({}), hre));
    const doc = JSON.parse(run.stdout);
    const canary = doc.canary;
    expect(canary).to.deep.include({ bps: BPS, salt: SALT, cohortBy: "tx.origin", mismatched: [] });
    expect(canary.txs).to.have.length(txs.length);

    // The cohort is the sender's (tx.origin: direct transfers and transfers through the router contract alike),
    // and the trace shows that exact implementation ran behind the router.
    const byHash = new Map(canary.txs.map((t: { hash: string }) => [t.hash, t]));
    for (const tx of txs) {
      const expected = cohortOf(SALT, tx.from, BPS);
      expect(byHash.get(tx.hash), tx.hash).to.deep.include({ cohort: expected, ran: expected });
    }
    const greens = txs.filter((t) => cohortOf(SALT, t.from, BPS) === "green");
    expect(greens.length).to.be.greaterThan(0).and.lessThan(txs.length);
    expect(canary.cohorts.green.txs).to.equal(greens.length);
    expect(canary.cohorts.blue.txs).to.equal(txs.length - greens.length);
    expect(canary.observedShare).to.be.closeTo(greens.length / txs.length, 1e-12);

    // Green's fee change shows only in green's cohort; blue's cohort differs from blue at most by the router's gas.
    const diverged = new Set(doc.divergences.filter((d: { kind: string }) => d.kind !== "gas").map((d: { txHash: string }) => d.txHash));
    for (const tx of txs) {
      if (cohortOf(SALT, tx.from, BPS) === "blue") expect(diverged.has(tx.hash), `blue-cohort ${tx.hash}`).to.equal(false);
      else if (tx.large && tx.status === "success") expect(diverged.has(tx.hash), `green-cohort large ${tx.hash}`).to.equal(true);
    }

    // The router's cost: the same blue-cohort transaction through the router against blue directly.
    expect(canary.routerOverhead.txs).to.equal(txs.filter((t) => cohortOf(SALT, t.from, BPS) === "blue" && t.status === "success").length);
    expect(canary.routerOverhead.min).to.be.greaterThan(0);
    expect(canary.routerOverhead.median).to.be.at.most(3000);

    // A canary replay is not the release's evidence: the record keeps its state and steps; the report is written beside it.
    const record = await new ReleaseStore(path.join(dir, "records")).get(world.chainId, "token-v2");
    expect(record.state).to.equal("staged");
    expect(record.steps.replay).to.equal(undefined);
    expect(path.basename(doc.report)).to.match(/^replay-canary-5000-.*\.json$/);
    const markdown = await readFile(path.resolve(doc.report).replace(/\.json$/, ".md"), "utf8");
    expect(markdown).to.match(/## Canary at 50% \(cohort by `tx.origin`\)/);
    expect(markdown).to.contain(`| green | ${greens.length} |`);
  });

  it("refuses a share that is not 1..9999 basis points, and a salt that is not bytes32", async () => {
    const whole = JSON.parse((await captureStdout(() => replayTask(args({ canary: "10000" }), hre))).stdout);
    expect(whole).to.deep.include({ ok: false, code: "BG_REPLAY_CANARY_SHARE" });
    const percent = JSON.parse((await captureStdout(() => replayTask(args({ canary: "5%" }), hre))).stdout);
    expect(percent.error).to.match(/not a canary share/);
    const salt = JSON.parse((await captureStdout(() => replayTask(args({ canarySalt: "0x12" }), hre))).stdout);
    expect(salt.error).to.match(/--canary-salt "0x12" is not a bytes32/);
  });
});
