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
});
