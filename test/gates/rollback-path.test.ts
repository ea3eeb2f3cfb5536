/**
 * The rollbackPath gate in evaluateGates: pass / fail (with the cause and its
 * code) / inconclusive (no fork, no switch, proxy not adopted), against real
 * OpenZeppelin proxies adopted by a real BlueGreenSwitch. An in-process
 * Hardhat network stands in for the fork (the proof reverts what it did).
 */
import { expect } from "chai";
import { type Contract, ZeroHash, keccak256 } from "ethers";

import { resolveGatesConfig } from "../../src/gates/config.js";
import { allRequiredPass, evaluateGates, type GateEnvironment } from "../../src/gates/evaluate-gates.js";
import { gatesUserConfigSchema } from "../../src/gates/user-config.js";
import type { ReleaseRecord } from "../../src/release/record.js";
import { IMPLEMENTATION_SLOT, type World, addr, at, deploy, isolateEach, send, slotAddress, switchWorld } from "../switch/fixture.js";
import { stagedRecord } from "../helpers/record-fixture.js";

describe("rollbackPath gate", function () {
  let w: World;
  before(async () => {
    w = await switchWorld();
  });
  isolateEach(() => w);

  const config = (user: { required?: boolean } = {}) => resolveGatesConfig({ rollbackPath: user }, "/tmp/project");
  const env = (over: Partial<GateEnvironment> = {}): GateEnvironment => ({
    projectRoot: "/tmp/project",
    releaseDir: "/tmp/project/.bluegreen/31337/r",
    connection: undefined,
    openNetwork: async () => {
      throw new Error("no testnet in this test");
    },
    findSwitch: async () => ({ address: w.sw.target as string, source: "test" }),
    // The world's own network is the "fork": the proof snapshots and reverts it.
    openFork: async () => ({ provider: w.connection.provider, close: async () => {} }),
    ...over,
  });
  const record = async (proxy: string, blue: string, green: string): Promise<ReleaseRecord> => {
    const r = stagedRecord("r", 31337);
    return {
      ...r,
      proxy: proxy.toLowerCase(),
      blue: { address: blue.toLowerCase(), codehash: keccak256(await w.ethers.provider.getCode(blue)) },
      green: { ...r.green, address: green.toLowerCase(), codehash: keccak256(await w.ethers.provider.getCode(green)) },
    };
  };
  const gate = async (r: ReleaseRecord, cfg = config(), e = env()) => {
    const results = await evaluateGates(r, cfg, e);
    return { gate: results.find((g) => g.name === "rollbackPath")!, results };
  };

  async function ownableUups(): Promise<{ proxy: string; blue: string }> {
    const blue = await addr(await deploy(w.ethers, "UupsOwnableBoxV1"));
    const init = (await w.ethers.getContractFactory("UupsOwnableBoxV1")).interface.encodeFunctionData("initialize", [await w.owner.getAddress()]);
    const proxy = await addr(await deploy(w.ethers, "UupsBoxProxy", [blue, init], w.owner));
    await send((await at(w.ethers, "UupsOwnableBoxV1", proxy, w.owner)).transferOwnership(w.sw.target));
    await send((w.sw.connect(w.approver) as Contract).adoptUups(proxy, blue, 0, ZeroHash));
    return { proxy, blue };
  }

  it("is configured as gates.rollbackPath, required by default, and listed after rollbackSafety", async () => {
    expect(gatesUserConfigSchema.safeParse({ rollbackPath: { required: false } }).success).to.equal(true);
    expect(gatesUserConfigSchema.safeParse({ rollbackPath: { required: "yes" } }).success).to.equal(false);
    expect(config().rollbackPath).to.deep.equal({ required: true });
    expect(config({ required: false }).rollbackPath).to.deep.equal({ required: false });
    expect(resolveGatesConfig({}, "/tmp/project").rollbackPath).to.equal(undefined);
    const names = (await evaluateGates(await record(w.proxy, w.blue, w.green), resolveGatesConfig({}, "/tmp/project"), env())).map((g) => [g.name, g.status]);
    expect(names.slice(5, 7)).to.deep.equal([
      ["rollbackSafety", "not-configured"],
      ["rollbackPath", "not-configured"],
    ]);
  });

  it("passes a transparent proxy by running the proof through its ProxyAdmin", async () => {
    const { gate: g, results } = await gate(await record(w.proxy, w.blue, w.green));
    expect(g).to.deep.include({ status: "pass", ok: true, required: true });
    expect(g.evidence).to.deep.include({ kind: "transparent-v5", steps: ["switch-in", "rollback", "re-promote"] });
    expect(g.detail).to.match(/switched green in, then rolled back to blue and switched green in again \(transparent-v5\)$/);
    expect(allRequiredPass(results)).to.equal(true);
    expect(await slotAddress(w.ethers, w.proxy, IMPLEMENTATION_SLOT)).to.equal(w.blue);
  });

  it("passes a UUPS Ownable green that keeps the switch's authority", async () => {
    const { proxy, blue } = await ownableUups();
    const green = await addr(await deploy(w.ethers, "UupsOwnableBoxV2"));
    const { gate: g } = await gate(await record(proxy, blue, green));
    expect(g.status).to.equal("pass", g.detail);
    expect(g.evidence).to.deep.include({ kind: "uups" });
  });

  it("fails the lockout green, naming the cause, and blocks the release", async () => {
    const { proxy, blue } = await ownableUups();
    const green = await addr(await deploy(w.ethers, "UupsLockoutBoxV2", [await w.stranger.getAddress()]));
    const { gate: g, results } = await gate(await record(proxy, blue, green));
    expect(g).to.deep.include({ status: "fail", ok: false, required: true, code: "BG_ROLLBACK_PATH_BLOCKED" });
    expect(g.detail).to.match(
      /^\[BG_ROLLBACK_PATH_BLOCKED\] rollback: green's _authorizeUpgrade refuses the switch \(.+\): the proxy could never be rolled back or upgraded again$/,
    );
    expect(g.evidence).to.deep.include({ step: "rollback", check: "BG_ROLLBACK_PATH_BLOCKED" });
    expect(g.fix).to.include("_authorizeUpgrade");
    expect(allRequiredPass(results)).to.equal(false);
  });

  it("is advisory when configured so: the failure shows but does not block", async () => {
    const { proxy, blue } = await ownableUups();
    const green = await addr(await deploy(w.ethers, "UupsLockoutBoxV2", [await w.stranger.getAddress()]));
    const { gate: g, results } = await gate(await record(proxy, blue, green), config({ required: false }));
    expect(g).to.deep.include({ status: "fail", required: false });
    expect(allRequiredPass(results)).to.equal(true);
  });

  it("is inconclusive, and blocks, when no fork can be opened: it says why", async () => {
    const r = await record(w.proxy, w.blue, w.green);
    const none = env({ noForkReason: "network localhost is not reachable over HTTP" });
    delete none.openFork;
    const { gate: g, results } = await gate(r, config(), none);
    expect(g).to.deep.include({ status: "inconclusive", required: true, code: "BG_ROLLBACK_PATH_NO_FORK" });
    expect(g.detail).to.equal("[BG_ROLLBACK_PATH_NO_FORK] no fork of the release's chain could be opened: network localhost is not reachable over HTTP");
    expect(allRequiredPass(results)).to.equal(false);

    const failing = await gate(r, config(), env({ openFork: async () => Promise.reject(new Error("ECONNREFUSED")) }));
    expect(failing.gate.status).to.equal("inconclusive");
    expect(failing.gate.detail).to.include("could not fork the release's chain: ECONNREFUSED");
  });

  it("is inconclusive when there is no switch, or the switch has not adopted the proxy", async () => {
    const noSwitch = await gate(await record(w.proxy, w.blue, w.green), config(), env({ findSwitch: async () => undefined }));
    expect(noSwitch.gate).to.deep.include({ status: "inconclusive", code: "BG_ROLLBACK_PATH_NOT_ADOPTED" });

    const blue = await addr(await deploy(w.ethers, "UupsOwnableBoxV1"));
    const init = (await w.ethers.getContractFactory("UupsOwnableBoxV1")).interface.encodeFunctionData("initialize", [await w.owner.getAddress()]);
    const stray = await addr(await deploy(w.ethers, "UupsBoxProxy", [blue, init], w.owner));
    const green = await addr(await deploy(w.ethers, "UupsOwnableBoxV2"));
    const notAdopted = await gate(await record(stray, blue, green));
    expect(notAdopted.gate).to.deep.include({ status: "inconclusive", code: "BG_ROLLBACK_PATH_NOT_ADOPTED" });
    expect(notAdopted.gate.detail).to.include("has not adopted");
  });
});
