import path from "node:path";

import { expect } from "chai";
import { createHardhatRuntimeEnvironment } from "hardhat/hre";

import blueGreen from "../src/index.js";

async function configError(blueGreenConfig: unknown): Promise<string> {
  try {
    await createHardhatRuntimeEnvironment({ plugins: [blueGreen], blueGreen: blueGreenConfig as never });
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected the config to be refused");
}

describe("the blueGreen config", () => {
  it("resolves defaults: records in .bluegreen under the project root, nothing unsafe allowed", async () => {
    const hre = await createHardhatRuntimeEnvironment({ plugins: [blueGreen] });
    expect(hre.config.blueGreen.recordsDir).to.equal(path.join(hre.config.paths.root, ".bluegreen"));
    expect(hre.config.blueGreen.stage).to.deep.equal({ unsafeAllow: [], unsafeAllowRenames: false });
  });

  it("asks solc for storage layouts, which OpenZeppelin's validation needs", async () => {
    const hre = await createHardhatRuntimeEnvironment({ plugins: [blueGreen], solidity: "0.8.30" });
    const compiler = hre.config.solidity.profiles.default!.compilers[0]!;
    expect(compiler.settings.outputSelection["*"]["*"]).to.include("storageLayout");
  });

  it("names the field of a wrong option when the config loads", async () => {
    const message = await configError({ recordsDir: 5 });
    expect(message).to.include("blueGreen.recordsDir");
  });

  it("refuses an unknown unsafeAllow kind", async () => {
    const message = await configError({ stage: { unsafeAllow: ["everything"] } });
    expect(message).to.include("blueGreen.stage.unsafeAllow.0");
  });

  it("refuses an unknown key at the top of blueGreen, naming the closest known one", async () => {
    const message = await configError({ gate: { coverage: {} } });
    expect(message).to.include('blueGreen.gate: [BG_CONFIG_UNKNOWN_KEY] unknown key "gate" in blueGreen; did you mean "gates"?');
  });

  it("refuses unknown keys inside every section, with the path and a suggestion", async () => {
    expect(await configError({ replay: { gasTolerence: 1 } })).to.include('blueGreen.replay.gasTolerence: [BG_CONFIG_UNKNOWN_KEY] unknown key "gasTolerence" in blueGreen.replay; did you mean "gasTolerance"?');
    expect(await configError({ switch: { rollbackDelays: 3600 } })).to.include('did you mean "rollbackDelay"?');
    expect(await configError({ monitor: { confirmation: 2 } })).to.include('blueGreen.monitor.confirmation').and.include('did you mean "confirmations"?');
    expect(await configError({ stage: { unsafeAlow: [] } })).to.include('did you mean "unsafeAllow"?');
    expect(await configError({ gates: { coverage: { mni: 80 } } })).to.include("blueGreen.gates.coverage.mni").and.include('did you mean "min"?');
  });

  it("suggests nothing for a key that resembles no known one, but still lists the known keys", async () => {
    const message = await configError({ zzzzzzzz: true });
    expect(message).to.include('unknown key "zzzzzzzz" in blueGreen').and.include("Known keys: recordsDir, stage, replay");
    expect(message).to.not.include("did you mean");
  });
});
