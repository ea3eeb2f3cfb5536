import path from "node:path";

import { expect } from "chai";
import { validateUserConfigZodType } from "@nomicfoundation/hardhat-zod-utils";
import { createHardhatRuntimeEnvironment } from "hardhat/hre";
import { z } from "zod";

import { resolveGatesConfig } from "../../src/gates/config.js";
import { gatesUserConfigSchema, validateGatesNetworks, type GatesUserConfig } from "../../src/gates/user-config.js";

const A1 = "0x1111111111111111111111111111111111111111";
const A2 = "0x2222222222222222222222222222222222222222";
const A3 = "0x3333333333333333333333333333333333333333";

/** The errors Hardhat would print for `blueGreen.gates`, as `path: message`. */
function configErrors(gates: unknown): string[] {
  return validateUserConfigZodType(
    { blueGreen: { gates } },
    z.object({ blueGreen: z.object({ gates: gatesUserConfigSchema.optional() }).passthrough().optional() }),
  ).map((e) => `${e.path.join(".")}: ${e.message}`);
}

const full: GatesUserConfig = {
  audits: { min: 2, auditors: [A1, A2, A3], dir: "audits", required: true },
  testnet: { network: "sepolia", minDays: 14, minTxs: 0, required: true },
  replay: { max: 0, minTxs: 1, minFidelity: 1.0, required: true },
  coverage: { lcov: "coverage/lcov.info", min: 80, required: true },
  rollbackSafety: { required: false },
  custom: [{ name: "oracle-fresh", check: async () => ({ ok: true, detail: "fresh" }) }],
};

