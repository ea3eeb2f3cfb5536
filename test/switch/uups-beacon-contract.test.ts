/**
 * The switch over UUPS proxies (OpenZeppelin ERC1967Proxy + UUPSUpgradeable, with
 * Ownable or AccessControl authority) and beacons (UpgradeableBeacon + BeaconProxy):
 * the same state machine as for transparent proxies, only the upgrade and the
 * authority differ. Gas of each kind's adopt/promote/rollback is printed (docs/gas.md).
 */
import { expect } from "chai";
import { type Contract, Interface, type TransactionReceipt, ZeroHash, concat, getAddress, keccak256 } from "ethers";
import { network } from "hardhat";

import {
  DELAY,
  EVIDENCE,
  IMPLEMENTATION_SLOT,
  STATUS,
  WINDOW,
  ZERO,
  type World,
  at,
  deploy,
  eventsOf,
  expectRevert,
  increaseTime,
  isolateEach,
  send,
  slotAddress,
} from "./fixture.js";
import { explainSwitchRevert } from "../../src/switch/switch-errors.js";

const KIND = { None: 0n, TransparentV4: 1n, TransparentV5: 2n, UupsOwnable: 3n, UupsAccessControl: 4n, Beacon: 5n } as const;
const AUTHORITY = { Ownable: 0, AccessControl: 1 } as const;
const UPGRADER_ROLE = keccak256(Buffer.from("UPGRADER_ROLE"));

type Connection = Awaited<ReturnType<typeof network.create>>;
type Ethers = Connection["ethers"];
type Signer = Awaited<ReturnType<Ethers["getSigners"]>>[number];

interface UupsWorld {
  connection: Connection;
  ethers: Ethers;
  approver: Signer;
  guardian: Signer;
  stranger: Signer;
  owner: Signer;
  locker: Signer;
  sw: Contract;
  errors: Interface;
}

const gas: Array<[string, bigint]> = [];

