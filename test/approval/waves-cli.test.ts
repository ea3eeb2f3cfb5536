/**
 * The wave commands as a user runs them, against a separate Hardhat node
 * whose switch answers to a 2-of-3 Safe: bg:waves plans the fleet, then
 * bg:propose --wave, bg:approve, bg:switch --wave for the canary; the next
 * wave is refused while the canary bakes and proposed with --override-bake;
 * bg:status shows the waves, for people and with --json.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { getAddress } from "ethers";

import { onlyJson, runHardhat } from "../helpers/cli.js";
import { type FleetRelease, type WaveWorld, fleetRelease, startWaveWorld } from "./wave-world.js";

const CONFIG = path.join("test", "monitor", "cli-project", "hardhat.config.ts");
const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";

describe("bg:propose / bg:approve / bg:switch --wave and bg:status on the command line", function () {
  let ww: WaveWorld;
  let release: FleetRelease;
  let scratch: string;
  let env: Record<string, string>;
  const hardhat = (...args: string[]) => runHardhat(["--config", CONFIG, "--network", "localMainnet", ...args], env);

  before(async () => {
    ww = await startWaveWorld(1);
    release = await fleetRelease(ww, ww.fleets[0]!, "fleet-cli", { plan: false });
    scratch = await mkdtemp(path.join(tmpdir(), "bg-waves-cli-"));
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

  it("rolls out the canary through the Safe, refuses the next wave while it bakes, and takes an explicit override", async () => {
    const [canary, ...rest] = release.fleet as [string, ...string[]];
    const owners = await Promise.all(ww.owners.map((o) => o.getAddress()));
    const planned = await hardhat("bg:waves", "--release", "fleet-cli", "--proxies", release.fleet.join(","), "--json");
    expect(planned.code, planned.stdout + planned.stderr).to.equal(0);

    // A misspelt wave is an unknown wave, said the same way by every command that takes --wave, with the plan's waves.
    for (const command of ["bg:waves", "bg:propose"]) {
      const unknown = await hardhat(command, "--release", "fleet-cli", "--wave", "canry", "--json");
      expect(unknown.code, command).to.not.equal(0);
      const unknownDoc = onlyJson(unknown);
      expect(unknownDoc.code, command).to.equal("BG_WAVES_UNKNOWN_WAVE");
      expect(unknownDoc.error, command).to.include('has no wave "canry" (did you mean "canary"?)').and.include("Its waves, in order: canary, all");
    }

    const proposed = await hardhat("bg:propose", "--release", "fleet-cli", "--wave", "canary", "--json");
    expect(proposed.code, proposed.stdout + proposed.stderr).to.equal(0);
    const doc = onlyJson(proposed);
    expect(doc).to.deep.include({ ok: true, safe: ww.safe, wave: "canary", proxies: [canary], override: null, state: "proposed" });
    expect(doc.builderFile).to.include(path.join("wave-canary", "safe-tx-builder.json"));

    // The first owner names the wave; the second relies on the one wave awaiting signatures, and reads what it signs.
    const signed = await hardhat("bg:approve", "--release", "fleet-cli", "--wave", "canary", "--signer", owners[0]!, "--json");
    expect(onlyJson(signed)).to.deep.equal({ ok: true, signatures: 1, threshold: 2, missing: 1 });
    const forSigner = await hardhat("bg:approve", "--release", "fleet-cli", "--signer", owners[1]!);
    expect(forSigner.code, forSigner.stdout + forSigner.stderr).to.equal(0);
    expect(forSigner.stdout).to.include("Promote wave canary (1 of 2) of release fleet-cli");
    expect(forSigner.stdout).to.include(canary).and.include(release.green).and.include(ww.safe).and.include(doc.safeTxHash).and.include("nonce");
    expect(forSigner.stdout.indexOf("Promote wave canary")).to.be.lessThan(forSigner.stdout.indexOf("2 of 2 signatures"));
    const switched = await hardhat("bg:switch", "--release", "fleet-cli", "--wave", "canary", "--json");
    expect(switched.code, switched.stdout + switched.stderr).to.equal(0);
    expect(onlyJson(switched)).to.deep.include({ ok: true, wave: "canary", proxies: [canary], implementation: release.green, state: "live" });
    const slot = async (p: string) => getAddress("0x" + (await ww.w.provider.getStorage(p, IMPLEMENTATION_SLOT)).slice(-40));
    expect(await slot(canary)).to.equal(release.green);
    for (const p of rest) expect(await slot(p)).to.equal(ww.w.blue);

    const refused = await hardhat("bg:propose", "--release", "fleet-cli", "--wave", "all", "--json");
    expect(refused.code).to.not.equal(0);
    expect(onlyJson(refused).error).to.match(/Wave "canary" is still baking until .*--override-bake/);

    const overridden = await hardhat("bg:propose", "--release", "fleet-cli", "--wave", "all", "--override-bake", "incident: ship the fix", "--json");
    expect(overridden.code, overridden.stdout + overridden.stderr).to.equal(0);
    const overrideDoc = onlyJson(overridden);
    expect(overrideDoc).to.deep.include({ ok: true, wave: "all", proxies: rest, state: "live" });
    expect(overrideDoc.override).to.deep.include({ reason: "incident: ship the fix" });

    const status = await hardhat("bg:status", "--release", "fleet-cli", "--json");
    expect(status.code, status.stdout + status.stderr).to.equal(0);
    const waves = onlyJson(status).releases[0].waves;
    expect(waves.waves.map((w: { name: string; live: number; state: string }) => [w.name, w.live, w.state])).to.deep.equal([
      ["canary", 1, "baking"],
      ["all", 0, "pending"],
    ]);
    expect(waves.waves[1].proposal).to.deep.include({ signatures: 0, override: { by: overrideDoc.override.by, reason: "incident: ship the fix" } });
    expect(waves.next).to.deep.include({ wave: "all", allowed: false });

    const forPeople = await hardhat("bg:status", "--release", "fleet-cli");
    expect(forPeople.code, forPeople.stderr).to.equal(0);
    expect(forPeople.stdout).to.include("Waves of fleet-cli").and.include("1/1 live").and.include("0/2 live").and.include("incident: ship the fix");
  });
});
