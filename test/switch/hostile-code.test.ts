/**
 * The switch against code that changes after it was checked, upgrades that do
 * not take, and ProxyAdmins that are not the proxy's admin (issue 14).
 */
import { expect } from "chai";
import { type Contract, Wallet, concat, getAddress, keccak256 } from "ethers";

import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { releaseStatus } from "../../src/status/release-status.js";
import { ReleaseStore } from "../../src/release/store.js";
import { compareProxyWithRecord } from "../../src/switch/proxy-drift.js";
import { SWITCH_FILE_SCHEMA_VERSION, writeSwitchFile } from "../../src/switch/switch-file.js";
import { stagedRecord } from "../helpers/record-fixture.js";
import {
  ADMIN_SLOT,
  DELAY,
  EVIDENCE,
  IMPLEMENTATION_SLOT,
  STATUS,
  V5_ADMIN,
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

describe("BlueGreenSwitch against hostile or broken code", function () {
  let w: World;
  before(async () => {
    w = await switchWorld();
  });
  isolateEach(() => w);

  const a = (s: { getAddress(): Promise<string> }) => addr(s);
  const asApprover = () => asSigner(w.sw, w.approver);
  const asGuardian = () => asSigner(w.sw, w.guardian);
  const revert = (p: Promise<unknown>, name: string, args?: unknown[]) => expectRevert(w.errors, p, name, args);
  const implementationOf = (proxy: string) => slotAddress(w.ethers, proxy, IMPLEMENTATION_SLOT);
  const codehashOf = async (address: string) => keccak256(await w.ethers.provider.getCode(address));
  const setCode = (address: string, code: string) =>
    w.connection.provider.request({ method: "hardhat_setCode", params: [address, code] });
  /** EIP-7702 delegation code, as an account delegated to `target` reads under Prague. */
  const delegationTo = (target: string) => concat(["0xef0100", target]);

  async function v4Proxy(implementation = w.blue) {
    const admin = await deploy(w.ethers, "ProxyAdminV4", [], w.owner);
    const proxy = await addr(await deploy(w.ethers, "TransparentProxyV4", [implementation, admin.target, "0x"], w.owner));
    await send((admin.connect(w.owner) as Contract).transferOwnership(w.sw.target));
    return { proxy, proxyAdmin: await addr(admin) };
  }

  async function adoptedV4(implementation = w.blue) {
    const v4 = await v4Proxy(implementation);
    await send(asApprover().adopt(v4.proxy, v4.proxyAdmin, implementation));
    return v4;
  }

  describe("EIP-7702 delegated accounts", function () {
    it("refuses a delegated green even when its hash is the pinned one", async function () {
      const delegated = Wallet.createRandom().address;
      await setCode(delegated, delegationTo(w.green));
      const pinned = await codehashOf(delegated);
      await revert(asApprover().promote(w.proxy, delegated, pinned, w.blue, "0x", EVIDENCE), "DelegatedCode", [delegated]);
      expect(await implementationOf(w.proxy)).to.equal(w.blue);
    });

    it("refuses a real type-4 delegated account as green, in a batch too", async function () {
      const key = Wallet.createRandom().connect(w.ethers.provider);
      await w.connection.provider.request({ method: "hardhat_setBalance", params: [key.address, "0xde0b6b3a7640000"] });
      const auth = await key.authorize({ address: w.green, nonce: 1 });
      // Sent to someone else: a call to itself would run the delegated code.
      await send(key.sendTransaction({ type: 4, to: await a(w.stranger), authorizationList: [auth] }));
      expect(await w.ethers.provider.getCode(key.address)).to.equal(delegationTo(w.green).toLowerCase());
      const pinned = await codehashOf(key.address);
      const promotion = { proxy: w.proxy, green: key.address, greenCodehash: pinned, expectedBlue: w.blue, initData: "0x", evidenceHash: EVIDENCE };
      await revert(asApprover().promoteBatch([promotion]), "DelegatedCode", [key.address]);
    });

    it("refuses to adopt a proxy stated to run a delegated implementation", async function () {
      const { proxy, proxyAdmin } = await v5Box(w, w.blue);
      await send((await at(w.ethers, V5_ADMIN, proxyAdmin, w.owner)).transferOwnership(w.sw.target));
      const delegated = Wallet.createRandom().address;
      await setCode(delegated, delegationTo(w.blue));
      await revert(asApprover().adopt(proxy, proxyAdmin, delegated), "DelegatedCode", [delegated]);
      expect(await w.sw.isAdopted(proxy)).to.equal(false);
    });

    it("refuses to promote over a blue that has become delegated code", async function () {
      await setCode(w.blue, delegationTo(w.green));
      await revert(asApprover().promote(w.proxy, w.green, w.greenCodehash, w.blue, "0x", EVIDENCE), "DelegatedCode", [w.blue]);
    });
  });

  describe("code that disappears", function () {
    it("refuses to promote over a blue without code, so no rollback can aim at nothing", async function () {
      await setCode(w.blue, "0x");
      await revert(asApprover().promote(w.proxy, w.green, w.greenCodehash, w.blue, "0x", EVIDENCE), "NotAContract", [w.blue]);
    });

    it("lets the approver cancel a due rollback that cannot run because blue lost its code; then finalize", async function () {
      await send(asApprover().promote(w.proxy, w.green, w.greenCodehash, w.blue, "0x", EVIDENCE));
      await send(asGuardian().scheduleRollback(w.proxy));
      await setCode(w.blue, "0x");
      await increaseTime(w, DELAY);
      await revert(asSigner(w.sw, w.stranger).executeRollback(w.proxy), "ERC1967InvalidImplementation", [w.blue]);
      expect((await w.sw.proxyState(w.proxy)).status).to.equal(STATUS.RollbackScheduled);
      const receipt = await send(asApprover().cancelRollback(w.proxy));
      expect(eventsOf(receipt, w.sw, "RollbackCancelled")).to.deep.equal([[w.proxy, await a(w.approver)]]);
      await send(asApprover().finalize(w.proxy));
      expect((await w.sw.proxyState(w.proxy)).status).to.equal(STATUS.Finalized);
      expect(await implementationOf(w.proxy)).to.equal(w.green);
    });

    it("a green destroyed in the transaction that promoted it leaves code-less green: status reports it, and the rollback to blue still works", async function () {
      const approverContract = await deploy(w.ethers, "VanishingGreenApprover");
      const sw = await deploy(w.ethers, "BlueGreenSwitch", [approverContract.target, [], DELAY, 7 * 24 * 3600]);
      const { proxy, proxyAdmin } = await v5Box(w, w.blue);
      await send((await at(w.ethers, V5_ADMIN, proxyAdmin, w.owner)).transferOwnership(sw.target));
      // The approver is a contract; adopting through it by impersonation keeps the double small.
      const adoptData = sw.interface.encodeFunctionData("adopt", [proxy, proxyAdmin, w.blue]);
      await w.connection.provider.request({ method: "hardhat_impersonateAccount", params: [approverContract.target] });
      await w.connection.provider.request({ method: "hardhat_setBalance", params: [approverContract.target, "0xde0b6b3a7640000"] });
      const asContract = await w.ethers.getSigner(approverContract.target as string);
      await send(asContract.sendTransaction({ to: sw.target, data: adoptData }));
      await w.connection.provider.request({ method: "hardhat_stopImpersonatingAccount", params: [approverContract.target] });

      await send((approverContract.connect(w.stranger) as Contract).promoteAndVanish(sw.target, proxy, w.blue, EVIDENCE));
      const s = await sw.proxyState(proxy);
      expect(await w.ethers.provider.getCode(s.green)).to.equal("0x");
      expect(await implementationOf(proxy)).to.equal(getAddress(s.green));

      const drift = await compareProxyWithRecord(w.connection.provider, { proxy, proxyAdmin, implementation: s.implementation });
      expect(drift.ok).to.equal(false);
      expect(drift.findings.map((f) => f.kind)).to.deep.equal(["implementation-without-code"]);

      await w.connection.provider.request({ method: "hardhat_impersonateAccount", params: [approverContract.target] });
      await send(asContract.sendTransaction({ to: sw.target, data: sw.interface.encodeFunctionData("rollbackNow", [proxy]) }));
      expect(await implementationOf(proxy)).to.equal(w.blue);
      expect((await compareProxyWithRecord(w.connection.provider, { proxy, proxyAdmin, implementation: w.blue })).ok).to.equal(true);
    });
  });

  describe("greens that write the proxy's slots", function () {
    it("v4: a promote whose initData moves the admin slot reverts instead of recording green", async function () {
      const { proxy, proxyAdmin } = await adoptedV4();
      const writer = await deploy(w.ethers, "SlotWritingGreen");
      const init = writer.interface.encodeFunctionData("writeAdminSlot", [await a(w.stranger)]);
      await revert(
        asApprover().promote(proxy, writer.target, await codehashOf(writer.target as string), w.blue, init, EVIDENCE),
        "ProxyNotAsRecorded",
        [proxy, writer.target, "0x0000000000000000000000000000000000000000", "0x0000000000000000000000000000000000000000"],
      );
      expect(await implementationOf(proxy)).to.equal(w.blue);
      expect(await slotAddress(w.ethers, proxy, ADMIN_SLOT)).to.equal(proxyAdmin);
    });

    it("v4: a rollback after green moved the admin slot reverts instead of being a silent no-op", async function () {
      const { proxy } = await adoptedV4();
      const writer = await deploy(w.ethers, "SlotWritingGreen");
      await send(asApprover().promote(proxy, writer.target, await codehashOf(writer.target as string), w.blue, "0x", EVIDENCE));
      // Anyone can call green through the proxy; this one hands the admin slot away.
      await send((await at(w.ethers, "SlotWritingGreen", proxy, w.stranger)).writeAdminSlot(await a(w.stranger)));
      await revert(asApprover().rollbackNow(proxy), "ProxyNotAsRecorded");
      const s = await w.sw.proxyState(proxy);
      expect([s.status, s.implementation]).to.deep.equal([STATUS.Live, getAddress(writer.target as string)]);
      expect(await implementationOf(proxy)).to.equal(getAddress(writer.target as string));
    });

    it("v4: refuses to promote over a proxy whose implementation slot green rewrote (stale blue)", async function () {
      const { proxy } = await adoptedV4();
      const writer = await deploy(w.ethers, "SlotWritingGreen");
      await send(asApprover().promote(proxy, writer.target, await codehashOf(writer.target as string), w.blue, "0x", EVIDENCE));
      await send(asApprover().finalize(proxy));
      const third = await addr(await deploy(w.ethers, "BoxV2"));
      await send((await at(w.ethers, "SlotWritingGreen", proxy, w.stranger)).writeImplementationSlot(third));
      await revert(
        asApprover().promote(proxy, w.green, w.greenCodehash, writer.target, "0x", EVIDENCE),
        "ProxyNotAsRecorded",
        [proxy, writer.target, third, (await w.sw.proxyState(proxy)).proxyAdmin],
      );
    });

    it("v5: a green that rewrites the implementation slot is caught off chain as a critical mismatch", async function () {
      const writer = await deploy(w.ethers, "SlotWritingGreen");
      await send(asApprover().promote(w.proxy, writer.target, await codehashOf(writer.target as string), w.blue, "0x", EVIDENCE));
      const record = { proxy: w.proxy, proxyAdmin: w.proxyAdmin, implementation: getAddress(writer.target as string) };
      expect((await compareProxyWithRecord(w.connection.provider, record)).ok).to.equal(true);
      const third = await addr(await deploy(w.ethers, "BoxV2"));
      await send((await at(w.ethers, "SlotWritingGreen", w.proxy, w.stranger)).writeImplementationSlot(third));
      const drift = await compareProxyWithRecord(w.connection.provider, record);
      expect(drift.ok).to.equal(false);
      expect(drift.findings).to.deep.equal([
        { kind: "implementation-drift", severity: "critical", slot: "implementation", recorded: record.implementation, onChain: third, message: drift.findings[0]!.message },
      ]);
      expect(drift.findings[0]!.message).to.match(/critical/i);
    });

    it("bg:status reports a proxy whose slots left the switch's record as critical drift", async function () {
      const writer = await deploy(w.ethers, "SlotWritingGreen");
      const writerAddress = getAddress(writer.target as string);
      await send(asApprover().promote(w.proxy, writerAddress, await codehashOf(writerAddress), w.blue, "0x", EVIDENCE));
      const chainId = Number((await w.ethers.provider.getNetwork()).chainId);
      const store = new ReleaseStore(await mkdtemp(path.join(tmpdir(), "bg-drift-")));
      const record = {
        ...stagedRecord("slot-writer", chainId),
        state: "live" as const,
        proxy: w.proxy,
        admin: w.proxyAdmin,
        blue: { address: w.blue, codehash: await codehashOf(w.blue) },
      };
      record.green = { ...record.green, address: writerAddress, codehash: await codehashOf(writerAddress) };
      await store.update(chainId, record.id, () => record);
      await writeSwitchFile(store, {
        schemaVersion: SWITCH_FILE_SCHEMA_VERSION,
        chainId,
        address: getAddress(w.sw.target as string),
        approver: await a(w.approver),
        guardians: [await a(w.guardian)],
        rollbackDelay: DELAY,
        rollbackWindow: 7 * 24 * 3600,
        deployTx: "0x" + "11".repeat(32),
        blockNumber: 1,
        deployedAt: new Date(0).toISOString(),
      });
      const clean = await releaseStatus(w.connection.provider, store, process.cwd(), record.id);
      expect(clean.releases[0]!.drift).to.deep.equal([]);

      const third = await addr(await deploy(w.ethers, "BoxV2"));
      await send((await at(w.ethers, "SlotWritingGreen", w.proxy, w.stranger)).writeImplementationSlot(third));
      const status = await releaseStatus(w.connection.provider, store, process.cwd(), record.id);
      const critical = status.releases[0]!.drift.filter((d) => d.severity === "critical");
      expect(critical.map((d) => [d.field, d.recorded, d.onChain])).to.deep.equal([["switch-record", writerAddress, third]]);
      expect(critical[0]!.message).to.match(/^Critical: proxy .* runs .* but the switch records/);
    });

    it("v5: a green that rewrites the admin slot is caught off chain too", async function () {
      const writer = await deploy(w.ethers, "SlotWritingGreen");
      await send(asApprover().promote(w.proxy, writer.target, await codehashOf(writer.target as string), w.blue, "0x", EVIDENCE));
      await send((await at(w.ethers, "SlotWritingGreen", w.proxy, w.stranger)).writeAdminSlot(await a(w.stranger)));
      const drift = await compareProxyWithRecord(w.connection.provider, { proxy: w.proxy, proxyAdmin: w.proxyAdmin, implementation: getAddress(writer.target as string) });
      expect(drift.findings.map((f) => [f.kind, f.severity])).to.deep.equal([["admin-drift", "critical"]]);
    });
  });

  describe("adoption proof", function () {
    it("v5: refuses a ProxyAdmin that is not the proxy's admin even when the implementation accepts any call", async function () {
      const permissive = await addr(await deploy(w.ethers, "PermissiveImplementation"));
      const { proxy } = await v5Box(w, w.blue);
      // Point the proxy at the permissive code with its own (real) admin, then try to adopt it with another proxy's admin.
      const realAdmin = await slotAddress(w.ethers, proxy, ADMIN_SLOT);
      await send((await at(w.ethers, V5_ADMIN, realAdmin, w.owner)).upgradeAndCall(proxy, permissive, "0x"));
      const stranger = await v5Box(w, w.blue);
      await send((await at(w.ethers, V5_ADMIN, stranger.proxyAdmin, w.owner)).transferOwnership(w.sw.target));
      await revert(asApprover().adopt(proxy, stranger.proxyAdmin, permissive), "ProxyAdminMismatch", [
        proxy,
        stranger.proxyAdmin,
        "0x0000000000000000000000000000000000000000",
      ]);
      expect(await w.sw.isAdopted(proxy)).to.equal(false);
      expect(await implementationOf(proxy)).to.equal(permissive);
    });

    it("v5: adopts with the real admin, leaving the proxy on the stated implementation, and logs the admin version", async function () {
      const { proxy, proxyAdmin } = await v5Box(w, w.blue);
      await send((await at(w.ethers, V5_ADMIN, proxyAdmin, w.owner)).transferOwnership(w.sw.target));
      const receipt = await send(asApprover().adopt(proxy, proxyAdmin, w.blue));
      expect(eventsOf(receipt, w.sw, "Adopted")).to.deep.equal([[getAddress(proxy), proxyAdmin, w.blue, 5n]]);
      expect(await implementationOf(proxy)).to.equal(w.blue);
    });

    it("v4: logs admin version 4", async function () {
      const { proxy, proxyAdmin } = await v4Proxy();
      const receipt = await send(asApprover().adopt(proxy, proxyAdmin, w.blue));
      expect(eventsOf(receipt, w.sw, "Adopted")).to.deep.equal([[getAddress(proxy), proxyAdmin, w.blue, 4n]]);
    });

    it("the probe called on the switch itself only reports the switch's own empty slots", async function () {
      const zero = "0x" + "00".repeat(32);
      await revert(w.sw.adoptionProbe(), "AdoptionProbe", [w.sw.target, zero, zero]);
    });
  });
});
