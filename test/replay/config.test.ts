import path from "node:path";

import { expect } from "chai";

import { replayUserConfigSchema, resolveReplayConfig } from "../../src/replay/config.js";

function issues(input: unknown): string[] {
  const parsed = replayUserConfigSchema.safeParse(input);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}

describe("blueGreen.replay config", function () {
  it("accepts a full config", () => {
    expect(
      issues({
        mode: "fast",
        gasTolerance: 1.5,
        expected: [
          { kind: "events", event: "FeeCharged(address,uint256)", reason: "new event" },
          { kind: "gas", selector: "0xa9059cbb", maxIncreasePercent: 5, reason: "more bookkeeping" },
          { kind: "storage", slot: "0x" + "00".repeat(31) + "07", reason: "new variable" },
        ],
        workers: 2,
        tracing: "off",
        hardfork: "prague",
        cacheDir: ".cache/replay",
        rpc: { timeoutMs: 5000, retries: 3 },
      }),
    ).to.deep.equal([]);
  });

  it("says where and what is wrong", () => {
    expect(issues({ mode: "quick" })[0]).to.match(/^mode: /);
    expect(issues({ gasTolerance: -1 })).to.deep.equal(["gasTolerance: must be 0 or more"]);
    expect(issues({ expected: [{ kind: "gas", reason: "" }] })).to.deep.equal(["expected.0.reason: must say why the difference is intended"]);
    expect(issues({ expected: [{ kind: "weather", reason: "x" }] })[0]).to.equal("expected.0.kind: must be one of proxy-slots, status, revert, return, events, gas, storage");
    expect(issues({ expected: [{ kind: "gas", event: "E()", reason: "x" }] })).to.deep.equal(['expected.0.event: only applies to kind "events"']);
    expect(issues({ expected: [{ kind: "gas", selector: "transfer", reason: "x" }] })[0]).to.match(/^expected\.0\.selector: must be a 4-byte selector/);
    expect(issues({ workers: 0 })).to.deep.equal(["workers: must be at least 1"]);
    expect(issues({ colour: "blue" })[0]).to.match(/Unrecognized key/);
  });

  it("fills in defaults", () => {
    const resolved = resolveReplayConfig(undefined, { projectRoot: "/p", cachePath: "/p/cache" });
    expect(resolved).to.deep.include({ mode: "faithful", gasTolerance: 0, expected: [], tracing: "auto", cacheDir: path.join("/p/cache", "bluegreen-replay") });
    expect(resolved.rpc).to.deep.equal({ timeoutMs: 30_000, retries: 5 });
    expect(resolved.workers).to.be.within(2, 4);
    expect(resolveReplayConfig({ cacheDir: "c" }, { projectRoot: "/p", cachePath: "/p/cache" }).cacheDir).to.equal(path.resolve("/p", "c"));
  });
});
