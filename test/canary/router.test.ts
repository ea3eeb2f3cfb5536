import { expect } from "chai";
import { type Contract, Interface, getAddress, hexlify, keccak256, randomBytes, toBeHex, zeroPadValue } from "ethers";
import { network } from "hardhat";

import { canaryRouterCodehash, identifyCanaryRouter } from "../../src/switch/canary-router.js";
import { cohortOf } from "../../src/switch/canary-cohort.js";
import { ADMIN_SLOT, IMPLEMENTATION_SLOT, V5_ADMIN, V5_PROXY, addr, at, deploy, send, slotAddress } from "../switch/fixture.js";

type Connection = Awaited<ReturnType<typeof network.create>>;

const SALT = keccak256("0xc0ffee");
const BLUE = 1n;
const GREEN = 2n;

/** Callers no one chose: addresses derived from their index, so every run sees the same ones. */
function generatedCallers(n: number): string[] {
  return Array.from({ length: n }, (_, i) => getAddress("0x" + keccak256(toBeHex(i + 1, 32)).slice(-40)));
}

describe("CanaryRouter behind a real TransparentUpgradeableProxy", function () {
  let connection: Connection;
  let ethers: Connection["ethers"];
  let side: Interface;
  let blue: string;
  let green: string;
  let owner: Awaited<ReturnType<Connection["ethers"]["getSigners"]>>[number];

  before(async () => {
    connection = await network.create();
    ethers = connection.ethers;
    [owner] = await ethers.getSigners();
    blue = await addr(await deploy(ethers, "CanarySide", [BLUE]));
    green = await addr(await deploy(ethers, "CanarySide", [GREEN]));
    side = (await ethers.getContractFactory("CanarySide")).interface;
  });

  /** A router for (bps, mode) and a fresh proxy pointing at it, owned through its ProxyAdmin by `owner`. */
  async function canary(bps: number, cohortByOrigin = true): Promise<{ router: string; proxy: string; proxyAdmin: string }> {
    const router = await addr(await deploy(ethers, "CanaryRouter", [blue, green, bps, SALT, cohortByOrigin]));
    // OpenZeppelin 5.x proxies refuse to start without a call; echo changes nothing.
    const proxy = await addr(await deploy(ethers, V5_PROXY, [router, await owner!.getAddress(), side.encodeFunctionData("echo", ["0x"])]));
    return { router, proxy, proxyAdmin: await slotAddress(ethers, proxy, ADMIN_SLOT) };
  }

  async function sideSeenBy(proxy: string, from: string): Promise<bigint> {
    const ret = await ethers.provider.call({ to: proxy, from, data: side.encodeFunctionData("echo", ["0x"]) });
    return side.decodeFunctionResult("echo", ret)[0] as bigint;
  }

  /** Raw revert data of a call (the router must hand it over byte for byte). */
  async function revertData(to: string, from: string, data: string): Promise<string> {
    try {
      await ethers.provider.call({ to, from, data });
    } catch (error) {
      return (error as { data: string }).data;
    }
    throw new Error("the call did not revert");
  }

  it("sends each caller to the side its cohort names, the same side every time", async function () {
    const { proxy } = await canary(2_500);
    const callers = generatedCallers(60);
    for (const caller of callers) {
      const expected = cohortOf(SALT, caller, 2_500) === "green" ? GREEN : BLUE;
      expect(await sideSeenBy(proxy, caller), caller).to.equal(expected);
      expect(await sideSeenBy(proxy, caller), `${caller} again`).to.equal(expected);
    }
    const sides = await Promise.all(callers.map((c) => sideSeenBy(proxy, c)));
    expect(sides).to.include(GREEN).and.to.include(BLUE);
  });

  it("routes a share of many generated callers close to bps", async function () {
    const bps = 500;
    const { proxy } = await canary(bps);
    const callers = generatedCallers(4_000);
    let onGreen = 0;
    for (const caller of callers) if ((await sideSeenBy(proxy, caller)) === GREEN) onGreen++;
    // Binomial(4000, 5%): sd ~ 13.8 callers; 5 sd either side.
    const expected = (callers.length * bps) / 10_000;
    expect(onGreen).to.be.within(expected - 69, expected + 69);
  });

  it("keeps every green caller of a smaller share on green at a larger one (same salt)", async function () {
    const small = (await canary(100)).proxy;
    const large = (await canary(2_500)).proxy;
    for (const caller of generatedCallers(400)) {
      if ((await sideSeenBy(small, caller)) === GREEN) expect(await sideSeenBy(large, caller), caller).to.equal(GREEN);
    }
  });

  it("passes return data and reverts through unchanged", async function () {
    const { proxy } = await canary(5_000);
    const payload = hexlify(randomBytes(1_000));
    for (const caller of generatedCallers(6)) {
      const target = cohortOf(SALT, caller, 5_000) === "green" ? green : blue;
      const echo = side.encodeFunctionData("echo", [payload]);
      expect(await ethers.provider.call({ to: proxy, from: caller, data: echo })).to.equal(
        await ethers.provider.call({ to: target, from: caller, data: echo }),
      );
      const refuse = side.encodeFunctionData("refuse", ["not today"]);
      const viaProxy = await revertData(proxy, caller, refuse);
      expect(viaProxy).to.equal(await revertData(target, caller, refuse));
      expect(side.parseError(viaProxy)!.args[0]).to.equal(target === green ? GREEN : BLUE);
    }
  });

  it("lets the implementation see the proxy's own caller and value", async function () {
    const { proxy } = await canary(5_000);
    const [, , , , , payer] = await ethers.getSigners();
    const ret = await ethers.provider.call({ to: proxy, from: await payer!.getAddress(), value: 7n, data: side.encodeFunctionData("context") });
    const [sender, origin, value, ranOn] = side.decodeFunctionResult("context", ret);
    expect(sender).to.equal(await payer!.getAddress());
    expect(origin).to.equal(await payer!.getAddress());
    expect(value).to.equal(7n);
    expect(ranOn).to.equal(cohortOf(SALT, await payer!.getAddress(), 5_000) === "green" ? GREEN : BLUE);
  });

  it("routes plain ether transfers (receive) by cohort too", async function () {
    const { proxy } = await canary(5_000);
    const signers = await ethers.getSigners();
    for (const s of signers.slice(1, 9)) {
      await send(s.sendTransaction({ to: proxy, value: 10n }));
      const paid = side.decodeFunctionResult("paid", await ethers.provider.call({ to: proxy, data: side.encodeFunctionData("paid", [await s.getAddress()]) }))[0];
      expect(paid, await s.getAddress()).to.equal(10n * (cohortOf(SALT, await s.getAddress(), 5_000) === "green" ? GREEN : BLUE));
    }
  });

  it("shares the proxy's storage: blue's and green's callers write one counter", async function () {
    const { proxy } = await canary(5_000);
    const signers = await ethers.getSigners();
    const onGreen: typeof signers = [];
    const onBlue: typeof signers = [];
    for (const s of signers) (cohortOf(SALT, await s.getAddress(), 5_000) === "green" ? onGreen : onBlue).push(s);
    expect(onGreen.length).to.be.greaterThan(0);
    expect(onBlue.length).to.be.greaterThan(0);
    const touch = async (s: (typeof signers)[number]) => {
      const receipt = await send(s.sendTransaction({ to: proxy, data: side.encodeFunctionData("touch") }));
      return side.parseLog(receipt.logs[0]!)!.args;
    };
    const first = await touch(onBlue[0]!);
    const second = await touch(onGreen[0]!);
    expect([first.side, first.counter]).to.deep.equal([BLUE, 1n]);
    expect([second.side, second.counter]).to.deep.equal([GREEN, 2n]);
    expect(await ethers.provider.getStorage(blue, 0)).to.equal(zeroPadValue("0x", 32));
  });

  it("cohorts by msg.sender when asked: a contract caller's users all share its cohort", async function () {
    const byOrigin = (await canary(5_000, true)).proxy;
    const bySender = (await canary(5_000, false)).proxy;
    const forwarder = await deploy(ethers, "CanaryForwarder");
    const forwarderAddress = await addr(forwarder);
    const echo = side.encodeFunctionData("echo", ["0x"]);
    const viaForwarder = async (proxy: string, from: string) =>
      side.decodeFunctionResult("echo", forwarder.interface.decodeFunctionResult("forward", await ethers.provider.call({ to: forwarderAddress, from, data: forwarder.interface.encodeFunctionData("forward", [proxy, echo]) }))[0])[0];
    for (const caller of generatedCallers(8)) {
      expect(await viaForwarder(byOrigin, caller)).to.equal(cohortOf(SALT, caller, 5_000) === "green" ? GREEN : BLUE);
      expect(await viaForwarder(bySender, caller)).to.equal(cohortOf(SALT, forwarderAddress, 5_000) === "green" ? GREEN : BLUE);
    }
  });

  it("leaves admin calls alone: the ProxyAdmin still upgrades the proxy off the router", async function () {
    const { proxy, proxyAdmin, router } = await canary(5_000);
    expect(await slotAddress(ethers, proxy, IMPLEMENTATION_SLOT)).to.equal(router);
    const admin = (await at(ethers, V5_ADMIN, proxyAdmin, owner)) as Contract;
    await send(admin.upgradeAndCall(proxy, blue, "0x"));
    expect(await slotAddress(ethers, proxy, IMPLEMENTATION_SLOT)).to.equal(blue);
    for (const caller of generatedCallers(5)) expect(await sideSeenBy(proxy, caller)).to.equal(BLUE);
  });

  it("is recognised from its code, with its immutables, and only ours is", async function () {
    const { router } = await canary(100, false);
    const code = await ethers.provider.getCode(router);
    const args = { blue, green, bps: 100, salt: SALT, cohortByOrigin: false };
    expect(await canaryRouterCodehash(args)).to.equal(keccak256(code));
    expect(await identifyCanaryRouter(code)).to.deep.equal(args);
    expect(await identifyCanaryRouter(await ethers.provider.getCode(blue))).to.equal(undefined);
    // One byte changed outside the immutables: not our router.
    const tampered = code.slice(0, 4) + (code.slice(4, 6) === "00" ? "01" : "00") + code.slice(6);
    expect(await identifyCanaryRouter(tampered)).to.equal(undefined);
  });

  it("costs at most 3,000 gas per call over a direct call to blue", async function () {
    // bps 0: every caller on blue, so both proxies run the same code on the same state.
    const { proxy: routed } = await canary(0);
    const direct = await addr(await deploy(ethers, V5_PROXY, [blue, await owner!.getAddress(), side.encodeFunctionData("echo", ["0x"])]));
    const touch = side.encodeFunctionData("touch");
    const gas = async (proxy: string) => (await send(owner!.sendTransaction({ to: proxy, data: touch }))).gasUsed;
    // First touches write a zero slot; measure the second, nonzero to nonzero, on both.
    await gas(routed);
    await gas(direct);
    const overhead = (await gas(routed)) - (await gas(direct));
    expect(overhead > 0n).to.equal(true);
    expect(overhead <= 3_000n, `router overhead ${overhead} gas`).to.equal(true);
  });
});
