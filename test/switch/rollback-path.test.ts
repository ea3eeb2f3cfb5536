/**
 * The rollback-path proof against real OpenZeppelin proxies adopted by a real
 * BlueGreenSwitch: a transparent v5 proxy, UUPS boxes with Ownable and
 * AccessControl authority, a beacon with its BeaconProxies, and the lockout
 * green whose `_authorizeUpgrade` refuses the switch. An in-process Hardhat
 * network stands in for the fork; one test forks a separate node with EDR.
 */
import { expect } from "chai";
import { type Contract, ZeroHash, getAddress, keccak256 } from "ethers";
import { network } from "hardhat";

import { openRollbackPathFork, proveRollbackPath, readRollbackPathTarget, rollbackPathKindOf } from "../../src/switch/rollback-path.js";
import { EVIDENCE, IMPLEMENTATION_SLOT, type World, addr, at, deploy, isolateEach, send, slotAddress, switchWorld } from "./fixture.js";
import { startNode } from "../helpers/nodes.js";

const UPGRADER_ROLE = keccak256(Buffer.from("UPGRADER_ROLE"));
const AUTHORITY = { Ownable: 0, AccessControl: 1 } as const;

describe("rollback-path proof (switch/rollback-path.ts)", function () {
  let w: World;
  before(async () => {
    w = await switchWorld();
  });
  isolateEach(() => w);

  const approver = () => w.sw.connect(w.approver) as Contract;
  const provider = () => w.connection.provider;
  const swAddress = () => addr(w.sw);
  const impl = async (name: string, args: unknown[] = []) => addr(await deploy(w.ethers, name, args));
  const abiOf = async (name: string) => (await w.ethers.getContractFactory(name)).interface.formatJson();

  async function ownableUups(): Promise<{ proxy: string; blue: string }> {
    const blue = await impl("UupsOwnableBoxV1");
    const init = (await w.ethers.getContractFactory("UupsOwnableBoxV1")).interface.encodeFunctionData("initialize", [await w.owner.getAddress()]);
    const proxy = await addr(await deploy(w.ethers, "UupsBoxProxy", [blue, init], w.owner));
    await send((await at(w.ethers, "UupsOwnableBoxV1", proxy, w.owner)).transferOwnership(w.sw.target));
    await send(approver().adoptUups(proxy, blue, AUTHORITY.Ownable, ZeroHash));
    return { proxy, blue };
  }

  async function roleUups(): Promise<{ proxy: string; blue: string }> {
    const blue = await impl("UupsRoleBoxV1");
    const init = (await w.ethers.getContractFactory("UupsRoleBoxV1")).interface.encodeFunctionData("initialize", [await w.owner.getAddress(), await swAddress()]);
    const proxy = await addr(await deploy(w.ethers, "UupsBoxProxy", [blue, init], w.owner));
    await send(approver().adoptUups(proxy, blue, AUTHORITY.AccessControl, UPGRADER_ROLE));
    return { proxy, blue };
  }

  async function beacon(): Promise<{ beacon: string; blue: string; proxies: string[] }> {
    const blue = await impl("BeaconBoxV1");
    const b = await addr(await deploy(w.ethers, "BoxBeacon", [blue, await w.owner.getAddress()], w.owner));
    const factory = await w.ethers.getContractFactory("BeaconBoxV1");
    const proxies: string[] = [];
    for (let i = 0; i < 2; i++) proxies.push(await addr(await deploy(w.ethers, "BoxBeaconProxy", [b, factory.interface.encodeFunctionData("initialize", [i + 1])], w.owner)));
    await send((await at(w.ethers, "BoxBeacon", b, w.owner)).transferOwnership(w.sw.target));
    await send(approver().adoptBeacon(b, blue));
    return { beacon: b, blue, proxies };
  }

  async function prove(proxy: string, blue: string, green: string, errors?: string) {
    const target = await readRollbackPathTarget(provider(), await swAddress(), proxy);
    expect(target, "the switch has adopted the proxy").to.not.equal(undefined);
    return proveRollbackPath({ provider: provider(), proxy, kind: target!.kind, proxyAdmin: target!.proxyAdmin, switchAddress: await swAddress(), blue, green, ...(errors !== undefined ? { errors } : {}) });
  }

  it("maps the switch's ProxyKind values to the upgrade path", () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((k) => rollbackPathKindOf(k))).to.deep.equal([undefined, "transparent-v4", "transparent-v5", "uups", "uups", "beacon", undefined]);
  });

  it("passes a transparent v5 proxy through its ProxyAdmin, and leaves the chain as it was", async () => {
    const result = await prove(w.proxy, w.blue, w.green);
    expect(result).to.deep.include({ ok: true, kind: "transparent-v5" });
    expect(result.steps.map((s) => [s.step, s.outcome, s.to])).to.deep.equal([
      ["switch-in", "done", w.green],
      ["rollback", "done", w.blue],
      ["re-promote", "done", w.green],
    ]);
    // The proof snapshots and reverts: the network the caller gave still runs blue.
    expect(await slotAddress(w.ethers, w.proxy, IMPLEMENTATION_SLOT)).to.equal(w.blue);
  });

  it("passes a UUPS Ownable box whose green keeps the owner's authority", async () => {
    const { proxy, blue } = await ownableUups();
    const green = await impl("UupsOwnableBoxV2");
    const result = await prove(proxy, blue, green);
    expect(result).to.deep.include({ ok: true, kind: "uups" });
    expect(result.steps.map((s) => s.outcome)).to.deep.equal(["done", "done", "done"]);
    expect(await slotAddress(w.ethers, proxy, IMPLEMENTATION_SLOT)).to.equal(blue);
  });

  it("passes a UUPS AccessControl box whose green keeps the upgrader role", async () => {
    const { proxy, blue } = await roleUups();
    const result = await prove(proxy, blue, await impl("UupsRoleBoxV2"));
    expect(result).to.deep.include({ ok: true, kind: "uups" });
  });

  it("passes a beacon, upgraded through the beacon itself", async () => {
    const b = await beacon();
    const green = await impl("BeaconBoxV2");
    const result = await prove(b.beacon, b.blue, green);
    expect(result).to.deep.include({ ok: true, kind: "beacon" });
    expect(result.steps.map((s) => s.to)).to.deep.equal([green, b.blue, green]);
    expect(await (await at(w.ethers, "BeaconBoxV1", b.proxies[1]!)).version()).to.equal("1");
  });

  it("fails the lockout green at the rollback, naming green's _authorizeUpgrade and its error", async () => {
    const { proxy, blue } = await ownableUups();
    const locker = await w.stranger.getAddress();
    const green = await impl("UupsLockoutBoxV2", [locker]);
    const result = await prove(proxy, blue, green, await abiOf("UupsLockoutBoxV2"));
    if (result.ok) expect.fail("the lockout green must fail the proof");
    expect(result.step).to.equal("rollback");
    expect(result.failure).to.equal("reverted");
    expect(result.steps.map((s) => s.step)).to.deep.equal(["switch-in"]);
    expect(result.revert?.name).to.equal("UpgradeLockedTo");
    expect(result.cause).to.equal(
      `green's _authorizeUpgrade refuses the switch (UpgradeLockedTo(${getAddress(locker)}, ${await swAddress()})): the proxy could never be rolled back or upgraded again`,
    );
    expect(await slotAddress(w.ethers, proxy, IMPLEMENTATION_SLOT)).to.equal(blue);
  });

  it("names the revert by its selector when green's ABI is not given", async () => {
    const { proxy, blue } = await ownableUups();
    const result = await prove(proxy, blue, await impl("UupsLockoutBoxV2", [await w.stranger.getAddress()]));
    if (result.ok) expect.fail("the lockout green must fail the proof");
    expect(result.step).to.equal("rollback");
    expect(result.revert?.name).to.equal("unknown");
    expect(result.cause).to.match(/^green's _authorizeUpgrade refuses the switch \(unknown error 0x[0-9a-f]{8}\)/);
  });

  it("fails a non-UUPS green at the switch-in, before any rollback", async () => {
    const { proxy, blue } = await ownableUups();
    const result = await prove(proxy, blue, await impl("UupsPlainBoxV2"));
    if (result.ok) expect.fail("a green without proxiableUUID cannot be switched in");
    expect(result.step).to.equal("switch-in");
    expect(result.revert?.name).to.equal("ERC1967InvalidImplementation");
  });

  it("skips the switch-in when green already runs (bg:gates after the switch)", async () => {
    const { proxy, blue } = await ownableUups();
    const green = await impl("UupsOwnableBoxV2");
    const codehash = keccak256(await w.ethers.provider.getCode(green));
    await send(approver().promote(proxy, green, codehash, blue, "0x", EVIDENCE));
    const result = await prove(proxy, blue, green);
    expect(result.ok).to.equal(true);
    expect(result.steps.map((s) => [s.step, s.outcome])).to.deep.equal([
      ["switch-in", "skipped"],
      ["rollback", "done"],
      ["re-promote", "done"],
    ]);
    expect(await slotAddress(w.ethers, proxy, IMPLEMENTATION_SLOT)).to.equal(green);
  });

  it("reads the kind from the switch when the caller does not give it", async () => {
    const { proxy, blue } = await ownableUups();
    const result = await proveRollbackPath({ provider: provider(), proxy, switchAddress: await swAddress(), blue, green: await impl("UupsOwnableBoxV2") });
    expect(result).to.deep.include({ ok: true, kind: "uups" });
    const transparent = await proveRollbackPath({ provider: provider(), proxy: w.proxy, switchAddress: await swAddress(), blue: w.blue, green: w.green });
    expect(transparent).to.deep.include({ ok: true, kind: "transparent-v5" });
  });

  it("reads no target for a proxy the switch has not adopted, and refuses to prove it", async () => {
    const blue = await impl("UupsOwnableBoxV1");
    const init = (await w.ethers.getContractFactory("UupsOwnableBoxV1")).interface.encodeFunctionData("initialize", [await w.owner.getAddress()]);
    const proxy = await addr(await deploy(w.ethers, "UupsBoxProxy", [blue, init], w.owner));
    expect(await readRollbackPathTarget(provider(), await swAddress(), proxy)).to.equal(undefined);
    try {
      await proveRollbackPath({ provider: provider(), proxy, switchAddress: await swAddress(), blue, green: await impl("UupsOwnableBoxV2") });
      expect.fail("a proxy the switch has not adopted cannot be proven");
    } catch (e) {
      expect((e as { code?: string }).code).to.equal("BG_ROLLBACK_PATH_NOT_ADOPTED");
    }
  });
});

