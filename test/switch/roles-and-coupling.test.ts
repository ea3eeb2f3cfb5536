/**
 * The veto as a role of its own, guardian scheduling limits, and releases of
 * several proxies that move as one (issue 14).
 */
import { expect } from "chai";
import { type Contract, getAddress, keccak256 } from "ethers";

import {
  DELAY,
  EVIDENCE,
  IMPLEMENTATION_SLOT,
  STATUS,
  V5_ADMIN,
  WINDOW,
  type World,
  addr,
  asSigner,
  at,
  deploy,
  eventsOf,
  expectRevert,
  increaseTime,
  isolateEach,
  send,
  slotAddress,
  switchWorld,
  v5Box,
} from "./fixture.js";

describe("BlueGreenSwitch roles and coupled releases", function () {
  let w: World;
  before(async () => {
    w = await switchWorld();
  });
  isolateEach(() => w);

  const a = (s: { getAddress(): Promise<string> }) => addr(s);
  const asApprover = () => asSigner(w.sw, w.approver);
  const asGuardian = () => asSigner(w.sw, w.guardian);
  const as = (s: World["stranger"]) => asSigner(w.sw, s);
  const revert = (p: Promise<unknown>, name: string, args?: unknown[]) => expectRevert(w.errors, p, name, args);
  const implementationOf = (proxy: string) => slotAddress(w.ethers, proxy, IMPLEMENTATION_SLOT);
  const status = async (proxy: string) => (await w.sw.proxyState(proxy)).status;
  const promoteGreen = () => send(asApprover().promote(w.proxy, w.green, w.greenCodehash, w.blue, "0x", EVIDENCE));

  async function signers() {
    const all = await w.ethers.getSigners();
    return { second: all[6]!, canceller: all[7]!, third: all[8]! };
  }

  describe("canceller (veto) role", function () {
    it("is added and removed by the approver only, with events", async function () {
      const { canceller } = await signers();
      const c = await a(canceller);
      await revert(as(w.stranger).addCanceller(c), "NotApprover", [await a(w.stranger)]);
      const added = await send(asApprover().addCanceller(c));
      expect(eventsOf(added, w.sw, "CancellerAdded")).to.deep.equal([[c]]);
      expect([await w.sw.isCanceller(c), await w.sw.cancellers()]).to.deep.equal([true, [c]]);
      await revert(asApprover().addCanceller(c), "CancellerAlreadyAdded", [c]);
      const removed = await send(asApprover().removeCanceller(c));
      expect(eventsOf(removed, w.sw, "CancellerRemoved")).to.deep.equal([[c]]);
      await revert(asApprover().removeCanceller(c), "NotACanceller", [c]);
    });

    it("vetoes a guardian's rollback while a slow approver (a contract that has not acted) stays silent", async function () {
      const { canceller } = await signers();
      // A slow approver: a contract (as a timelock would be) that the test never drives during the delay.
      const slow = await deploy(w.ethers, "CallForwarder");
      const sw = await deploy(w.ethers, "BlueGreenSwitch", [slow.target, [await a(w.guardian)], DELAY, WINDOW]);
      const call = (fn: string, args: unknown[]) => send((slow.connect(w.deployer) as Contract).forward(sw.target, sw.interface.encodeFunctionData(fn, args)));
      const { proxy, proxyAdmin } = await v5Box(w, w.blue);
      await send((await at(w.ethers, V5_ADMIN, proxyAdmin, w.owner)).transferOwnership(sw.target));
      await call("adopt", [proxy, proxyAdmin, w.blue]);
      await call("addCanceller", [await a(canceller)]);
      await call("promote", [proxy, w.green, w.greenCodehash, w.blue, "0x", EVIDENCE]);

      await send((sw.connect(w.guardian) as Contract).scheduleRollback(proxy));
      const vetoed = await send((sw.connect(canceller) as Contract).cancelRollback(proxy));
      expect(eventsOf(vetoed, sw, "RollbackCancelled")).to.deep.equal([[getAddress(proxy), await a(canceller)]]);
      expect((await sw.proxyState(proxy)).status).to.equal(STATUS.Live);
      expect(await implementationOf(proxy)).to.equal(w.green);
    });

    it("can only keep green running: it cannot promote, schedule, roll back, finalize or release", async function () {
      const { canceller } = await signers();
      const c = await a(canceller);
      await send(asApprover().addCanceller(c));
      await promoteGreen();
      await revert(as(canceller).scheduleRollback(w.proxy), "NotGuardianOrApprover", [c]);
      await revert(as(canceller).rollbackNow(w.proxy), "NotApprover", [c]);
      await revert(as(canceller).finalize(w.proxy), "WindowStillOpen");
      await revert(as(canceller).release(w.proxyAdmin, c), "NotApprover", [c]);
      await revert(as(canceller).promote(w.proxy, w.blue, keccak256(await w.ethers.provider.getCode(w.blue)), w.green, "0x", EVIDENCE), "NotApprover", [c]);
      expect(await implementationOf(w.proxy)).to.equal(w.green);
    });
  });

  describe("guardians", function () {
    it("a removed guardian's pending rollback is cancelled with the usual event and can no longer run", async function () {
      await promoteGreen();
      await send(asGuardian().scheduleRollback(w.proxy));
      const receipt = await send(asApprover().removeGuardian(await a(w.guardian)));
      expect(eventsOf(receipt, w.sw, "GuardianRemoved")).to.deep.equal([[await a(w.guardian)]]);
      expect(eventsOf(receipt, w.sw, "RollbackCancelled")).to.deep.equal([[w.proxy, await a(w.approver)]]);
      const s = await w.sw.proxyState(w.proxy);
      expect([s.status, s.rollbackReadyAt, s.rollbackScheduledBy]).to.deep.equal([STATUS.Live, 0n, "0x0000000000000000000000000000000000000000"]);
      await increaseTime(w, DELAY);
      await revert(as(w.stranger).executeRollback(w.proxy), "NoRollbackScheduled", [w.proxy, STATUS.Live]);
      expect(await implementationOf(w.proxy)).to.equal(w.green);
    });

    it("removing a guardian leaves another guardian's pending rollback alone", async function () {
      const { second } = await signers();
      await send(asApprover().addGuardian(await a(second)));
      await promoteGreen();
      await send(as(second).scheduleRollback(w.proxy));
      const receipt = await send(asApprover().removeGuardian(await a(w.guardian)));
      expect(eventsOf(receipt, w.sw, "RollbackCancelled")).to.deep.equal([]);
      expect((await w.sw.proxyState(w.proxy)).rollbackScheduledBy).to.equal(await a(second));
      await increaseTime(w, DELAY);
      await send(as(w.stranger).executeRollback(w.proxy));
      expect(await implementationOf(w.proxy)).to.equal(w.blue);
    });

    it("each of several guardians schedules at most once per release, so finalize cannot be held off for ever", async function () {
      const { second } = await signers();
      await send(asApprover().addGuardian(await a(second)));
      const { canceller } = await signers();
      await send(asApprover().addCanceller(await a(canceller)));
      await promoteGreen();
      const releaseId = (await w.sw.proxyState(w.proxy)).releaseId;
      for (const guardian of [w.guardian, second]) {
        await send(as(guardian).scheduleRollback(w.proxy));
        expect(await w.sw.hasScheduled(releaseId, await a(guardian))).to.equal(true);
        await send(as(canceller).cancelRollback(w.proxy));
        await revert(as(guardian).scheduleRollback(w.proxy), "AlreadyScheduledInRelease", [w.proxy, await a(guardian), releaseId]);
      }
      await send(asApprover().finalize(w.proxy));
      expect(await status(w.proxy)).to.equal(STATUS.Finalized);
    });

    it("a guardian's allowance comes back with the next release", async function () {
      await promoteGreen();
      await send(asGuardian().scheduleRollback(w.proxy));
      await send(asApprover().cancelRollback(w.proxy));
      await send(asApprover().finalize(w.proxy));
      const third = await addr(await deploy(w.ethers, "BoxV1"));
      await send(asApprover().promote(w.proxy, third, keccak256(await w.ethers.provider.getCode(third)), w.green, "0x", EVIDENCE));
      await send(asGuardian().scheduleRollback(w.proxy));
      expect(await status(w.proxy)).to.equal(STATUS.RollbackScheduled);
    });

    it("the approver is not limited: it can schedule again after a veto", async function () {
      await promoteGreen();
      for (let i = 0; i < 2; i++) {
        await send(asApprover().scheduleRollback(w.proxy));
        await send(asApprover().cancelRollback(w.proxy));
      }
      expect(await status(w.proxy)).to.equal(STATUS.Live);
    });
  });

  describe("coupled releases (promoteBatch)", function () {
    async function adoptedV5() {
      const { proxy, proxyAdmin } = await v5Box(w, w.blue);
      await send((await at(w.ethers, V5_ADMIN, proxyAdmin, w.owner)).transferOwnership(w.sw.target));
      await send(asApprover().adopt(proxy, proxyAdmin, w.blue));
      return { proxy: getAddress(proxy), proxyAdmin };
    }
    async function adoptedV4() {
      const admin = await deploy(w.ethers, "ProxyAdminV4", [], w.owner);
      const proxy = await addr(await deploy(w.ethers, "TransparentProxyV4", [w.blue, admin.target, "0x"], w.owner));
      await send((admin.connect(w.owner) as Contract).transferOwnership(w.sw.target));
      await send(asApprover().adopt(proxy, admin.target, w.blue));
      return { proxy, proxyAdmin: await addr(admin) };
    }
    const item = (proxy: string, initData = "0x") => ({
      proxy,
      green: w.green,
      greenCodehash: w.greenCodehash,
      expectedBlue: w.blue,
      initData,
      evidenceHash: EVIDENCE,
    });

    async function coupled() {
      const v4 = await adoptedV4();
      const store = (await at(w.ethers, "BoxV2", w.proxy)).interface.encodeFunctionData("store", [7]);
      const receipt = await send(asApprover().promoteBatch([item(w.proxy), item(v4.proxy, store)]));
      return { v4, receipt, members: [w.proxy, v4.proxy] };
    }

    it("shares one release id and logs each proxy's initData hash", async function () {
      const { receipt, members, v4 } = await coupled();
      const releaseId = await w.sw.releaseCount();
      const promoted = eventsOf(receipt, w.sw, "Promoted");
      const store = (await at(w.ethers, "BoxV2", w.proxy)).interface.encodeFunctionData("store", [7]);
      expect(promoted.map((e) => [e[0], e[7], e[8]])).to.deep.equal([
        [w.proxy, keccak256("0x"), releaseId],
        [v4.proxy, keccak256(store), releaseId],
      ]);
      expect(await w.sw.releaseProxies(w.proxy)).to.deep.equal(members);
      expect(await w.sw.releaseProxies(v4.proxy)).to.deep.equal(members);
    });

    it("a guardian's rollback of one proxy schedules, and then rolls back, all of them", async function () {
      const { members } = await coupled();
      const scheduled = await send(asGuardian().scheduleRollback(members[1]!));
      expect(eventsOf(scheduled, w.sw, "RollbackScheduled").map((e) => e[0])).to.deep.equal(members);
      for (const p of members) expect(await status(p)).to.equal(STATUS.RollbackScheduled);
      await increaseTime(w, DELAY);
      const rolled = await send(as(w.stranger).executeRollback(members[0]!));
      expect(eventsOf(rolled, w.sw, "RolledBack").map((e) => [e[0], e[2]])).to.deep.equal(members.map((p) => [p, w.blue]));
      for (const p of members) {
        expect(await status(p)).to.equal(STATUS.RolledBack);
        expect(await implementationOf(p)).to.equal(w.blue);
      }
    });

    it("a veto, rollbackNow and finalize act on the whole release too", async function () {
      const { members } = await coupled();
      await send(asGuardian().scheduleRollback(members[0]!));
      const vetoed = await send(asApprover().cancelRollback(members[1]!));
      expect(eventsOf(vetoed, w.sw, "RollbackCancelled").map((e) => e[0])).to.deep.equal(members);
      const finalized = await send(asApprover().finalize(members[1]!));
      expect(eventsOf(finalized, w.sw, "Finalized").map((e) => e[0])).to.deep.equal(members);
      for (const p of members) expect(await status(p)).to.equal(STATUS.Finalized);
    });

    it("rollbackNow of one proxy moves every proxy of the release back", async function () {
      const { members } = await coupled();
      await send(asApprover().rollbackNow(members[0]!));
      for (const p of members) expect(await implementationOf(p)).to.equal(w.blue);
    });

    it("releasing one proxy's ProxyAdmin cancels the release's pending rollback with events, logs the proxy, and keeps the rest coupled", async function () {
      const third = await adoptedV5();
      const v4 = await adoptedV4();
      await send(asApprover().promoteBatch([item(w.proxy), item(v4.proxy), item(third.proxy)]));
      await send(asGuardian().scheduleRollback(w.proxy));
      const receipt = await send(asApprover().release(v4.proxyAdmin, await a(w.owner)));
      expect(eventsOf(receipt, w.sw, "RollbackCancelled").map((e) => e[0])).to.deep.equal([w.proxy, v4.proxy, third.proxy]);
      expect(eventsOf(receipt, w.sw, "ProxyReleased")).to.deep.equal([[v4.proxy, v4.proxyAdmin, await a(w.owner), STATUS.Live]]);
      expect(eventsOf(receipt, w.sw, "Released")).to.deep.equal([[v4.proxyAdmin, await a(w.owner)]]);
      expect(await w.sw.releaseProxies(w.proxy)).to.deep.equal([w.proxy, third.proxy]);
      await send(asApprover().rollbackNow(third.proxy));
      expect([await implementationOf(w.proxy), await implementationOf(third.proxy), await implementationOf(v4.proxy)]).to.deep.equal([w.blue, w.blue, w.green]);
    });

    it("a batch of one is an ordinary single release", async function () {
      await send(asApprover().promoteBatch([item(w.proxy)]));
      expect(await w.sw.releaseProxies(w.proxy)).to.deep.equal([w.proxy]);
    });
  });
});
