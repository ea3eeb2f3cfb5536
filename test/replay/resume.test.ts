/**
 * Resume: a `bg:replay` killed mid-way (SIGKILL, no chance to clean up)
 * leaves a checkpoint beside its part files; the same command run again
 * continues from the last completed block of each fork segment, and its
 * report is the one an uninterrupted run writes, timing aside.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";

import type { Checkpoint } from "../../src/replay/checkpoint.js";
import type { ReplayReport } from "../../src/replay/report.js";
import { ReleaseStore } from "../../src/release/store.js";
import { onlyJson, runHardhat } from "../helpers/cli.js";
import { buildReplayWorld, generateTraffic, settle, type ReplayWorld } from "./helpers/replay-world.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const BIN = path.join(ROOT, "node_modules", ".bin");

/** What may differ between two runs of the same replay: when and how fast it ran, and what the cache answered. */
function withoutTiming(report: ReplayReport) {
  const { timing: _t, startedAt: _s, finishedAt: _f, sourceRequests: _r, comparisons, ...rest } = report;
  return { ...rest, comparisons: { sha256: comparisons?.sha256, lines: comparisons?.lines } };
}

async function readCheckpoint(dir: string): Promise<Checkpoint | undefined> {
  const runs = await readdir(dir).catch(() => [] as string[]);
  for (const run of runs) {
    try {
      return JSON.parse(await readFile(path.join(dir, run, "checkpoint.json"), "utf8")) as Checkpoint;
    } catch {
      // Not written yet.
    }
  }
  return undefined;
}

describe("bg:replay resumes a killed run from its checkpoint", function () {
  let world: ReplayWorld;
  let records: string;
  let env: Record<string, string>;
  let args: string[];
  const RELEASE = "fee-resume";

  before(async function () {
    this.timeout(600_000);
    world = await buildReplayWorld("anvil", 8);
    records = await mkdtemp(path.join(tmpdir(), "bg-replay-resume-"));
    // Many small blocks: a run takes long enough to be killed between checkpoints.
    const traffic = await generateTraffic(world, { count: 160, perBlock: 2, seed: 23, kinds: ["transfer", "transferVia", "approve"] });
    await settle(world, 5);
    env = { BLUEGREEN_RPC_URL: world.node.url, BLUEGREEN_RECORDS_DIR: records };
    const staged = await runHardhat(
      ["bg:stage", "--network", "localMainnet", "--proxy", world.token, "--contract", "ReplayTokenFeeChange", "--reference", "ReplayToken", "--release", RELEASE, "--json"],
      env,
    );
    expect(staged.code).to.equal(0, staged.stdout + staged.stderr);
    args = ["bg:replay", "--network", "localMainnet", "--release", RELEASE, "--from-block", String(traffic.fromBlock), "--to-block", String(traffic.toBlock), "--json"];
  });

  after(async () => {
    await world?.stop();
    if (records !== undefined) await rm(records, { recursive: true, force: true });
  });

  it("gives, after SIGKILL and the same command again, the report an uninterrupted run gives", async function () {
    this.timeout(600_000);
    const releaseDir = new ReleaseStore(records).releaseDir(world.chainId, RELEASE);
    const inProgress = path.join(releaseDir, "replay-in-progress");

    const whole = await runHardhat(args, env);
    expect(whole.code).to.equal(1, whole.stderr);
    const reference = JSON.parse(await readFile(path.resolve(onlyJson(whole).report), "utf8")) as ReplayReport;
    expect(await readdir(inProgress).catch(() => [])).to.deep.equal([]);

    // The same run, killed as soon as a few blocks are checkpointed.
    const { HARDHAT_CONFIG: _parent, ...inherited } = process.env;
    const child = spawn(path.join(BIN, "hardhat"), args, {
      cwd: ROOT,
      env: { ...inherited, ...env, PATH: `${BIN}${path.delimiter}${process.env.PATH}`, FORCE_COLOR: "0", NO_COLOR: "1" },
      stdio: "ignore",
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    let killedAt: Checkpoint | undefined;
    for (;;) {
      const checkpoint = await readCheckpoint(inProgress);
      const done = checkpoint?.segments.reduce((n, s) => n + s.blocksDone, 0) ?? 0;
      if (checkpoint !== undefined && done >= 3 && checkpoint.segments.some((s) => !s.done)) {
        child.kill("SIGKILL");
        killedAt = checkpoint;
        break;
      }
      if (child.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await exited;
    expect(killedAt, "the run finished before it could be killed mid-way").to.not.equal(undefined);
    const left = await readCheckpoint(inProgress);
    expect(left, "the killed run left its checkpoint").to.not.equal(undefined);
    const record = await new ReleaseStore(records).get(world.chainId, RELEASE);
    expect((record.steps.replay as { reportFile: string }).reportFile).to.equal(path.basename(onlyJson(whole).report));

    const resumed = await runHardhat(args, env);
    expect(resumed.code).to.equal(1, resumed.stderr);
    expect(resumed.stderr).to.match(/resuming the replay started at .* from its checkpoint \(\d+ block\(s\) already replayed\)/);
    const doc = onlyJson(resumed);
    const report = JSON.parse(await readFile(path.resolve(doc.report), "utf8")) as ReplayReport;
    expect(report.divergences.length).to.be.greaterThan(0);
    expect(withoutTiming(report)).to.deep.equal(withoutTiming(reference));
    expect(await readFile(path.join(releaseDir, report.comparisons!.file), "utf8")).to.equal(await readFile(path.join(releaseDir, reference.comparisons!.file), "utf8"));
    expect(await readdir(inProgress).catch(() => [])).to.deep.equal([]);
  });
});