describe("rollback-path proof on an EDR fork of a separate node", function () {
  this.timeout(120_000);

  it("proves a UUPS Ownable box and refuses the lockout green on a fork, leaving the node untouched", async () => {
    const node = await startNode("hardhat");
    try {
      const connection = await network.create({ network: "localhost", override: { url: node.url } });
      const { ethers } = connection;
      const [, approverSigner, guardian, stranger, owner] = await ethers.getSigners();
      const deployed = async (name: string, args: unknown[] = [], signer = owner!) => {
        const c = await ethers.deployContract(name, args, { signer });
        await c.waitForDeployment();
        return getAddress(await c.getAddress());
      };
      const sw = await deployed("BlueGreenSwitch", [await approverSigner!.getAddress(), [await guardian!.getAddress()], 3600, 7 * 24 * 3600]);
      const blue = await deployed("UupsOwnableBoxV1");
      const init = (await ethers.getContractFactory("UupsOwnableBoxV1")).interface.encodeFunctionData("initialize", [await owner!.getAddress()]);
      const proxy = await deployed("UupsBoxProxy", [blue, init]);
      await (await (await ethers.getContractAt("UupsOwnableBoxV1", proxy, owner)).transferOwnership(sw)).wait();
      await (await (await ethers.getContractAt("BlueGreenSwitch", sw, approverSigner)).adoptUups(proxy, blue, AUTHORITY.Ownable, ZeroHash)).wait();
      const good = await deployed("UupsOwnableBoxV2");
      const locked = await deployed("UupsLockoutBoxV2", [await stranger!.getAddress()]);
      const head = Number(await ethers.provider.getBlockNumber());

      for (const [green, ok] of [
        [good, true],
        [locked, false],
      ] as const) {
        const fork = await openRollbackPathFork(network, { url: node.url, blockNumber: head, chainId: 31337 });
        try {
          const target = await readRollbackPathTarget(fork.provider, sw, proxy);
          const result = await proveRollbackPath({ provider: fork.provider, proxy, kind: target!.kind, switchAddress: sw, blue, green });
          expect(result.ok).to.equal(ok);
          if (!result.ok) expect(result.cause).to.match(/^green's _authorizeUpgrade refuses the switch/);
        } finally {
          await fork.close();
        }
      }
      // The node itself was never touched: blue runs, the switch still owns the proxy.
      expect(getAddress("0x" + (await ethers.provider.getStorage(proxy, IMPLEMENTATION_SLOT)).slice(-40))).to.equal(blue);
      expect(Number(await ethers.provider.getBlockNumber())).to.equal(head);
      await connection.close();
    } finally {
      await node.stop();
    }
  });
});