describe("BlueGreenSwitch over UUPS proxies and beacons (contract)", function () {
  let w: UupsWorld;
  before(async () => {
    const connection = await network.create();
    const { ethers } = connection;
    const [, approver, guardian, stranger, owner, locker] = await ethers.getSigners();
    const sw = await deploy(ethers, "BlueGreenSwitch", [await approver!.getAddress(), [await guardian!.getAddress()], DELAY, WINDOW]);
    const errorsOf = async (name: string) => (await ethers.getContractFactory(name)).interface.fragments.filter((f) => f.type === "error");
    const errors = new Interface([
      ...sw.interface.fragments.filter((f) => f.type === "error"),
      ...(await errorsOf("UupsLockoutBoxV2")).filter((f) => sw.interface.fragments.every((g) => g.type !== "error" || g.format("sighash") !== f.format("sighash"))),
      ...(await errorsOf("UupsRoleBoxV1")).filter((f) => f.format("sighash").startsWith("AccessControl")),
      ...(await errorsOf("BoxBeacon")).filter((f) => f.format("sighash").startsWith("BeaconInvalid")),
    ]);
    w = { connection, ethers, approver: approver!, guardian: guardian!, stranger: stranger!, owner: owner!, locker: locker!, sw, errors };
  });
  isolateEach(() => w as unknown as World);
  after(function () {
    if (gas.length === 0) return;
    console.log("\n    gas of the switch by proxy kind (gasUsed of each receipt):");
    for (const [what, used] of gas) console.log(`      ${what}: ${used}`);
  });

  const asApprover = () => w.sw.connect(w.approver) as Contract;
  const asGuardian = () => w.sw.connect(w.guardian) as Contract;
  const asStranger = () => w.sw.connect(w.stranger) as Contract;
  const revert = (p: Promise<unknown>, name: string, args?: unknown[]) => expectRevert(w.errors, p, name, args);
  const a = async (s: { getAddress(): Promise<string> }) => getAddress(await s.getAddress());
  const codehash = async (address: string) => keccak256(await w.ethers.provider.getCode(address));
  const slot = (proxy: string) => slotAddress(w.ethers, proxy, IMPLEMENTATION_SLOT);
  const time = (seconds: number) => increaseTime(w as unknown as World, seconds);
  const measured = (what: string, receipt: TransactionReceipt) => {
    if (!gas.some(([k]) => k === what)) gas.push([what, receipt.gasUsed]);
    return receipt;
  };
  const promote = (proxy: string, green: string, hash: string, blue: string, init = "0x") =>
    send(asApprover().promote(proxy, green, hash, blue, init, EVIDENCE));

  async function implementation(name: string, args: unknown[] = []): Promise<string> {
    return a(await deploy(w.ethers, name, args));
  }

  /** A UUPS Ownable box owned by `owner`, ownership then handed to the switch. */
  async function ownableProxy(blue: string): Promise<string> {
    const init = (await w.ethers.getContractFactory("UupsOwnableBoxV1")).interface.encodeFunctionData("initialize", [await a(w.owner)]);
    const proxy = await a(await deploy(w.ethers, "UupsBoxProxy", [blue, init], w.owner));
    await send((await at(w.ethers, "UupsOwnableBoxV1", proxy, w.owner)).transferOwnership(w.sw.target));
    return proxy;
  }

  /** A UUPS AccessControl box: the owner is DEFAULT_ADMIN_ROLE, the switch holds UPGRADER_ROLE. */
  async function roleProxy(blue: string): Promise<string> {
    const init = (await w.ethers.getContractFactory("UupsRoleBoxV1")).interface.encodeFunctionData("initialize", [await a(w.owner), await w.sw.getAddress()]);
    return a(await deploy(w.ethers, "UupsBoxProxy", [blue, init], w.owner));
  }

  async function beaconWith(blue: string, proxies: number): Promise<{ beacon: string; proxies: string[] }> {
    const beacon = await a(await deploy(w.ethers, "BoxBeacon", [blue, await a(w.owner)], w.owner));
    const factory = await w.ethers.getContractFactory("BeaconBoxV1");
    const list: string[] = [];
    for (let i = 0; i < proxies; i++) {
      list.push(await a(await deploy(w.ethers, "BoxBeaconProxy", [beacon, factory.interface.encodeFunctionData("initialize", [i + 1])], w.owner)));
    }
    return { beacon, proxies: list };
  }

  const version = async (name: string, proxy: string) => (await at(w.ethers, name, proxy)).version() as Promise<string>;

  it("carries the interface of the proxy kinds", function () {
    const sighashes = (type: string) => w.sw.interface.fragments.filter((f) => f.type === type).map((f) => f.format("sighash"));
    expect(sighashes("function")).to.include.members([
      "adoptUups(address,address,uint8,bytes32)",
      "adoptBeacon(address,address)",
      "proxyKind(address)",
      "upgraderRole(address)",
      "release(address,address)",
    ]);
    expect(sighashes("event")).to.include.members(["AdoptedKind(address,uint8,bytes32)", "AuthorityNotHandedBack(address,address,bool)"]);
    expect(sighashes("error")).to.include.members([
      "NotOwnable(address)",
      "NotAccessControl(address)",
      "NotUpgradeOwner(address,address)",
      "UpgraderRoleNotGranted(address,bytes32)",
      "RoleWithOwnable(address,bytes32)",
      "NotUupsImplementation(address)",
      "NotABeacon(address)",
      "BeaconNotAsRecorded(address,address,address)",
      "BeaconTakesNoInitData(address)",
      "RenounceTakesNoNewOwner(address,address)",
    ]);
    const state = w.sw.interface.getFunction("proxyState")!.outputs[0]!.components!.map((c) => c.name);
    expect(state.slice(0, 5)).to.deep.equal(["proxyAdmin", "promotedAt", "adminVersion", "status", "kind"]);
  });

  it("has a hint for a person for every custom error of the switch", function () {
    const missing = w.sw.interface.fragments
      .filter((f) => f.type === "error")
      .map((f) => f.format("sighash").split("(")[0]!)
      .filter((name) => explainSwitchRevert({ name, args: [], signature: `${name}()` }) === `The switch reverted with ${name}().`);
    expect(missing).to.deep.equal([]);
  });

  describe("UUPS, Ownable authority", function () {
    it("adopts, promotes, rolls back to exactly blue, releases again, finalizes and hands ownership back", async function () {
      const blue = await implementation("UupsOwnableBoxV1");
      const green = await implementation("UupsOwnableBoxV2");
      const proxy = await ownableProxy(blue);
      await send((await at(w.ethers, "UupsOwnableBoxV1", proxy, w.stranger)).store(7));

      const adopted = await send(asApprover().adoptUups(proxy, blue, AUTHORITY.Ownable, ZeroHash));
      expect(eventsOf(adopted, w.sw, "Adopted")).to.deep.equal([[proxy, proxy, blue, 0n]]);
      expect(eventsOf(adopted, w.sw, "AdoptedKind")).to.deep.equal([[proxy, KIND.UupsOwnable, ZeroHash]]);
      expect(eventsOf(adopted, await at(w.ethers, "UupsBoxProxy", proxy), "Upgraded")).to.deep.equal([[blue]]);
      expect(await w.sw.proxyKind(proxy)).to.equal(KIND.UupsOwnable);
      const s = await w.sw.proxyState(proxy);
      expect([s.proxyAdmin, s.kind, s.adminVersion, s.implementation]).to.deep.equal([proxy, KIND.UupsOwnable, 0n, blue]);
      expect(await w.sw.proxiesOf(proxy)).to.deep.equal([proxy]);

      const promoted = await promote(proxy, green, await codehash(green), blue);
      expect(eventsOf(promoted, w.sw, "Promoted")[0]!.slice(0, 3)).to.deep.equal([proxy, blue, green]);
      expect(await slot(proxy)).to.equal(green);
      expect(await version("UupsOwnableBoxV2", proxy)).to.equal("2");
      expect(await (await at(w.ethers, "UupsOwnableBoxV2", proxy)).value()).to.equal(7n);

      await send(asGuardian().scheduleRollback(proxy));
      await time(DELAY);
      const rolledBack = await send(asStranger().executeRollback(proxy));
      expect(eventsOf(rolledBack, w.sw, "RolledBack")[0]!.slice(0, 3)).to.deep.equal([proxy, green, blue]);
      expect(await slot(proxy)).to.equal(blue);
      expect((await w.sw.proxyState(proxy)).status).to.equal(STATUS.RolledBack);

      // A second release, finalized after its window by anyone (not the switch's first: gas comparable with docs/gas.md).
      await promote(proxy, green, await codehash(green), blue);
      await time(WINDOW);
      await send(asStranger().finalize(proxy));
      expect((await w.sw.proxyState(proxy)).status).to.equal(STATUS.Finalized);
      expect(await slot(proxy)).to.equal(green);

      const released = await send(asApprover().release(proxy, await a(w.owner)));
      expect(eventsOf(released, w.sw, "Released")).to.deep.equal([[proxy, await a(w.owner)]]);
      expect(eventsOf(released, w.sw, "ProxyReleased")).to.deep.equal([[proxy, proxy, await a(w.owner), STATUS.Finalized]]);
      const box = await at(w.ethers, "UupsOwnableBoxV2", proxy, w.owner);
      expect(await box.owner()).to.equal(await a(w.owner));
      expect(await w.sw.isAdopted(proxy)).to.equal(false);
      expect(await w.sw.proxyKind(proxy)).to.equal(KIND.None);
      // The owner upgrades by itself again.
      await send(box.upgradeToAndCall(blue, "0x"));
      expect(await slot(proxy)).to.equal(blue);
    });

    it("makes the tracked implementation true by construction: a different stated one becomes the implementation", async function () {
      const blue = await implementation("UupsOwnableBoxV1");
      const other = await implementation("UupsOwnableBoxV2");
      const proxy = await ownableProxy(blue);
      await send(asApprover().adoptUups(proxy, other, AUTHORITY.Ownable, ZeroHash));
      expect(await slot(proxy)).to.equal(other);
      expect(await w.sw.currentImplementation(proxy)).to.equal(other);
    });

    it("rolls back at once for the approver, to exactly blue", async function () {
      const blue = await implementation("UupsOwnableBoxV1");
      const green = await implementation("UupsOwnableBoxV2");
      const proxy = await ownableProxy(blue);
      await send(asApprover().adoptUups(proxy, blue, AUTHORITY.Ownable, ZeroHash));
      await promote(proxy, green, await codehash(green), blue);
      await send(asApprover().rollbackNow(proxy));
      expect(await slot(proxy)).to.equal(blue);
    });

    it("promotes a green whose _authorizeUpgrade locks the switch out, and then cannot roll it back", async function () {
      const blue = await implementation("UupsOwnableBoxV1");
      const locked = await implementation("UupsLockoutBoxV2", [await a(w.locker)]);
      const proxy = await ownableProxy(blue);
      await send(asApprover().adoptUups(proxy, blue, AUTHORITY.Ownable, ZeroHash));
      await promote(proxy, locked, await codehash(locked), blue);
      expect(await slot(proxy)).to.equal(locked);

      // What the off-chain rollback-path proof must see before promote: the simulated rollback reverts.
      await revert(asApprover().rollbackNow.staticCall(proxy), "UpgradeLockedTo", [await a(w.locker), w.sw.target]);
      await send(asGuardian().scheduleRollback(proxy));
      await time(DELAY);
      await revert(asStranger().executeRollback(proxy), "UpgradeLockedTo", [await a(w.locker), w.sw.target]);
      expect(await slot(proxy)).to.equal(locked);
      expect((await w.sw.proxyState(proxy)).status).to.equal(STATUS.RollbackScheduled);
      // The approver can only drop the rollback that cannot run; green stays.
      await send(asApprover().cancelRollback(proxy));
      expect((await w.sw.proxyState(proxy)).status).to.equal(STATUS.Live);
      // Only the locker can move the proxy now.
      await send((await at(w.ethers, "UupsLockoutBoxV2", proxy, w.locker)).upgradeToAndCall(blue, "0x"));
      expect(await slot(proxy)).to.equal(blue);
    });

    it("refuses a green that is not UUPS (it could never be upgraded again)", async function () {
      const blue = await implementation("UupsOwnableBoxV1");
      const plain = await implementation("UupsPlainBoxV2");
      const proxy = await ownableProxy(blue);
      await send(asApprover().adoptUups(proxy, blue, AUTHORITY.Ownable, ZeroHash));
      await revert(promote(proxy, plain, await codehash(plain), blue), "NotUupsImplementation", [plain]);
      expect(await slot(proxy)).to.equal(blue);
    });

    it("refuses adoption when the switch is not the owner, a role comes with Ownable, or the implementation is not UUPS", async function () {
      const blue = await implementation("UupsOwnableBoxV1");
      const plain = await implementation("UupsPlainBoxV2");
      const init = (await w.ethers.getContractFactory("UupsOwnableBoxV1")).interface.encodeFunctionData("initialize", [await a(w.owner)]);
      const notOwned = await a(await deploy(w.ethers, "UupsBoxProxy", [blue, init], w.owner));
      await revert(asApprover().adoptUups(notOwned, blue, AUTHORITY.Ownable, ZeroHash), "NotUpgradeOwner", [notOwned, await a(w.owner)]);
      const proxy = await ownableProxy(blue);
      await revert(asApprover().adoptUups(proxy, blue, AUTHORITY.Ownable, UPGRADER_ROLE), "RoleWithOwnable", [proxy, UPGRADER_ROLE]);
      await revert(asApprover().adoptUups(proxy, plain, AUTHORITY.Ownable, ZeroHash), "NotUupsImplementation", [plain]);
      await revert(asApprover().adoptUups(proxy, blue, AUTHORITY.AccessControl, UPGRADER_ROLE), "NotAccessControl", [proxy]);
      await revert(asStranger().adoptUups(proxy, blue, AUTHORITY.Ownable, ZeroHash), "NotApprover", [await a(w.stranger)]);
      await send(asApprover().adoptUups(proxy, blue, AUTHORITY.Ownable, ZeroHash));
      await revert(asApprover().adoptUups(proxy, blue, AUTHORITY.Ownable, ZeroHash), "AlreadyAdopted", [proxy, proxy]);
    });

    it("refuses EIP-7702 delegated accounts as proxy, implementation or green", async function () {
      const blue = await implementation("UupsOwnableBoxV1");
      const green = await implementation("UupsOwnableBoxV2");
      const delegated = await a(w.stranger);
      await w.connection.provider.request({ method: "hardhat_setCode", params: [delegated, concat(["0xef0100", green])] });
      const proxy = await ownableProxy(blue);
      await revert(asApprover().adoptUups(delegated, blue, AUTHORITY.Ownable, ZeroHash), "DelegatedCode", [delegated]);
      await revert(asApprover().adoptUups(proxy, delegated, AUTHORITY.Ownable, ZeroHash), "DelegatedCode", [delegated]);
      await send(asApprover().adoptUups(proxy, blue, AUTHORITY.Ownable, ZeroHash));
      await revert(promote(proxy, delegated, await codehash(delegated), blue), "DelegatedCode", [delegated]);
    });

    it("forgets a proxy whose owner green changed, logging that the authority was no longer held", async function () {
      const blue = await implementation("UupsOwnableBoxV1");
      const proxy = await ownableProxy(blue);
      await send(asApprover().adoptUups(proxy, blue, AUTHORITY.Ownable, ZeroHash));
      // Stand-in for a green that rewrote the owner: OwnableUpgradeable's ERC-7201 slot.
      const ownableSlot = "0x9016d09d72d40fdae2fd8ceac6b6234c7706214fd39c1cd1e609a0528c199300";
      await w.connection.provider.request({
        method: "hardhat_setStorageAt",
        params: [proxy, ownableSlot, "0x" + (await a(w.locker)).slice(2).toLowerCase().padStart(64, "0")],
      });
      const released = await send(asApprover().release(proxy, await a(w.owner)));
      expect(eventsOf(released, w.sw, "AuthorityNotHandedBack")).to.deep.equal([[proxy, await a(w.owner), false]]);
      expect(eventsOf(released, w.sw, "Released")).to.deep.equal([]);
      expect(await w.sw.isAdopted(proxy)).to.equal(false);
      expect(await (await at(w.ethers, "UupsOwnableBoxV1", proxy)).owner()).to.equal(await a(w.locker));
    });

    it("forgets a proxy whose green refuses the hand-back, logging it", async function () {
      const blue = await implementation("UupsOwnableBoxV1");
      const sticky = await implementation("UupsStickyOwnerGreen");
      const proxy = await ownableProxy(blue);
      await send(asApprover().adoptUups(proxy, blue, AUTHORITY.Ownable, ZeroHash));
      await promote(proxy, sticky, await codehash(sticky), blue);
      const released = await send(asApprover().release(proxy, await a(w.owner)));
      expect(eventsOf(released, w.sw, "AuthorityNotHandedBack")).to.deep.equal([[proxy, await a(w.owner), true]]);
      expect(eventsOf(released, w.sw, "ProxyReleased")).to.deep.equal([[proxy, proxy, await a(w.owner), STATUS.Live]]);
      expect(await w.sw.isAdopted(proxy)).to.equal(false);
      // The switch still owns it, untracked: it can adopt it again.
      await send(asApprover().adoptUups(proxy, sticky, AUTHORITY.Ownable, ZeroHash));
      expect(await w.sw.currentImplementation(proxy)).to.equal(sticky);
    });
  });

  describe("UUPS, AccessControl authority", function () {
    it("adopts with the role, promotes, rolls back to blue, finalizes, and renounces the role on release", async function () {
      const blue = await implementation("UupsRoleBoxV1");
      const green = await implementation("UupsRoleBoxV2");
      const proxy = await roleProxy(blue);
      const adopted = await send(asApprover().adoptUups(proxy, blue, AUTHORITY.AccessControl, UPGRADER_ROLE));
      expect(eventsOf(adopted, w.sw, "AdoptedKind")).to.deep.equal([[proxy, KIND.UupsAccessControl, UPGRADER_ROLE]]);
      expect(await w.sw.upgraderRole(proxy)).to.equal(UPGRADER_ROLE);

      await promote(proxy, green, await codehash(green), blue);
      expect(await slot(proxy)).to.equal(green);
      await send(asGuardian().scheduleRollback(proxy));
      await time(DELAY);
      await send(asStranger().executeRollback(proxy));
      expect(await slot(proxy)).to.equal(blue);

      await promote(proxy, green, await codehash(green), blue);
      await send(asApprover().finalize(proxy));
      await revert(asApprover().release(proxy, await a(w.owner)), "RenounceTakesNoNewOwner", [proxy, await a(w.owner)]);
      const released = await send(asApprover().release(proxy, ZERO));
      expect(eventsOf(released, w.sw, "Released")).to.deep.equal([[proxy, ZERO]]);
      const box = await at(w.ethers, "UupsRoleBoxV2", proxy, w.owner);
      expect(await box.hasRole(UPGRADER_ROLE, w.sw.target)).to.equal(false);
      // What remains: the DEFAULT_ADMIN_ROLE holder, who grants the upgrader role anew.
      expect(await box.hasRole(ZeroHash, await a(w.owner))).to.equal(true);
      expect(await w.sw.upgraderRole(proxy)).to.equal(ZeroHash);
      await send(box.grantRole(UPGRADER_ROLE, await a(w.owner)));
      await send(box.upgradeToAndCall(blue, "0x"));
      expect(await slot(proxy)).to.equal(blue);
    });

    it("refuses adoption without the role", async function () {
      const blue = await implementation("UupsRoleBoxV1");
      const proxy = await roleProxy(blue);
      const other = keccak256(Buffer.from("OTHER_ROLE"));
      await revert(asApprover().adoptUups(proxy, blue, AUTHORITY.AccessControl, other), "UpgraderRoleNotGranted", [proxy, other]);
      // Ownable authority on an AccessControl proxy: no owner().
      await revert(asApprover().adoptUups(proxy, blue, AUTHORITY.Ownable, ZeroHash), "NotOwnable", [proxy]);
    });

    it("forgets the proxy when its role was revoked meanwhile", async function () {
      const blue = await implementation("UupsRoleBoxV1");
      const proxy = await roleProxy(blue);
      await send(asApprover().adoptUups(proxy, blue, AUTHORITY.AccessControl, UPGRADER_ROLE));
      await send((await at(w.ethers, "UupsRoleBoxV1", proxy, w.owner)).revokeRole(UPGRADER_ROLE, w.sw.target));
      const released = await send(asApprover().release(proxy, ZERO));
      expect(eventsOf(released, w.sw, "AuthorityNotHandedBack")).to.deep.equal([[proxy, ZERO, false]]);
      expect(await w.sw.isAdopted(proxy)).to.equal(false);
    });
  });

  describe("gas by proxy kind", function () {
    it("measures adopt, promote and rollback of each kind (printed after the suite, docs/gas.md)", async function () {
      // Warm the release counter, so no figure pays for the switch's first release.
      const warmBlue = await implementation("UupsOwnableBoxV1");
      const warmGreen = await implementation("UupsOwnableBoxV2");
      const warm = await ownableProxy(warmBlue);
      await send(asApprover().adoptUups(warm, warmBlue, AUTHORITY.Ownable, ZeroHash));
      await promote(warm, warmGreen, await codehash(warmGreen), warmBlue);

      const kinds: Array<{ label: string; blue: string; green: string; unit: string; adopt: () => Promise<TransactionReceipt> }> = [];
      {
        const blue = await implementation("UupsOwnableBoxV1");
        const unit = await ownableProxy(blue);
        kinds.push({ label: "UUPS Ownable", blue, green: await implementation("UupsOwnableBoxV2"), unit, adopt: () => send(asApprover().adoptUups(unit, blue, AUTHORITY.Ownable, ZeroHash)) });
      }
      {
        const blue = await implementation("UupsRoleBoxV1");
        const unit = await roleProxy(blue);
        kinds.push({ label: "UUPS AccessControl", blue, green: await implementation("UupsRoleBoxV2"), unit, adopt: () => send(asApprover().adoptUups(unit, blue, AUTHORITY.AccessControl, UPGRADER_ROLE)) });
      }
      {
        const blue = await implementation("BeaconBoxV1");
        const { beacon: unit } = await beaconWith(blue, 3);
        await send((await at(w.ethers, "BoxBeacon", unit, w.owner)).transferOwnership(w.sw.target));
        kinds.push({ label: "beacon (3 BeaconProxy, any number costs the same)", blue, green: await implementation("BeaconBoxV2"), unit, adopt: () => send(asApprover().adoptBeacon(unit, blue)) });
      }
      for (const k of kinds) {
        measured(`adopt ${k.label}`, await k.adopt());
        const hash = await codehash(k.green);
        measured(`promote ${k.label}, first release of the proxy`, await promote(k.unit, k.green, hash, k.blue));
        measured(`scheduleRollback ${k.label}`, await send(asGuardian().scheduleRollback(k.unit)));
        await time(DELAY);
        measured(`executeRollback ${k.label}`, await send(asStranger().executeRollback(k.unit)));
        measured(`promote ${k.label}, a later release`, await promote(k.unit, k.green, hash, k.blue));
        measured(`rollbackNow ${k.label}`, await send(asApprover().rollbackNow(k.unit)));
      }
    });
  });

  describe("beacons", function () {
    it("switches every BeaconProxy at once, rolls the beacon back to exactly blue, finalizes and hands it back", async function () {
      const blue = await implementation("BeaconBoxV1");
      const green = await implementation("BeaconBoxV2");
      const { beacon, proxies } = await beaconWith(blue, 3);
      const beaconContract = await at(w.ethers, "BoxBeacon", beacon, w.owner);
      await send(beaconContract.transferOwnership(w.sw.target));

      const adopted = await send(asApprover().adoptBeacon(beacon, blue));
      expect(eventsOf(adopted, w.sw, "Adopted")).to.deep.equal([[beacon, beacon, blue, 0n]]);
      expect(eventsOf(adopted, w.sw, "AdoptedKind")).to.deep.equal([[beacon, KIND.Beacon, ZeroHash]]);
      expect(await w.sw.proxiesOf(beacon)).to.deep.equal([beacon]);

      await promote(beacon, green, await codehash(green), blue);
      expect(await beaconContract.implementation()).to.equal(green);
      for (const [i, p] of proxies.entries()) {
        expect(await version("BeaconBoxV2", p)).to.equal("2");
        expect(await (await at(w.ethers, "BeaconBoxV2", p)).value()).to.equal(BigInt(i + 1));
      }

      await send(asGuardian().scheduleRollback(beacon));
      await time(DELAY);
      await send(asStranger().executeRollback(beacon));
      expect(await beaconContract.implementation()).to.equal(blue);
      for (const p of proxies) expect(await version("BeaconBoxV1", p)).to.equal("1");

      await promote(beacon, green, await codehash(green), blue);
      await send(asApprover().rollbackNow(beacon));
      expect(await beaconContract.implementation()).to.equal(blue);
      await promote(beacon, green, await codehash(green), blue);
      await time(WINDOW);
      await send(asStranger().finalize(beacon));

      const released = await send(asApprover().release(beacon, await a(w.owner)));
      expect(eventsOf(released, w.sw, "ProxyReleased")).to.deep.equal([[beacon, beacon, await a(w.owner), STATUS.Finalized]]);
      expect(await beaconContract.owner()).to.equal(await a(w.owner));
      for (const p of proxies) expect(await version("BeaconBoxV2", p)).to.equal("2");
    });

    it("refuses a beacon it does not own, a wrong current implementation, init data, and delegations", async function () {
      const blue = await implementation("BeaconBoxV1");
      const green = await implementation("BeaconBoxV2");
      const { beacon } = await beaconWith(blue, 1);
      await revert(asApprover().adoptBeacon(beacon, blue), "NotUpgradeOwner", [beacon, await a(w.owner)]);
      await send((await at(w.ethers, "BoxBeacon", beacon, w.owner)).transferOwnership(w.sw.target));
      await revert(asApprover().adoptBeacon(beacon, green), "ImplementationMismatch", [beacon, green, blue]);
      const delegated = await a(w.stranger);
      await w.connection.provider.request({ method: "hardhat_setCode", params: [delegated, concat(["0xef0100", blue])] });
      await revert(asApprover().adoptBeacon(beacon, delegated), "DelegatedCode", [delegated]);
      await revert(asApprover().adoptBeacon(delegated, blue), "DelegatedCode", [delegated]);
      // A UUPS implementation is no beacon.
      const notBeacon = await ownableProxy(await implementation("UupsOwnableBoxV1"));
      await revert(asApprover().adoptBeacon(notBeacon, await slot(notBeacon)), "NotABeacon", [notBeacon]);

      await send(asApprover().adoptBeacon(beacon, blue));
      const init = (await w.ethers.getContractFactory("BeaconBoxV2")).interface.encodeFunctionData("store", [1]);
      await revert(promote(beacon, green, await codehash(green), blue, init), "BeaconTakesNoInitData", [beacon]);
      await revert(asStranger().promote(beacon, green, await codehash(green), blue, "0x", EVIDENCE), "NotApprover", [await a(w.stranger)]);
      await revert(promote(beacon, delegated, await codehash(delegated), blue), "DelegatedCode", [delegated]);
      expect(await (await at(w.ethers, "BoxBeacon", beacon)).implementation()).to.equal(blue);
    });

    it("reverts a promote whose beacon upgrade did not take (implementation() read back)", async function () {
      const blue = await implementation("BeaconBoxV1");
      const green = await implementation("BeaconBoxV2");
      const lazy = await a(await deploy(w.ethers, "LazyBeacon", [blue, w.sw.target]));
      await send(asApprover().adoptBeacon(lazy, blue));
      await revert(promote(lazy, green, await codehash(green), blue), "BeaconNotAsRecorded", [lazy, green, blue]);
      expect(await w.sw.currentImplementation(lazy)).to.equal(blue);
    });

    it("promotes a beacon and UUPS proxies as one coupled release, and rolls them back together", async function () {
      const beaconBlue = await implementation("BeaconBoxV1");
      const beaconGreen = await implementation("BeaconBoxV2");
      const { beacon } = await beaconWith(beaconBlue, 2);
      await send((await at(w.ethers, "BoxBeacon", beacon, w.owner)).transferOwnership(w.sw.target));
      await send(asApprover().adoptBeacon(beacon, beaconBlue));
      const blue = await implementation("UupsOwnableBoxV1");
      const green = await implementation("UupsOwnableBoxV2");
      const proxy = await ownableProxy(blue);
      await send(asApprover().adoptUups(proxy, blue, AUTHORITY.Ownable, ZeroHash));

      await send(
        asApprover().promoteBatch([
          [beacon, beaconGreen, await codehash(beaconGreen), beaconBlue, "0x", EVIDENCE],
          [proxy, green, await codehash(green), blue, "0x", EVIDENCE],
        ]),
      );
      expect(await w.sw.releaseProxies(proxy)).to.deep.equal([beacon, proxy]);
      await send(asGuardian().scheduleRollback(proxy));
      await time(DELAY);
      await send(asStranger().executeRollback(beacon));
      expect(await slot(proxy)).to.equal(blue);
      expect(await (await at(w.ethers, "BoxBeacon", beacon)).implementation()).to.equal(beaconBlue);
    });
  });
});
