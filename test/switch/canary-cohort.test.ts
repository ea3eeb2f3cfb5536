/**
 * The TypeScript cohort formula against the CanaryRouter on a separate
 * Hardhat node: for many generated callers, cohortOf() names exactly the
 * implementation the router ran (blue answers version() "1", green "2").
 * The router's routing is also read back from its code alone.
 */
import { expect } from "chai";
import { ContractFactory, Interface, JsonRpcProvider, Wallet, getAddress, hexlify, keccak256, randomBytes, toUtf8Bytes } from "ethers";

import { BPS_SCALE, cohortOf, cohortOfCall, cohortSlot } from "../../src/switch/canary-cohort.js";
import { canaryRouterCode, canaryRoutingOfCode, readCanaryRouting } from "../../src/switch/canary-router-code.js";
import { readArtifact } from "../helpers/box.js";
import { type RunningNode, startNode } from "../helpers/nodes.js";

const METERS = "contracts/test/monitor/MonitorMeters.sol";
const meter = new Interface(["function version() view returns (string)"]);

describe("canary cohorts: cohortOf() against the CanaryRouter on chain", function () {
  this.timeout(120_000);
  let node: RunningNode;
  let provider: JsonRpcProvider;
  let blue: string;
  let green: string;
  const salt = keccak256(toUtf8Bytes("vault-v2 canary"));

  async function deploy(source: string, name: string, args: unknown[] = []): Promise<string> {
    const artifact = await readArtifact(source, name);
    const contract = await new ContractFactory(artifact.abi, artifact.bytecode, await provider.getSigner(0)).deploy(...args);
    await contract.waitForDeployment();
    return getAddress(await contract.getAddress());
  }
  const deployRouter = (bps: number, byOrigin: boolean) => deploy("contracts/canary/CanaryRouter.sol", "CanaryRouter", [blue, green, bps, salt, byOrigin]);

  /** Which implementation the router ran for `caller`. */
  async function ran(router: string, caller: string): Promise<"blue" | "green"> {
    const out = await provider.send("eth_call", [{ from: caller, to: router, data: meter.encodeFunctionData("version") }, "latest"]);
    const [version] = meter.decodeFunctionResult("version", out);
    if (version === "1") return "blue";
    if (version === "2") return "green";
    throw new Error(`unexpected version ${version}`);
  }

  before(async function () {
    node = await startNode("hardhat");
    provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    blue = await deploy(METERS, "MonitorMeterV1");
    green = await deploy(METERS, "MonitorMeterV2");
  });
  after(async () => {
    provider?.destroy();
    await node?.stop();
  });

  for (const byOrigin of [false, true]) {
    it(`puts each of 200 generated callers in the cohort whose implementation the router ran (cohort by ${byOrigin ? "tx.origin" : "msg.sender"}, 25%)`, async function () {
      const router = await deployRouter(2500, byOrigin);
      const routing = { blue, green, bps: 2500, salt, cohortByOrigin: byOrigin };
      let greens = 0;
      for (let i = 0; i < 200; i++) {
        const caller = Wallet.createRandom().address;
        const expected = cohortOfCall(routing, { origin: caller, sender: caller });
        expect(await ran(router, caller), `caller ${caller} (slot ${cohortSlot(salt, caller)})`).to.equal(expected);
        if (expected === "green") greens++;
      }
      // Both cohorts were exercised, so the comparison above covered both branches of the router.
      expect(greens).to.be.greaterThan(0).and.lessThan(200);
    });
  }

  it("routes nobody to green at 0 bps and everybody at 10,000 bps, as cohortOf() says", async function () {
    const none = await deployRouter(0, true);
    const all = await deployRouter(BPS_SCALE, true);
    for (let i = 0; i < 20; i++) {
      const caller = Wallet.createRandom().address;
      expect(cohortOf(salt, caller, 0)).to.equal("blue");
      expect(await ran(none, caller)).to.equal("blue");
      expect(cohortOf(salt, caller, BPS_SCALE)).to.equal("green");
      expect(await ran(all, caller)).to.equal("green");
    }
  });

  it("reads blue, green, the share, the salt and the cohort mode back from the router's code", async function () {
    const otherSalt = hexlify(randomBytes(32));
    const router = await deploy("contracts/canary/CanaryRouter.sol", "CanaryRouter", [blue, green, 137, otherSalt, false]);
    const request = ({ method, params }: { method: string; params?: unknown }) => provider.send(method, (params as unknown[]) ?? []);
    expect(await readCanaryRouting({ request }, router)).to.deep.equal({ blue, green, bps: 137, salt: otherSalt, cohortByOrigin: false });
    const byOrigin = await deployRouter(1, true);
    expect(await readCanaryRouting({ request }, byOrigin)).to.deep.equal({ blue, green, bps: 1, salt, cohortByOrigin: true });
  });

  it("writes a router's runtime code byte for byte as its constructor leaves it on chain", async function () {
    const otherSalt = hexlify(randomBytes(32));
    for (const [bps, byOrigin] of [[137, false], [BPS_SCALE, true]] as const) {
      const router = await deploy("contracts/canary/CanaryRouter.sol", "CanaryRouter", [blue, green, bps, otherSalt, byOrigin]);
      expect(await canaryRouterCode({ blue, green, bps, salt: otherSalt, cohortByOrigin: byOrigin })).to.equal(await provider.getCode(router));
    }
  });

  it("does not take other code for a router", async function () {
    expect(await canaryRoutingOfCode(await provider.getCode(blue))).to.equal(undefined);
    const request = ({ method, params }: { method: string; params?: unknown }) => provider.send(method, (params as unknown[]) ?? []);
    expect(await readCanaryRouting({ request }, Wallet.createRandom().address)).to.equal(undefined);
  });

  it("refuses a salt that is not 32 bytes and a share outside 0..10000", function () {
    expect(() => cohortOf("0x1234", blue, 100)).to.throw(/32 bytes/);
    expect(() => cohortOf(salt, blue, 10_001)).to.throw(/basis points/);
  });
});
