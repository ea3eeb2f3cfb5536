/**
 * bg:monitor from the command line behind the fault-injecting proxy, as CI
 * runs it: a dropped first request is retried like any other, a node that
 * never answers is named in a coded error, and a `--once` run that could not
 * analyse every block due says so and exits 2 (as bg:replay's inconclusive).
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";

import { ReleaseStore } from "../../src/release/store.js";
import { onlyJson, runHardhat } from "../helpers/cli.js";
import { type FaultProxy, startFaultProxy } from "../helpers/fault-proxy.js";
import { type MonitorWorld, deployGreen, markLive, mine, promote, releaseStore, startWorld, tick } from "./world.js";

const CONFIG = path.join("test", "monitor", "cli-project", "hardhat.config.ts");

describe("bg:monitor from the command line, behind a faulty JSON-RPC proxy", function () {
  let w: MonitorWorld;
  let faulty: FaultProxy;
  let env: Record<string, string>;
  let promoted: number;
  const hardhat = (...args: string[]) => runHardhat(["--config", CONFIG, "--network", "localMainnet", ...args], env);

  before(async function () {
    w = await startWorld(1);
    faulty = await startFaultProxy(w.node.url);
    const scratch = await mkdtemp(path.join(tmpdir(), "bg-monitor-cli-faults-"));
    const store = new ReleaseStore(path.join(scratch, "records"));
    env = {
      BLUEGREEN_RPC_URL: faulty.url,
      BG_TEST_CACHE: path.join(scratch, "cache"),
      BG_TEST_ARTIFACTS: path.join(scratch, "artifacts"),
      BG_TEST_RECORDS: store.root,
    };
    const green = await deployGreen(w, "MonitorMeterV2");
    await releaseStore(w, green, "MonitorMeterV2", { id: "steady", store });
    await tick(w, 2);
    [promoted] = (await promote(w, green)) as [number];
    await markLive(store, w, "steady");
    await tick(w, 3);
    await mine(w, 2);
  });
  afterEach(() => faulty.heal());
  after(async () => {
    await faulty?.close();
    await w?.stop();
  });

  it("retries a dropped first request (eth_chainId) instead of dying on it", async function () {
    faulty.setFaults([{ fault: "drop", times: 1, match: (r) => r.method === "eth_chainId" }]);
    const before = faulty.counts.dropped;
    const run = await hardhat("bg:monitor", "--release", "steady", "--once", "--json");
    expect(faulty.counts.dropped - before, "the first eth_chainId was dropped").to.equal(1);
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    const doc = onlyJson(run);
    expect(doc).to.deep.include({ ok: true, verdict: "healthy", stopped: "once" });
    expect(doc.blocks.analysed).to.equal(doc.blocks.due);
    const retries = run.stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)).filter((l) => l.event === "rpc-retry");
    expect(retries.map((l) => [l.method, l.attempt])).to.deep.equal([["eth_chainId", 1]]);
  });

  it("names the node and what to check when start-up exhausts its retries, with a code, not as an unexpected error", async function () {
    faulty.setFaults([{ fault: 503, match: (r) => r.method === "eth_chainId" }]);
    const before = faulty.counts.http503;
    const run = await hardhat("bg:monitor", "--release", "steady", "--once", "--json");
    // The CLI project's monitor config: 3 attempts.
    expect(faulty.counts.http503 - before).to.equal(3);
    expect(run.code).to.equal(1);
    const doc = onlyJson(run);
    expect(doc).to.not.have.property("unexpected");
    expect(doc.code).to.equal("BG_MONITOR_NODE_UNREACHABLE");
    expect(doc.error).to.equal(
      `[BG_MONITOR_NODE_UNREACHABLE] The node of network "localMainnet" at ${faulty.url} did not answer eth_chainId after 3 attempt(s) ` +
        `(last error: HTTP 503: Received an unexpected status code from ${faulty.url}). ` +
        "Check that the node is running and reachable from here, and that networks.localMainnet.url in hardhat.config.ts is right; " +
        "blueGreen.monitor.rpc sets the attempts, timeout and backoff.",
    );
  });

  it("--once that cannot analyse every block due before --duration ends: inconclusive, exit code 2, and the counts", async function () {
    const caughtUp = await hardhat("bg:monitor", "--release", "steady", "--once", "--json");
    expect(caughtUp.code, caughtUp.stdout + caughtUp.stderr).to.equal(0);
    const analysed = onlyJson(caughtUp).blocks.analysed as number;
    expect(analysed).to.equal((await w.provider.getBlockNumber()) - 1 - promoted);

    // Three more blocks, and the node goes silent on exactly what the analysis needs: the blocks.
    await mine(w, 3);
    faulty.setFaults([{ fault: "silence", match: (r) => r.method === "eth_getBlockByNumber" && r.params[1] === true }]);
    const run = await hardhat("bg:monitor", "--release", "steady", "--once", "--duration", "1", "--json");
    expect(faulty.counts.silenced).to.be.greaterThan(0);
    expect(run.code, run.stdout + run.stderr).to.equal(2);
    const doc = onlyJson(run);
    expect(doc).to.deep.include({ ok: false, verdict: "inconclusive", stopped: "duration", blocks: { analysed, due: analysed + 3 } });

    const people = await hardhat("bg:monitor", "--release", "steady", "--once", "--duration", "1");
    expect(people.code).to.equal(2);
    expect(people.stdout).to.include("inconclusive: too few blocks analysed to judge");
    expect(people.stdout).to.include(`blocks analysed: ${analysed} of ${analysed + 3} due since the promotion (3 not analysed)`);
  });
});
