import { expect } from "chai";
import { id as keccakText } from "ethers";
import { createHardhatRuntimeEnvironment } from "hardhat/hre";

import blueGreen from "../../src/index.js";
import { canarySalt } from "../../src/waves/canary-config.js";

async function configError(canary: unknown): Promise<string> {
  try {
    await createHardhatRuntimeEnvironment({ plugins: [blueGreen], blueGreen: { canary } as never });
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected the config to be refused");
}

describe("blueGreen.canary", () => {
  it("resolves the steps, adds green as the last step, hashes a text salt and cohorts by tx.origin by default", async () => {
    const hre = await createHardhatRuntimeEnvironment({
      plugins: [blueGreen],
      blueGreen: { canary: { steps: [{ name: "1%", bps: 100 }, { name: "5%", bps: 500 }, { name: "25%", bps: 2500 }], salt: "vault" } },
    });
    const canary = hre.config.blueGreen.canary!;
    expect(canary.steps).to.deep.equal([
      { name: "1%", bps: 100 },
      { name: "5%", bps: 500 },
      { name: "25%", bps: 2500 },
      { name: "green", bps: 10_000 },
    ]);
    expect(canary.salt).to.equal(keccakText("vault"));
    expect(canary.cohortByOrigin).to.equal(true);
  });

  it("keeps a configured last step of every caller, a hex salt as it is, and msg.sender when asked", async () => {
    const salt = "0x" + "ab".repeat(32);
    const hre = await createHardhatRuntimeEnvironment({
      plugins: [blueGreen],
      blueGreen: { canary: { steps: [{ name: "half", bps: 5000 }, { name: "all", bps: 10_000 }], salt, cohort: "sender" } },
    });
    const canary = hre.config.blueGreen.canary!;
    expect(canary.steps.map((s) => s.name)).to.deep.equal(["half", "all"]);
    expect(canary.salt).to.equal(salt);
    expect(canary.cohortByOrigin).to.equal(false);
  });

  it("derives a salt per release when none is configured", async () => {
    const hre = await createHardhatRuntimeEnvironment({ plugins: [blueGreen], blueGreen: { canary: { steps: [{ name: "1%", bps: 100 }] } } });
    const canary = hre.config.blueGreen.canary!;
    expect(canary.salt).to.equal(undefined);
    expect(canarySalt(canary, "a")).to.not.equal(canarySalt(canary, "b"));
    expect(canarySalt(canary, "a")).to.equal(canarySalt(canary, "a"));
  });

  it("refuses steps that do not grow, a share above every caller before the end, duplicates and bad names", async () => {
    expect(await configError({ steps: [{ name: "5%", bps: 500 }, { name: "1%", bps: 100 }] })).to.include("blueGreen.canary.steps").and.to.include("must grow");
    expect(await configError({ steps: [{ name: "all", bps: 10_000 }, { name: "more", bps: 10_000 }] })).to.include("must be the last step");
    expect(await configError({ steps: [{ name: "a", bps: 100 }, { name: "a", bps: 200 }] })).to.include("unique");
    expect(await configError({ steps: [{ name: "a b", bps: 100 }] })).to.include("blueGreen.canary.steps.0.name");
    expect(await configError({ steps: [{ name: "x", bps: 0 }] })).to.include("blueGreen.canary.steps.0.bps");
    expect(await configError({ steps: [{ name: "x", bps: 100 }], cohort: "caller" })).to.include("blueGreen.canary.cohort");
    expect(await configError({ steps: [{ name: "green", bps: 100 }] })).to.include('"green" names the added last step');
  });
});