describe("gates config: blueGreen.gates", () => {
  it("accepts the config of the issue as written", () => {
    expect(configErrors(full)).to.deep.equal([]);
    expect(configErrors({})).to.deep.equal([]);
    expect(configErrors(undefined)).to.deep.equal([]);
  });

  it("names an unknown gate and lists the real ones", () => {
    expect(configErrors({ audit: { auditors: [A1] } })).to.deep.equal([
      'blueGreen.gates.audit: [BG_CONFIG_UNKNOWN_KEY] unknown gate "audit"; did you mean "audits"?; the gates are: audits, testnet, replay, coverage, upgradeSafety, rollbackSafety, rollbackPath, source, observability, secrets, custom, waive. Put your own checks under custom: [{ name, check }]',
    ]);
  });

  it("names an unknown option of a gate", () => {
    expect(configErrors({ testnet: { network: "sepolia", minDay: 14 } })).to.deep.equal([
      'blueGreen.gates.testnet.minDay: [BG_CONFIG_UNKNOWN_KEY] unknown option "minDay" for the testnet gate; did you mean "minDays"?; its options are: network, minDays, minTxs, switch, proxy, fromBlock, maxScanBlocks, required',
    ]);
  });

  it("refuses negative minimums, saying what they measure", () => {
    const errors = configErrors({
      audits: { min: -1, auditors: [A1] },
      testnet: { network: "sepolia", minDays: -14 },
      replay: { max: -1, minTxs: -1 },
      coverage: { min: -5 },
    });
    expect(errors).to.include("blueGreen.gates.audits.min: must not be negative (distinct auditors needed); use 0 for no minimum");
    expect(errors).to.include("blueGreen.gates.testnet.minDays: must not be negative (days on the testnet); use 0 for no minimum");
    expect(errors).to.include("blueGreen.gates.replay.max: must not be negative (unexpected divergences allowed); use 0 for no minimum");
    expect(errors).to.include("blueGreen.gates.replay.minTxs: must not be negative (transactions replayed); use 0 for no minimum");
    expect(errors).to.include("blueGreen.gates.coverage.min: must not be negative (line coverage percent); use 0 for no minimum");
  });

  it("refuses out-of-range shares and percentages", () => {
    expect(configErrors({ replay: { minFidelity: 1.5 } })).to.deep.equal([
      "blueGreen.gates.replay.minFidelity: must be at most 1 (share of blue replays matching real receipts, 0..1)",
    ]);
    expect(configErrors({ coverage: { min: 180 } })).to.deep.equal(["blueGreen.gates.coverage.min: must be at most 100 (line coverage percent)"]);
    expect(configErrors({ audits: { min: 1.5, auditors: [A1, A2] } })).to.deep.equal([
      "blueGreen.gates.audits.min: must be a whole number (distinct auditors needed)",
    ]);
  });

  it("names an auditor that is not an address, by its position", () => {
    expect(configErrors({ audits: { auditors: [A1, "0x1234", A2] } })).to.deep.equal([
      'blueGreen.gates.audits.auditors.1: "0x1234" is not an address: give each auditor as a 0x-prefixed 20-byte hex address',
    ]);
    expect(configErrors({ audits: { auditors: [A1, "alice.eth"] , min: 1} })[0]).to.include('"alice.eth" is not an address');
  });

  it("refuses an audits gate that could never pass, and duplicate auditors", () => {
    expect(configErrors({ audits: { min: 3, auditors: [A1, A2] } })).to.deep.equal([
      "blueGreen.gates.audits.min: is 3 but only 2 distinct auditor(s) are listed, so the gate could never pass; list more auditors or lower min",
    ]);
    expect(configErrors({ audits: { min: 1, auditors: [A1, A1.toUpperCase().replace("0X", "0x")] } })).to.deep.equal([
      `blueGreen.gates.audits.auditors.1: lists ${A1.toUpperCase().replace("0X", "0x")} twice; each auditor counts once`,
    ]);
    expect(configErrors({ audits: { min: 1 } })).to.deep.equal([
      "blueGreen.gates.audits.auditors: is missing: list the auditors' addresses whose attestations count",
    ]);
  });

  it("checks custom gates: a function, a fresh name, a unique name", () => {
    expect(configErrors({ custom: [{ name: "x", check: "yes" }] })).to.deep.equal([
      "blueGreen.gates.custom.0.check: must be a function (release, connection) => ({ ok, detail })",
    ]);
    expect(configErrors({ custom: [{ name: "audits", check: () => ({ ok: true, detail: "" }) }] })).to.deep.equal([
      'blueGreen.gates.custom.0.name: "audits" is a built-in gate\'s name; give the custom gate another name',
    ]);
    const check = () => ({ ok: true, detail: "" });
    expect(configErrors({ custom: [{ name: "a", check }, { name: "a", check }] })).to.deep.equal([
      'blueGreen.gates.custom.1.name: "a" is used by two custom gates; names must be unique',
    ]);
    expect(configErrors({ custom: [{ name: "9lives", check }] })[0]).to.match(/^blueGreen\.gates\.custom\.0\.name: must start with a letter/);
  });

  it("resolves defaults and absolute paths; leaves unconfigured gates out", () => {
    const root = path.resolve("/project");
    const resolved = resolveGatesConfig(
      { audits: { auditors: [A1, A2, A1] }, testnet: { network: "sepolia" }, replay: {}, coverage: {}, upgradeSafety: {}, rollbackSafety: {} },
      root,
    );
    expect(resolved.audits).to.deep.equal({ min: 2, auditors: [A1, A2], dir: path.join(root, "audits"), required: true });
    expect(resolved.testnet).to.deep.equal({ network: "sepolia", minDays: 14, minTxs: 0, fromBlock: 0, maxScanBlocks: 5000, required: true });
    expect(resolved.replay).to.deep.equal({ max: 0, minTxs: 1, minFidelity: 1, required: true });
    expect(resolved.coverage).to.deep.equal({ lcov: path.join(root, "coverage/lcov.info"), min: 80, required: true });
    expect(resolved.upgradeSafety).to.deep.equal({ required: true });
    expect(resolved.rollbackSafety).to.deep.equal({ required: false }, "rollback safety is advisory by default");
    expect(resolved.custom).to.deep.equal([]);

    const bare = resolveGatesConfig(undefined, root);
    expect(bare).to.deep.equal({ custom: [], auditsDir: path.join(root, "audits") });
  });

  it("checks that the testnet gate names a network of the config", () => {
    expect(validateGatesNetworks({ testnet: { network: "sepolia" } }, ["sepolia", "localMainnet"])).to.deep.equal([]);
    expect(validateGatesNetworks({ testnet: { network: "sepolai" } }, ["sepolia"])).to.deep.equal([
      {
        path: ["blueGreen", "gates", "testnet", "network"],
        message: '"sepolai" is not a network of this config (networks: sepolia); add it under networks or fix the name',
      },
    ]);
  });

  it("reports the errors through Hardhat's own config validation", async () => {
    // A plugin whose validateUserConfig hook checks blueGreen.gates exactly as the plugin's hook does.
    const plugin = {
      id: "gates-config-under-test",
      hookHandlers: {
        config: async () => ({
          default: async () => ({
            validateUserConfig: async (userConfig: any) =>
              validateUserConfigZodType(
                { blueGreen: userConfig.blueGreen },
                z.object({ blueGreen: z.object({ gates: gatesUserConfigSchema.optional() }).passthrough().optional() }),
              ),
          }),
        }),
      },
    };
    let error: unknown;
    try {
      await createHardhatRuntimeEnvironment({
        plugins: [plugin as any],
        blueGreen: { gates: { coverage: { min: -1 }, nightly: {} } } as any,
      });
    } catch (e) {
      error = e;
    }
    expect(error, "the config must be refused").to.be.instanceOf(Error);
    const message = (error as Error).message;
    expect(message).to.include("Invalid config");
    expect(message).to.include("blueGreen.gates.coverage.min");
    expect(message).to.include("must not be negative (line coverage percent)");
    expect(message).to.include('unknown gate "nightly"');
  });
});
