/**
 * bg:monitor and bg:waves from the command line, as CI or cron runs them,
 * against a separate Hardhat node with a real switch: --once exits 0 on a
 * healthy release and non-zero on a failing one, --json prints one document,
 * and --auto-rollback schedules the rollback through the guardian.
 */
import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";

import { ReleaseStore } from "../../src/release/store.js";
import { onlyJson, runHardhat } from "../helpers/cli.js";
import { type MonitorWorld, deployGreen, markLive, mine, promote, releaseStore, startWorld, tick } from "./world.js";

const CONFIG = path.join("test", "monitor", "cli-project", "hardhat.config.ts");

describe("bg:monitor and bg:waves from the command line, against a separate Hardhat node", function () {
  let w: MonitorWorld;
  let env: Record<string, string>;
  const hardhat = (...args: string[]) => runHardhat(["--config", CONFIG, "--network", "localMainnet", ...args], env);

  before(async function () {
    w = await startWorld(4);
    const scratch = await mkdtemp(path.join(tmpdir(), "bg-monitor-cli-"));
    const store = new ReleaseStore(path.join(scratch, "records"));
    env = {
      BLUEGREEN_RPC_URL: w.node.url,
      BG_TEST_CACHE: path.join(scratch, "cache"),
      BG_TEST_ARTIFACTS: path.join(scratch, "artifacts"),
      BG_TEST_RECORDS: store.root,
    };
    // A healthy release on proxy 0 and a failing one on proxy 1, both live.
    const healthy = await deployGreen(w, "MonitorMeterV2");
    const breaking = await deployGreen(w, "MonitorMeterV2Breaking");
    await releaseStore(w, healthy, "MonitorMeterV2", { id: "healthy", proxy: w.proxies[0]!, store });
    await releaseStore(w, breaking, "MonitorMeterV2Breaking", { id: "failing", proxy: w.proxies[1]!, store });
    await tick(w, 2, { proxy: w.proxies[0]! });
    await tick(w, 2, { proxy: w.proxies[1]! });
    await promote(w, healthy, [w.proxies[0]!]);
    await promote(w, breaking, [w.proxies[1]!]);
    await markLive(store, w, "healthy");
    await markLive(store, w, "failing");
    await tick(w, 4, { proxy: w.proxies[0]! });
    expect(await tick(w, 6, { proxy: w.proxies[1]! })).to.deep.equal({ ok: 3, reverted: 3 });
    await mine(w, 2);
  });
  after(async () => w?.stop());

  it("--once exits 0 on a healthy release and prints one JSON document", async function () {
    const run = await hardhat("bg:monitor", "--release", "healthy", "--once", "--json");
    expect(run.code, run.stderr).to.equal(0);
    const doc = onlyJson(run);
    expect(doc).to.deep.include({ ok: true, release: "healthy", verdict: "healthy", stopped: "once" });
    expect(doc.runs[0].metrics["revert-rate"]).to.deep.include({ phase: "Running", failed: 0 });
    // Log lines are JSON too, on stderr.
    const events = run.stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l).event);
    expect(events).to.include.members(["started", "promotion-found", "analysis-started", "monitor-stopped"]);
  });

  it("--once right after a switch says the promotion is not confirmed yet, rather than that the release is not live", async function () {
    // Proxy 3 (no other test uses it): promoted in the head block, so not yet `confirmations` deep.
    const green = await deployGreen(w, "MonitorMeterV2");
    const store = new ReleaseStore(env.BG_TEST_RECORDS!);
    await releaseStore(w, green, "MonitorMeterV2", { id: "just-switched", proxy: w.proxies[3]!, store });
    await promote(w, green, [w.proxies[3]!]);
    await markLive(store, w, "just-switched");
    const run = await hardhat("bg:monitor", "--release", "just-switched", "--once", "--json");
    expect(run.code).to.not.equal(0);
    expect(onlyJson(run).error).to.match(/was switched, but its promotion is not yet 1 block\(s\) deep .* run bg:monitor --once again/);
  });

  it("--once exits non-zero on a failing release, and says why, without rolling back when not asked", async function () {
    const run = await hardhat("bg:monitor", "--release", "failing", "--once", "--json");
    expect(run.code).to.not.equal(0);
    const doc = onlyJson(run);
    expect(doc).to.deep.include({ ok: false, verdict: "failed" });
    expect(doc.runs[0].cause.metric).to.equal("revert-rate");
    expect(Number((await w.sw.getFunction("proxyState")(w.proxies[1]!)).status)).to.equal(1);

    const people = await hardhat("bg:monitor", "--release", "failing", "--once");
    expect(people.code).to.not.equal(0);
    expect(people.stdout).to.match(/failing/);
    expect(people.stdout).to.match(/cause revert-rate: failed \(1\) > failureLimit \(0\)/);
  });

  it("--once --auto-rollback schedules the rollback through the guardian and exits non-zero", async function () {
    const guardian = await w.guardian.getAddress();
    const run = await hardhat("bg:monitor", "--release", "failing", "--once", "--auto-rollback", "--signer", guardian, "--json");
    expect(run.code).to.not.equal(0);
    const doc = onlyJson(run);
    expect(doc).to.deep.include({ ok: false, verdict: "rolling-back" });
    expect(doc.autoRollback.guardian).to.equal(guardian);
    expect(doc.autoRollback.reason).to.match(/revert-rate/);
    expect(Number((await w.sw.getFunction("proxyState")(w.proxies[1]!)).status)).to.equal(2);
  });

  it("refuses a --signer that is not a guardian, saying how to fix it", async function () {
    const stranger = await w.user.getAddress();
    const run = await hardhat("bg:monitor", "--release", "healthy", "--once", "--auto-rollback", "--signer", stranger, "--json");
    expect(run.code).to.not.equal(0);
    expect(onlyJson(run).error).to.match(/is neither a guardian nor the approver.*Pass a guardian's account with --signer/);
  });

  it("--metrics-port serves /metrics while it follows the chain, and --duration ends the run cleanly", async function () {
    const bin = path.resolve("node_modules", ".bin");
    const { HARDHAT_CONFIG: _parent, ...inherited } = process.env;
    const child = spawn(path.join(bin, "hardhat"), ["--config", CONFIG, "--network", "localMainnet", "bg:monitor", "--release", "healthy", "--duration", "6", "--metrics-port", "0", "--json"], {
      env: { ...inherited, ...env, PATH: `${bin}${path.delimiter}${process.env.PATH}`, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number>((resolve) => child.once("exit", (code) => resolve(code ?? 1)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stderr.on("data", (d: Buffer) => {
          stderr += d.toString();
          const line = stderr.split("\n").find((l) => l.includes('"metrics-endpoint"'));
          if (line !== undefined) resolve(JSON.parse(line).url as string);
        });
        void exited.then(() => reject(new Error(`exited before serving metrics: ${stderr}`)));
      });
      let body = "";
      for (let i = 0; i < 40 && !/bluegreen_proxy_requests_total\{/.test(body); i++) {
        body = await (await fetch(url)).text();
        if (!/bluegreen_proxy_requests_total\{/.test(body)) await new Promise((r) => setTimeout(r, 150));
      }
      const tick = body.split("\n").find((l) => l.startsWith("bluegreen_proxy_requests_total{") && l.includes('status="success"'));
      expect(tick, body).to.match(/ 4$/);
      expect(body).to.match(/bluegreen_analysis_phase\{[^}]*phase="Running"[^}]*\} 1/);
    } finally {
      const code = await exited;
      expect(code, stderr).to.equal(0);
    }
    expect(JSON.parse(stdout.trim())).to.deep.include({ ok: true, verdict: "healthy", stopped: "duration" });
  });

  it("bg:waves plans the fleet and refuses the next wave while the canary bakes", async function () {
    const plan = await hardhat("bg:waves", "--release", "healthy", "--proxies", `${w.proxies[0]},${w.proxies[2]}`, "--json");
    expect(plan.code, plan.stdout + plan.stderr).to.equal(0);
    const doc = onlyJson(plan);
    expect(doc).to.deep.include({ ok: true, planned: true, fleet: [w.proxies[0], w.proxies[2]] });
    expect(doc.waves.map((x: { name: string; live: number; state: string }) => [x.name, x.live, x.state])).to.deep.equal([
      ["canary", 1, "baking"],
      ["all", 0, "pending"],
    ]);
    const next = await hardhat("bg:waves", "--release", "healthy", "--wave", "all", "--json");
    expect(next.code).to.not.equal(0);
    const decision = onlyJson(next).decision;
    expect(decision.allowed).to.equal(false);
    expect(decision.refusals.map((r: { kind: string }) => r.kind)).to.include("baking");
  });
});
