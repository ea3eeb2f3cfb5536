import { expect } from "chai";
import { type Contract, ZeroHash, getAddress, keccak256 } from "ethers";

import {
  ADMIN_SLOT,
  DELAY,
  EVIDENCE,
  IMPLEMENTATION_SLOT,
  STATUS,
  V5_ADMIN,
  V5_PROXY,
  WINDOW,
  ZERO,
  type World,
  addr,
  asSigner,
  at,
  deploy,
  eventsOf,
  expectBareRevert,
  expectRevert,
  increaseTime,
  isolateEach,
  send,
  setNextTimestamp,
  slotAddress,
  switchWorld,
  timestampOf,
  v5Box,
} from "./fixture.js";

describe("BlueGreenSwitch (contract)", function () {
  let w: World;
  before(async () => {
    w = await switchWorld();
  });
  isolateEach(() => w);

  const a = (s: { getAddress(): Promise<string> }) => addr(s);
  const asApprover = () => asSigner(w.sw, w.approver);
  const asGuardian = () => asSigner(w.sw, w.guardian);
  const asStranger = () => asSigner(w.sw, w.stranger);
  const revert = (p: Promise<unknown>, name: string, args?: unknown[]) => expectRevert(w.errors, p, name, args);
  const promoteGreen = (initData = "0x") =>
    send(asApprover().promote(w.proxy, w.green, w.greenCodehash, w.blue, initData, EVIDENCE));
  const implementationOf = (proxy: string) => slotAddress(w.ethers, proxy, IMPLEMENTATION_SLOT);
  const state = async (proxy = w.proxy) => w.sw.proxyState(proxy);
  const box = (proxy = w.proxy) => at(w.ethers, "BoxV2", proxy);

  describe("construction", function () {
    it("records the approver, guardians and the fixed timings, and logs them", async function () {
      const sw = await deploy(w.ethers, "BlueGreenSwitch", [await a(w.approver), [await a(w.guardian), await a(w.stranger)], 60, 3601]);
      expect(await sw.approver()).to.equal(await a(w.approver));
      expect(await sw.pendingApprover()).to.equal(ZERO);
      expect(await sw.guardians()).to.deep.equal([await a(w.guardian), await a(w.stranger)]);
      expect(await sw.rollbackDelay()).to.equal(60n);
      expect(await sw.rollbackWindow()).to.equal(3601n);
      const receipt = (await w.ethers.provider.getTransactionReceipt(sw.deploymentTransaction()!.hash))!;
      const logs = receipt.logs.map((l) => sw.interface.parseLog(l)!.name);
      expect(logs).to.deep.equal(["Configured", "ApproverChanged", "GuardianAdded", "GuardianAdded"]);
    });

    it("exposes its bounds: delay 1 minute..7 days, window 1 hour..90 days", async function () {
      expect(await w.sw.MIN_ROLLBACK_DELAY()).to.equal(60n);
      expect(await w.sw.MAX_ROLLBACK_DELAY()).to.equal(7n * 86400n);
      expect(await w.sw.MIN_ROLLBACK_WINDOW()).to.equal(3600n);
      expect(await w.sw.MAX_ROLLBACK_WINDOW()).to.equal(90n * 86400n);
    });

    const cases: Array<[string, unknown[], string, unknown[]]> = [
      ["a zero approver", [ZERO, [], DELAY, WINDOW], "ZeroAddress", []],
      ["a delay under 1 minute", ["A", [], 59, WINDOW], "InvalidRollbackDelay", [59n, 60n, 604800n]],
      ["a delay over 7 days", ["A", [], 604801, 90 * 86400], "InvalidRollbackDelay", [604801n, 60n, 604800n]],
      ["a window under 1 hour", ["A", [], 60, 3599], "InvalidRollbackWindow", [3599n, 3600n, 7776000n]],
      ["a window over 90 days", ["A", [], 60, 7776001], "InvalidRollbackWindow", [7776001n, 3600n, 7776000n]],
      ["a delay not shorter than the window", ["A", [], 7200, 7200], "DelayNotShorterThanWindow", [7200n, 7200n]],
      ["a zero guardian", ["A", [ZERO], DELAY, WINDOW], "ZeroAddress", []],
      ["a guardian listed twice", ["A", ["G", "G"], DELAY, WINDOW], "GuardianAlreadyAdded", ["G"]],
    ];
    for (const [what, rawArgs, error, rawErrorArgs] of cases) {
      it(`refuses ${what}`, async function () {
        const sub = async (v: unknown): Promise<unknown> =>
          v === "A" ? a(w.approver) : v === "G" ? a(w.guardian) : Array.isArray(v) ? Promise.all(v.map(sub)) : v;
        const args = (await Promise.all(rawArgs.map(sub))) as unknown[];
        const errorArgs = (await Promise.all(rawErrorArgs.map(sub))) as unknown[];
        const factory = await w.ethers.getContractFactory("BlueGreenSwitch");
        await revert(factory.deploy(...args), error, errorArgs);
      });
    }
  });

  describe("adopt", function () {
    it("tracks the proxy, its ProxyAdmin and implementation, and logs Adopted", async function () {
      const { proxy, proxyAdmin } = await v5Box(w, w.blue);
      await send((await at(w.ethers, V5_ADMIN, proxyAdmin, w.owner)).transferOwnership(w.sw.target));
      const receipt = await send(asApprover().adopt(proxy, proxyAdmin, w.blue));
      expect(eventsOf(receipt, w.sw, "Adopted")).to.deep.equal([[getAddress(proxy), proxyAdmin, w.blue, 5n]]);
      const s = await state(proxy);
      expect(s.proxyAdmin).to.equal(proxyAdmin);
      expect(s.implementation).to.equal(w.blue);
      expect(s.adminVersion).to.equal(5n);
      expect(s.status).to.equal(STATUS.None);
      expect(await w.sw.isAdopted(proxy)).to.equal(true);
      expect(await w.sw.currentImplementation(proxy)).to.equal(w.blue);
      expect(await w.sw.previousImplementation(proxy)).to.equal(ZERO);
      expect(await w.sw.proxiesOf(proxyAdmin)).to.deep.equal([getAddress(proxy)]);
    });

    it("upgrades a v5 proxy to the stated implementation with no call, keeping its state", async function () {
      const { proxy, proxyAdmin } = await v5Box(w, w.blue);
      await send((await box(proxy)).connect(w.stranger).getFunction("store")(7));
      await send((await at(w.ethers, V5_ADMIN, proxyAdmin, w.owner)).transferOwnership(w.sw.target));
      const receipt = await send(asApprover().adopt(proxy, proxyAdmin, w.blue));
      const proxyContract = await at(w.ethers, V5_PROXY, proxy);
      expect(eventsOf(receipt, proxyContract, "Upgraded")).to.deep.equal([[w.blue]]);
      expect(await implementationOf(proxy)).to.equal(w.blue);
      expect(await (await box(proxy)).value()).to.equal(7n);
    });

    it("makes the tracked implementation true by construction: a different stated one becomes the implementation", async function () {
      const { proxy, proxyAdmin } = await v5Box(w, w.blue);
      await send((await at(w.ethers, V5_ADMIN, proxyAdmin, w.owner)).transferOwnership(w.sw.target));
      await send(asApprover().adopt(proxy, proxyAdmin, w.green));
      expect(await implementationOf(proxy)).to.equal(w.green);
      expect(await w.sw.currentImplementation(proxy)).to.equal(w.green);
    });

    it("refuses anyone but the approver", async function () {
      await revert(asGuardian().adopt(w.proxy, w.proxyAdmin, w.blue), "NotApprover", [await a(w.guardian)]);
    });

    it("refuses a proxy or implementation without code", async function () {
      const eoa = await a(w.stranger);
      await revert(asApprover().adopt(eoa, w.proxyAdmin, w.blue), "NotAContract", [eoa]);
      const { proxy, proxyAdmin } = await v5Box(w, w.blue);
      await revert(asApprover().adopt(proxy, proxyAdmin, eoa), "NotAContract", [eoa]);
    });

    it("refuses a ProxyAdmin the switch does not own yet", async function () {
      const { proxy, proxyAdmin } = await v5Box(w, w.blue);
      await revert(asApprover().adopt(proxy, proxyAdmin, w.blue), "NotProxyAdminOwner", [proxyAdmin, await a(w.owner)]);
    });

    it("refuses an admin that is not a contract or has no owner()", async function () {
      const { proxy } = await v5Box(w, w.blue);
      const eoa = await a(w.stranger);
      await revert(asApprover().adopt(proxy, eoa, w.blue), "NotAContract", [eoa]);
      const forwarder = await addr(await deploy(w.ethers, "CallForwarder"));
      await revert(asApprover().adopt(proxy, forwarder, w.blue), "NotAProxyAdmin", [forwarder]);
    });

    it("refuses a ProxyAdmin with an unknown upgrade interface version", async function () {
      const { proxy } = await v5Box(w, w.blue);
      const future = await addr(await deploy(w.ethers, "FutureProxyAdmin", [w.sw.target]));
      await revert(asApprover().adopt(proxy, future, w.blue), "UnsupportedProxyAdmin", [future, "6.0.0"]);
    });

    it("refuses a proxy it already manages", async function () {
      await revert(asApprover().adopt(w.proxy, w.proxyAdmin, w.blue), "AlreadyAdopted", [w.proxy, w.proxyAdmin]);
    });

    it("reverts, changing nothing, when the ProxyAdmin it owns is not the proxy's admin (v5)", async function () {
      const { proxy } = await v5Box(w, w.blue);
      // The switch owns w.proxyAdmin, which administers w.proxy, not this proxy.
      await expectBareRevert(asApprover().adopt(proxy, w.proxyAdmin, w.blue));
      expect(await w.sw.isAdopted(proxy)).to.equal(false);
    });
  });

  describe("adopt with an OpenZeppelin v4 ProxyAdmin", function () {
    async function v4Proxies(count: number) {
      const admin = await deploy(w.ethers, "ProxyAdminV4", [], w.owner);
      const boxV1 = await at(w.ethers, "BoxV1", w.blue);
      const proxies: string[] = [];
      for (let i = 0; i < count; i++) {
        const init = boxV1.interface.encodeFunctionData("initialize", [await a(w.owner)]);
        proxies.push(await addr(await deploy(w.ethers, "TransparentProxyV4", [w.blue, admin.target, init], w.owner)));
      }
      await send((admin.connect(w.owner) as Contract).transferOwnership(w.sw.target));
      return { admin: await addr(admin), proxies };
    }

    it("checks admin and implementation through the ProxyAdmin and upgrades nothing; one admin serves several proxies", async function () {
      const { admin, proxies } = await v4Proxies(2);
      for (const proxy of proxies) {
        const receipt = await send(asApprover().adopt(proxy, admin, w.blue));
        expect(receipt.logs.filter((l) => getAddress(l.address) === proxy)).to.have.length(0);
        expect((await state(proxy)).adminVersion).to.equal(4n);
      }
      expect(await w.sw.proxiesOf(admin)).to.deep.equal(proxies);
    });

    it("refuses a stated implementation the proxy does not run", async function () {
      const { admin, proxies } = await v4Proxies(1);
      await revert(asApprover().adopt(proxies[0], admin, w.green), "ImplementationMismatch", [proxies[0], w.green, w.blue]);
    });

    it("refuses a ProxyAdmin that is not the proxy's admin", async function () {
      const { admin } = await v4Proxies(0);
      const other = await v4Proxies(1);
      await revert(asApprover().adopt(other.proxies[0], admin, w.blue), "ProxyAdminMismatch", [other.proxies[0], admin, ZERO]);
    });

    it("promotes with `upgrade` when there is no init call, and with `upgradeAndCall` when there is; rolls back", async function () {
      const { admin, proxies } = await v4Proxies(2);
      for (const proxy of proxies) await send(asApprover().adopt(proxy, admin, w.blue));
      // BoxV2 has no receive/fallback: a v4 upgradeAndCall with empty data would revert.
      await send(asApprover().promote(proxies[0], w.green, w.greenCodehash, w.blue, "0x", EVIDENCE));
      expect(await implementationOf(proxies[0])).to.equal(w.green);
      const store = (await box()).interface.encodeFunctionData("store", [5]);
      await send(asApprover().promote(proxies[1], w.green, w.greenCodehash, w.blue, store, EVIDENCE));
      expect(await (await box(proxies[1])).updates()).to.equal(1n);
      await send(asApprover().rollbackNow(proxies[0]));
      expect(await implementationOf(proxies[0])).to.equal(w.blue);
    });

    it("forgets every proxy of the ProxyAdmin on release", async function () {
      const { admin, proxies } = await v4Proxies(2);
      for (const proxy of proxies) await send(asApprover().adopt(proxy, admin, w.blue));
      await send(asApprover().release(admin, await a(w.owner)));
      for (const proxy of proxies) expect(await w.sw.isAdopted(proxy)).to.equal(false);
      expect(await w.sw.proxiesOf(admin)).to.deep.equal([]);
    });
  });

  describe("promote", function () {
    it("switches to green atomically, records the release and logs all of it", async function () {
      await send((await box()).connect(w.stranger).getFunction("store")(11));
      const receipt = await promoteGreen();
      const at_ = await timestampOf(w, receipt);
      expect(eventsOf(receipt, w.sw, "Promoted")).to.deep.equal([
        [w.proxy, w.blue, w.green, w.greenCodehash, EVIDENCE, at_, at_ + BigInt(WINDOW), keccak256("0x"), await w.sw.releaseCount()],
      ]);
      expect(await implementationOf(w.proxy)).to.equal(w.green);
      expect(await (await box()).version()).to.equal("2");
      expect(await (await box()).value()).to.equal(11n);
      const s = await state();
      expect([s.implementation, s.blue, s.green, s.greenCodehash, s.evidenceHash]).to.deep.equal([
        w.green,
        w.blue,
        w.green,
        w.greenCodehash,
        EVIDENCE,
      ]);
      expect([s.promotedAt, s.windowEnd, s.rollbackReadyAt, s.status]).to.deep.equal([at_, at_ + BigInt(WINDOW), 0n, STATUS.Live]);
      expect(await w.sw.previousImplementation(w.proxy)).to.equal(w.blue);
    });

    it("runs initData on green through the proxy", async function () {
      const data = (await box()).interface.encodeFunctionData("store", [42]);
      await promoteGreen(data);
      expect(await (await box()).value()).to.equal(42n);
      expect(await (await box()).updates()).to.equal(1n);
    });

    it("refuses anyone but the approver", async function () {
      await revert(
        asGuardian().promote(w.proxy, w.green, w.greenCodehash, w.blue, "0x", EVIDENCE),
        "NotApprover",
        [await a(w.guardian)],
      );
    });

    it("refuses a proxy it does not manage", async function () {
      const { proxy } = await v5Box(w, w.blue);
      await revert(asApprover().promote(proxy, w.green, w.greenCodehash, w.blue, "0x", EVIDENCE), "NotAdopted", [proxy]);
    });

    it("refuses when blue is not the expected one (a raced upgrade)", async function () {
      await revert(
        asApprover().promote(w.proxy, w.green, w.greenCodehash, w.green, "0x", EVIDENCE),
        "UnexpectedBlue",
        [w.proxy, w.green, w.blue],
      );
    });

    it("refuses green equal to blue", async function () {
      const blueHash = keccak256(await w.ethers.provider.getCode(w.blue));
      await revert(asApprover().promote(w.proxy, w.blue, blueHash, w.blue, "0x", EVIDENCE), "GreenIsBlue", [w.proxy, w.blue]);
    });

    it("refuses green whose code hash is not the pinned one", async function () {
      const wrong = keccak256("0xdead");
      await revert(
        asApprover().promote(w.proxy, w.green, wrong, w.blue, "0x", EVIDENCE),
        "CodehashMismatch",
        [w.green, wrong, w.greenCodehash],
      );
    });

    it("refuses a green without code, whatever hash is pinned", async function () {
      const eoa = await a(w.stranger);
      await revert(asApprover().promote(w.proxy, eoa, keccak256("0x"), w.blue, "0x", EVIDENCE), "NotAContract", [eoa]);
      const nobody = "0x000000000000000000000000000000000000bEEF";
      await revert(asApprover().promote(w.proxy, nobody, ZeroHash, w.blue, "0x", EVIDENCE), "NotAContract", [nobody]);
    });

    it("refuses a zero evidence hash", async function () {
      await revert(asApprover().promote(w.proxy, w.green, w.greenCodehash, w.blue, "0x", ZeroHash), "EmptyEvidenceHash", [w.proxy]);
    });

    it("refuses while the previous release's window is open or a rollback is scheduled", async function () {
      await promoteGreen();
      const third = await addr(await deploy(w.ethers, "BoxV2"));
      const hash = keccak256(await w.ethers.provider.getCode(third));
      await revert(asApprover().promote(w.proxy, third, hash, w.green, "0x", EVIDENCE), "ReleaseStillOpen", [w.proxy, STATUS.Live]);
      await send(asGuardian().scheduleRollback(w.proxy));
      await revert(
        asApprover().promote(w.proxy, third, hash, w.green, "0x", EVIDENCE),
        "ReleaseStillOpen",
        [w.proxy, STATUS.RollbackScheduled],
      );
    });

    it("promotes again after finalize (green becomes blue) and after a rollback", async function () {
      await promoteGreen();
      await send(asApprover().finalize(w.proxy));
      const third = await addr(await deploy(w.ethers, "BoxV2"));
      const hash = keccak256(await w.ethers.provider.getCode(third));
      await send(asApprover().promote(w.proxy, third, hash, w.green, "0x", EVIDENCE));
      expect((await state()).blue).to.equal(w.green);
      await send(asApprover().rollbackNow(w.proxy));
      expect(await implementationOf(w.proxy)).to.equal(w.green);
      await send(asApprover().promote(w.proxy, third, hash, w.green, "0x", EVIDENCE));
      expect(await implementationOf(w.proxy)).to.equal(third);
    });

    it("reverts everything when initData reverts", async function () {
      const failing = await deploy(w.ethers, "RevertingInitGreen");
      const hash = keccak256(await w.ethers.provider.getCode(failing.target as string));
      const data = failing.interface.encodeFunctionData("init");
      await revert(asApprover().promote(w.proxy, failing.target, hash, w.blue, data, EVIDENCE), "InitFailed");
      expect(await implementationOf(w.proxy)).to.equal(w.blue);
      expect((await state()).status).to.equal(STATUS.None);
    });

    it("refuses reentry from green's initData, into every entry point", async function () {
      const reentrant = await deploy(w.ethers, "ReentrantGreen");
      const hash = keccak256(await w.ethers.provider.getCode(reentrant.target as string));
      const calls = [
        w.sw.interface.encodeFunctionData("executeRollback", [w.proxy]),
        w.sw.interface.encodeFunctionData("finalize", [w.proxy]),
        w.sw.interface.encodeFunctionData("scheduleRollback", [w.proxy]),
        w.sw.interface.encodeFunctionData("promote", [w.proxy, w.green, w.greenCodehash, reentrant.target, "0x", EVIDENCE]),
      ];
      for (const call of calls) {
        const data = reentrant.interface.encodeFunctionData("reenter", [w.sw.target, call]);
        await revert(asApprover().promote(w.proxy, reentrant.target, hash, w.blue, data, EVIDENCE), "ReentrancyGuardReentrantCall");
      }
      expect(await implementationOf(w.proxy)).to.equal(w.blue);
    });
  });

  describe("promoteBatch", function () {
    async function secondProxy() {
      const { proxy, proxyAdmin } = await v5Box(w, w.blue);
      await send((await at(w.ethers, V5_ADMIN, proxyAdmin, w.owner)).transferOwnership(w.sw.target));
      await send(asApprover().adopt(proxy, proxyAdmin, w.blue));
      return proxy;
    }
    const item = (proxy: string, overrides: Partial<Record<string, unknown>> = {}) => ({
      proxy,
      green: w.green,
      greenCodehash: w.greenCodehash,
      expectedBlue: w.blue,
      initData: "0x",
      evidenceHash: EVIDENCE,
      ...overrides,
    });

    it("switches every proxy in one transaction", async function () {
      const second = await secondProxy();
      const receipt = await send(asApprover().promoteBatch([item(w.proxy), item(second)]));
      expect(eventsOf(receipt, w.sw, "Promoted").map((e) => e[0])).to.deep.equal([w.proxy, second]);
      expect(await implementationOf(w.proxy)).to.equal(w.green);
      expect(await implementationOf(second)).to.equal(w.green);
    });

    it("switches none when one check fails", async function () {
      const second = await secondProxy();
      await revert(
        asApprover().promoteBatch([item(w.proxy), item(second, { expectedBlue: w.green })]),
        "UnexpectedBlue",
        [second, w.green, w.blue],
      );
      expect(await implementationOf(w.proxy)).to.equal(w.blue);
      expect((await state()).status).to.equal(STATUS.None);
    });

    it("switches none when a later init call reverts", async function () {
      const second = await secondProxy();
      const failing = await deploy(w.ethers, "RevertingInitGreen");
      const hash = keccak256(await w.ethers.provider.getCode(failing.target as string));
      const bad = item(second, { green: failing.target, greenCodehash: hash, initData: failing.interface.encodeFunctionData("init") });
      await revert(asApprover().promoteBatch([item(w.proxy), bad]), "InitFailed");
      expect(await implementationOf(w.proxy)).to.equal(w.blue);
    });

    it("refuses an empty batch, a proxy listed twice, and anyone but the approver", async function () {
      await revert(asApprover().promoteBatch([]), "EmptyBatch");
      await revert(asApprover().promoteBatch([item(w.proxy), item(w.proxy)]), "ReleaseStillOpen", [w.proxy, STATUS.Live]);
      await revert(asStranger().promoteBatch([item(w.proxy)]), "NotApprover", [await a(w.stranger)]);
    });
  });

  describe("scheduleRollback", function () {
    it("lets a guardian schedule a rollback, ready after the delay", async function () {
      await promoteGreen();
      const receipt = await send(asGuardian().scheduleRollback(w.proxy));
      const readyAt = (await timestampOf(w, receipt)) + BigInt(DELAY);
      expect(eventsOf(receipt, w.sw, "RollbackScheduled")).to.deep.equal([[w.proxy, await a(w.guardian), readyAt]]);
      const s = await state();
      expect([s.status, s.rollbackReadyAt]).to.deep.equal([STATUS.RollbackScheduled, readyAt]);
      expect(await w.sw.canExecuteRollback(w.proxy)).to.equal(false);
      expect(await implementationOf(w.proxy)).to.equal(w.green);
    });

    it("lets the approver schedule too", async function () {
      await promoteGreen();
      await send(asApprover().scheduleRollback(w.proxy));
      expect((await state()).status).to.equal(STATUS.RollbackScheduled);
    });

    it("refuses anyone else", async function () {
      await promoteGreen();
      await revert(asStranger().scheduleRollback(w.proxy), "NotGuardianOrApprover", [await a(w.stranger)]);
    });

    it("refuses an unmanaged proxy, a proxy with no live release, and a second schedule", async function () {
      const { proxy } = await v5Box(w, w.blue);
      await revert(asGuardian().scheduleRollback(proxy), "NotAdopted", [proxy]);
      await revert(asGuardian().scheduleRollback(w.proxy), "ReleaseNotLive", [w.proxy, STATUS.None]);
      await promoteGreen();
      await send(asGuardian().scheduleRollback(w.proxy));
      await revert(asGuardian().scheduleRollback(w.proxy), "ReleaseNotLive", [w.proxy, STATUS.RollbackScheduled]);
    });

    it("refuses once the window has ended", async function () {
      const receipt = await promoteGreen();
      const windowEnd = (await timestampOf(w, receipt)) + BigInt(WINDOW);
      await setNextTimestamp(w, Number(windowEnd));
      await revert(asGuardian().scheduleRollback(w.proxy), "RollbackWindowClosed", [w.proxy, windowEnd]);
    });
  });

  describe("cancelRollback", function () {
    it("lets the approver veto during the delay; the release is live again", async function () {
      await promoteGreen();
      await send(asGuardian().scheduleRollback(w.proxy));
      const receipt = await send(asApprover().cancelRollback(w.proxy));
      expect(eventsOf(receipt, w.sw, "RollbackCancelled")).to.deep.equal([[w.proxy, await a(w.approver)]]);
      const s = await state();
      expect([s.status, s.rollbackReadyAt]).to.deep.equal([STATUS.Live, 0n]);
      await send(asApprover().scheduleRollback(w.proxy));
    });

    it("refuses a guardian", async function () {
      await promoteGreen();
      await send(asGuardian().scheduleRollback(w.proxy));
      await revert(asGuardian().cancelRollback(w.proxy), "NotCancellerOrApprover", [await a(w.guardian)]);
    });

    it("refuses when nothing is scheduled, and on an unmanaged proxy", async function () {
      await promoteGreen();
      await revert(asApprover().cancelRollback(w.proxy), "NoRollbackScheduled", [w.proxy, STATUS.Live]);
      const { proxy } = await v5Box(w, w.blue);
      await revert(asApprover().cancelRollback(proxy), "NotAdopted", [proxy]);
    });

    it("refuses a canceller once the delay is over, but not the approver (the escape from a rollback that cannot run)", async function () {
      await promoteGreen();
      await send(asApprover().addCanceller(await a(w.stranger)));
      const receipt = await send(asGuardian().scheduleRollback(w.proxy));
      const readyAt = (await timestampOf(w, receipt)) + BigInt(DELAY);
      await setNextTimestamp(w, Number(readyAt));
      await revert((w.sw.connect(w.stranger) as Contract).cancelRollback(w.proxy), "RollbackAlreadyReady", [w.proxy, readyAt]);
      await send(asApprover().cancelRollback(w.proxy));
      expect((await state()).status).to.equal(STATUS.Live);
    });
  });

  describe("executeRollback", function () {
    it("lets anyone roll back to exactly blue once the delay has passed", async function () {
      await promoteGreen();
      await send(asGuardian().scheduleRollback(w.proxy));
      await increaseTime(w, DELAY);
      expect(await w.sw.canExecuteRollback(w.proxy)).to.equal(true);
      const receipt = await send(asStranger().executeRollback(w.proxy));
      expect(eventsOf(receipt, w.sw, "RolledBack")).to.deep.equal([[w.proxy, w.green, w.blue, await a(w.stranger), false]]);
      expect(await implementationOf(w.proxy)).to.equal(w.blue);
      const s = await state();
      expect([s.status, s.implementation]).to.deep.equal([STATUS.RolledBack, w.blue]);
      expect(await w.sw.canExecuteRollback(w.proxy)).to.equal(false);
      await revert(asStranger().executeRollback(w.proxy), "NoRollbackScheduled", [w.proxy, STATUS.RolledBack]);
    });

    it("refuses before the delay has passed", async function () {
      await promoteGreen();
      const receipt = await send(asGuardian().scheduleRollback(w.proxy));
      const readyAt = (await timestampOf(w, receipt)) + BigInt(DELAY);
      await revert(asStranger().executeRollback(w.proxy), "RollbackNotReady", [w.proxy, readyAt]);
    });

    it("refuses when nothing is scheduled, and on an unmanaged proxy", async function () {
      await promoteGreen();
      await revert(asStranger().executeRollback(w.proxy), "NoRollbackScheduled", [w.proxy, STATUS.Live]);
      const { proxy } = await v5Box(w, w.blue);
      await revert(asStranger().executeRollback(proxy), "NotAdopted", [proxy]);
    });

    it("still executes a rollback scheduled at the end of the window once its delay has run", async function () {
      const receipt = await promoteGreen();
      const windowEnd = Number((await timestampOf(w, receipt)) + BigInt(WINDOW));
      await setNextTimestamp(w, windowEnd - 1);
      await send(asGuardian().scheduleRollback(w.proxy));
      await increaseTime(w, DELAY);
      await send(asStranger().executeRollback(w.proxy));
      expect(await implementationOf(w.proxy)).to.equal(w.blue);
    });
  });

  describe("rollbackNow", function () {
    it("lets the approver roll back at once from a live release", async function () {
      await promoteGreen();
      const receipt = await send(asApprover().rollbackNow(w.proxy));
      expect(eventsOf(receipt, w.sw, "RolledBack")).to.deep.equal([[w.proxy, w.green, w.blue, await a(w.approver), true]]);
      expect(await implementationOf(w.proxy)).to.equal(w.blue);
      expect((await state()).status).to.equal(STATUS.RolledBack);
    });

    it("skips the delay of a scheduled rollback", async function () {
      await promoteGreen();
      await send(asGuardian().scheduleRollback(w.proxy));
      await send(asApprover().rollbackNow(w.proxy));
      expect(await implementationOf(w.proxy)).to.equal(w.blue);
    });

    it("refuses a guardian", async function () {
      await promoteGreen();
      await revert(asGuardian().rollbackNow(w.proxy), "NotApprover", [await a(w.guardian)]);
    });

    it("refuses after the window, before any release, after a rollback, and on an unmanaged proxy", async function () {
      await revert(asApprover().rollbackNow(w.proxy), "ReleaseNotLive", [w.proxy, STATUS.None]);
      const receipt = await promoteGreen();
      const windowEnd = (await timestampOf(w, receipt)) + BigInt(WINDOW);
      await setNextTimestamp(w, Number(windowEnd));
      await revert(asApprover().rollbackNow(w.proxy), "RollbackWindowClosed", [w.proxy, windowEnd]);
      const { proxy } = await v5Box(w, w.blue);
      await revert(asApprover().rollbackNow(proxy), "NotAdopted", [proxy]);
    });

    it("refuses a second rollback", async function () {
      await promoteGreen();
      await send(asApprover().rollbackNow(w.proxy));
      await revert(asApprover().rollbackNow(w.proxy), "ReleaseNotLive", [w.proxy, STATUS.RolledBack]);
    });
  });

  describe("finalize", function () {
    it("lets the approver close the rollback path early; no rollback is possible after", async function () {
      await promoteGreen();
      const receipt = await send(asApprover().finalize(w.proxy));
      expect(eventsOf(receipt, w.sw, "Finalized")).to.deep.equal([[w.proxy, w.green, await a(w.approver)]]);
      expect((await state()).status).to.equal(STATUS.Finalized);
      await revert(asGuardian().scheduleRollback(w.proxy), "ReleaseNotLive", [w.proxy, STATUS.Finalized]);
      await revert(asApprover().rollbackNow(w.proxy), "ReleaseNotLive", [w.proxy, STATUS.Finalized]);
      await revert(asStranger().executeRollback(w.proxy), "NoRollbackScheduled", [w.proxy, STATUS.Finalized]);
      await revert(asApprover().finalize(w.proxy), "ReleaseNotLive", [w.proxy, STATUS.Finalized]);
      expect(await implementationOf(w.proxy)).to.equal(w.green);
    });

    it("lets anyone finalize once the window has ended, not before", async function () {
      const receipt = await promoteGreen();
      const windowEnd = (await timestampOf(w, receipt)) + BigInt(WINDOW);
      await revert(asStranger().finalize(w.proxy), "WindowStillOpen", [w.proxy, windowEnd]);
      await setNextTimestamp(w, Number(windowEnd));
      await send(asStranger().finalize(w.proxy));
      expect((await state()).status).to.equal(STATUS.Finalized);
    });

    it("refuses while a rollback is scheduled, before any release, and on an unmanaged proxy", async function () {
      await revert(asApprover().finalize(w.proxy), "ReleaseNotLive", [w.proxy, STATUS.None]);
      await promoteGreen();
      await send(asGuardian().scheduleRollback(w.proxy));
      await revert(asApprover().finalize(w.proxy), "ReleaseNotLive", [w.proxy, STATUS.RollbackScheduled]);
      const { proxy } = await v5Box(w, w.blue);
      await revert(asApprover().finalize(proxy), "NotAdopted", [proxy]);
    });
  });

  describe("release", function () {
    it("hands the ProxyAdmin back and forgets its proxy", async function () {
      const newOwner = await a(w.owner);
      const receipt = await send(asApprover().release(w.proxyAdmin, newOwner));
      expect(eventsOf(receipt, w.sw, "Released")).to.deep.equal([[w.proxyAdmin, newOwner]]);
      const admin = await at(w.ethers, V5_ADMIN, w.proxyAdmin, w.owner);
      expect(await admin.owner()).to.equal(newOwner);
      expect(await w.sw.isAdopted(w.proxy)).to.equal(false);
      expect((await state()).proxyAdmin).to.equal(ZERO);
      expect(await w.sw.proxiesOf(w.proxyAdmin)).to.deep.equal([]);
      // The new owner upgrades directly; the switch no longer can.
      await send(admin.upgradeAndCall(w.proxy, w.green, "0x"));
      expect(await implementationOf(w.proxy)).to.equal(w.green);
      await revert(asApprover().promote(w.proxy, w.green, w.greenCodehash, w.blue, "0x", EVIDENCE), "NotAdopted", [w.proxy]);
    });

    it("works during an open window, and the proxy can be adopted again afterwards", async function () {
      await promoteGreen();
      await send(asApprover().release(w.proxyAdmin, await a(w.owner)));
      await send((await at(w.ethers, V5_ADMIN, w.proxyAdmin, w.owner)).transferOwnership(w.sw.target));
      await send(asApprover().adopt(w.proxy, w.proxyAdmin, w.green));
      const s = await state();
      expect([s.status, s.implementation, s.blue]).to.deep.equal([STATUS.None, w.green, ZERO]);
    });

    it("releases a ProxyAdmin it owns but never adopted", async function () {
      const { proxyAdmin } = await v5Box(w, w.blue);
      const admin = await at(w.ethers, V5_ADMIN, proxyAdmin, w.owner);
      await send(admin.transferOwnership(w.sw.target));
      await send(asApprover().release(proxyAdmin, await a(w.owner)));
      expect(await admin.owner()).to.equal(await a(w.owner));
    });

    it("refuses anyone but the approver, a zero or self new owner, and a ProxyAdmin it does not own", async function () {
      await revert(asGuardian().release(w.proxyAdmin, await a(w.owner)), "NotApprover", [await a(w.guardian)]);
      await revert(asApprover().release(w.proxyAdmin, ZERO), "InvalidNewOwner", [ZERO]);
      await revert(asApprover().release(w.proxyAdmin, w.sw.target), "InvalidNewOwner", [w.sw.target]);
      const { proxyAdmin } = await v5Box(w, w.blue);
      await revert(asApprover().release(proxyAdmin, await a(w.owner)), "NotProxyAdminOwner", [proxyAdmin, await a(w.owner)]);
      const eoa = await a(w.stranger);
      await revert(asApprover().release(eoa, await a(w.owner)), "NotAContract", [eoa]);
    });
  });

  describe("approver rotation", function () {
    it("moves the role in two steps and logs both", async function () {
      const next = await a(w.nextApprover);
      const proposed = await send(asApprover().proposeApprover(next));
      expect(eventsOf(proposed, w.sw, "ApproverProposed")).to.deep.equal([[await a(w.approver), next]]);
      expect(await w.sw.pendingApprover()).to.equal(next);
      expect(await w.sw.approver()).to.equal(await a(w.approver));
      const accepted = await send(asSigner(w.sw, w.nextApprover).acceptApprover());
      expect(eventsOf(accepted, w.sw, "ApproverChanged")).to.deep.equal([[await a(w.approver), next]]);
      expect(await w.sw.approver()).to.equal(next);
      expect(await w.sw.pendingApprover()).to.equal(ZERO);
      await revert(asApprover().promote(w.proxy, w.green, w.greenCodehash, w.blue, "0x", EVIDENCE), "NotApprover", [await a(w.approver)]);
      await send(asSigner(w.sw, w.nextApprover).promote(w.proxy, w.green, w.greenCodehash, w.blue, "0x", EVIDENCE));
    });

    it("lets the approver withdraw a proposal", async function () {
      await send(asApprover().proposeApprover(await a(w.nextApprover)));
      await send(asApprover().proposeApprover(ZERO));
      await revert(asSigner(w.sw, w.nextApprover).acceptApprover(), "NotPendingApprover", [await a(w.nextApprover)]);
    });

    it("refuses a proposal from anyone but the approver, and an acceptance from anyone but the proposed", async function () {
      await revert(asGuardian().proposeApprover(await a(w.guardian)), "NotApprover", [await a(w.guardian)]);
      await send(asApprover().proposeApprover(await a(w.nextApprover)));
      await revert(asStranger().acceptApprover(), "NotPendingApprover", [await a(w.stranger)]);
    });
  });

  describe("guardians", function () {
    it("are added and removed by the approver, with events", async function () {
      const s = await a(w.stranger);
      const added = await send(asApprover().addGuardian(s));
      expect(eventsOf(added, w.sw, "GuardianAdded")).to.deep.equal([[s]]);
      expect(await w.sw.isGuardian(s)).to.equal(true);
      expect(await w.sw.guardians()).to.deep.equal([await a(w.guardian), s]);
      const removed = await send(asApprover().removeGuardian(await a(w.guardian)));
      expect(eventsOf(removed, w.sw, "GuardianRemoved")).to.deep.equal([[await a(w.guardian)]]);
      expect(await w.sw.isGuardian(await a(w.guardian))).to.equal(false);
      await promoteGreen();
      await revert(asGuardian().scheduleRollback(w.proxy), "NotGuardianOrApprover", [await a(w.guardian)]);
      await send(asStranger().scheduleRollback(w.proxy));
    });

    it("refuses duplicates, unknown guardians, zero, and anyone but the approver", async function () {
      await revert(asApprover().addGuardian(await a(w.guardian)), "GuardianAlreadyAdded", [await a(w.guardian)]);
      await revert(asApprover().addGuardian(ZERO), "ZeroAddress");
      await revert(asApprover().removeGuardian(await a(w.stranger)), "NotAGuardian", [await a(w.stranger)]);
      await revert(asGuardian().addGuardian(await a(w.stranger)), "NotApprover", [await a(w.guardian)]);
      await revert(asGuardian().removeGuardian(await a(w.guardian)), "NotApprover", [await a(w.guardian)]);
    });
  });

  describe("a contract as approver (as a Safe would be)", function () {
    it("adopts, promotes and rolls back through calls from the contract", async function () {
      const forwarder = await deploy(w.ethers, "CallForwarder");
      const sw = await deploy(w.ethers, "BlueGreenSwitch", [forwarder.target, [], DELAY, WINDOW]);
      const { proxy, proxyAdmin } = await v5Box(w, w.blue);
      await send((await at(w.ethers, V5_ADMIN, proxyAdmin, w.owner)).transferOwnership(sw.target));
      const via = (data: string) => send((forwarder.connect(w.stranger) as Contract).forward(sw.target, data));
      await via(sw.interface.encodeFunctionData("adopt", [proxy, proxyAdmin, w.blue]));
      await via(sw.interface.encodeFunctionData("promote", [proxy, w.green, w.greenCodehash, w.blue, "0x", EVIDENCE]));
      expect(await implementationOf(proxy)).to.equal(w.green);
      await via(sw.interface.encodeFunctionData("rollbackNow", [proxy]));
      expect(await implementationOf(proxy)).to.equal(w.blue);
      expect(await slotAddress(w.ethers, proxy, ADMIN_SLOT)).to.equal(proxyAdmin);
    });
  });
});
