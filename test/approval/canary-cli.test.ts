/**
 * The canary commands as a user runs them, against a separate Hardhat node
 * whose switch answers to a 2-of-3 Safe: bg:propose --step, bg:approve
 * --step by two owners, bg:switch --step, then bg:status with the proxy on
 * the step's router, and the last step to green.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { getAddress } from "ethers";

import { onlyJson, runHardhat } from "../helpers/cli.js";
import { type FleetRelease, type WaveWorld, fleetRelease, startWaveWorld } from "./wave-world.js";

const CONFIG = path.join("test", "monitor", "cli-project", "hardhat.config.ts");
const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";

describe("bg:propose / bg:approve / bg:switch --step on the command line", function () {
  let ww: WaveWorld;
  let release: FleetRelease;
  let scratch: string;
  let env: Record<string, string>;
  const hardhat = (...args: string[]) => runHardhat(["--config", CONFIG, "--network", "localMainnet", ...args], env);

  before(async () => {
    ww = await startWaveWorld(1);
    release = await fleetRelease(ww, ww.fleets[0]!, "canary-cli", { plan: false });
    scratch = await mkdtemp(path.join(tmpdir(), "bg-canary-cli-"));
    env = {
      BLUEGREEN_RPC_URL: ww.w.node.url,
      BG_TEST_CACHE: path.join(scratch, "cache"),
      BG_TEST_ARTIFACTS: path.join(scratch, "artifacts"),
      BG_TEST_RECORDS: release.store.root,
    };
  });
  after(async () => {
    await release?.cleanup();
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
    await ww?.stop();
  });

  it("runs the 1% step through the Safe onto its router, shows it in bg:status, and ends on green", async () => {
    const proxy = release.fleet[0]!;
    const owners = await Promise.all(ww.owners.map((o) => o.getAddress()));
    const slot = async () => getAddress("0x" + (await ww.w.provider.getStorage(proxy, IMPLEMENTATION_SLOT)).slice(-40));

    const proposed = await hardhat("bg:propose", "--release", "canary-cli", "--step", "1%", "--json");
    expect(proposed.code, proposed.stdout + proposed.stderr).to.equal(0);
    const doc = onlyJson(proposed);
    expect(doc).to.deep.include({ ok: true, safe: ww.safe, step: "1%", bps: 100 });
    expect(doc.builderFile).to.include(path.join("canary-1%", "safe-tx-builder.json"));
    // What signers read names the step, the share, the router and its pinned code hash.
    const summary = await readFile(path.join(path.dirname(doc.builderFile), "summary.md"), "utf8");
    expect(summary).to.include("canary step").and.include(doc.router).and.include(doc.routerCodehash).and.include("100 bps");

    for (const owner of owners.slice(0, 2)) {
      const signed = await hardhat("bg:approve", "--release", "canary-cli", "--step", "1%", "--signer", owner, "--json");
      expect(signed.code, signed.stdout + signed.stderr).to.equal(0);
    }
    const switched = await hardhat("bg:switch", "--release", "canary-cli", "--step", "1%", "--json");
    expect(switched.code, switched.stdout + switched.stderr).to.equal(0);
    expect(onlyJson(switched)).to.deep.include({ ok: true, step: "1%", bps: 100, implementation: doc.router });
    expect(await slot()).to.equal(doc.router);

    const status = await hardhat("bg:status", "--release", "canary-cli", "--json");
    expect(status.code, status.stdout + status.stderr).to.equal(0);
    const shown = onlyJson(status).releases[0];
    expect(shown.state).to.equal("live");
    expect(shown.drift).to.deep.equal([]);
    expect(shown.canary.steps).to.deep.equal([
      { name: "1%", bps: 100, state: "live", router: doc.router },
      { name: "25%", bps: 2500, state: "pending" },
      { name: "green", bps: 10_000, state: "pending" },
    ]);
    const forPeople = await hardhat("bg:status", "--release", "canary-cli");
    expect(forPeople.stdout).to.include("Canary of canary-cli").and.include(`live (router ${doc.router})`);

    // Skipping 25%: steps may jump forward; the last one is green for every caller.
    await hardhat("bg:propose", "--release", "canary-cli", "--step", "green", "--json");
    for (const owner of owners.slice(1, 3)) await hardhat("bg:approve", "--release", "canary-cli", "--step", "green", "--signer", owner, "--json");
    const last = await hardhat("bg:switch", "--release", "canary-cli", "--step", "green", "--json");
    expect(last.code, last.stdout + last.stderr).to.equal(0);
    expect(onlyJson(last)).to.deep.include({ ok: true, step: "green", bps: 10_000, implementation: release.green });
    expect(await slot()).to.equal(release.green);
  });
});
