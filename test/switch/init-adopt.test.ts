import { mkdtemp, readFile, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { type Contract, getAddress } from "ethers";
import { network } from "hardhat";

import { ReleaseStore } from "../../src/release/store.js";
import { adoptProxy, type AdoptProxyOptions } from "../../src/switch/adopt-proxy.js";
import {
  checkSwitchParameters,
  initSwitch,
  parseAddressList,
  parseDurationOption,
  type SwitchParameters,
} from "../../src/switch/deploy-switch.js";
import { readProxyRelease, readSwitchSettings } from "../../src/switch/read-switch.js";
import { SWITCH_FILE, readSwitchFile } from "../../src/switch/switch-file.js";
import { type Connection, type Signer, V5_ADMIN, addr, at, deploy, send, v5Box } from "./fixture.js";

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected a refusal");
}

describe("switch parameters (bg:init input)", function () {
  const base: SwitchParameters = {
    approver: "0x00000000000000000000000000000000000000a1",
    guardians: ["0x00000000000000000000000000000000000000b1"],
    rollbackDelay: 3600,
    rollbackWindow: 86400,
  };

  it("normalizes addresses to checksums", function () {
    const p = checkSwitchParameters(base);
    expect(p.approver).to.equal(getAddress(base.approver));
    expect(p.guardians).to.deep.equal([getAddress(base.guardians[0]!)]);
  });

  const bad: Array<[string, Partial<SwitchParameters>, RegExp]> = [
    ["a malformed approver", { approver: "0x123" }, /--approver: "0x123" is not an address/],
    ["a zero approver", { approver: "0x0000000000000000000000000000000000000000" }, /--approver is the zero address/],
    ["a bad checksum", { approver: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD" }, /invalid EIP-55 checksum/],
    ["a malformed guardian", { guardians: ["nope"] }, /--guardians: "nope" is not an address.*separated by commas/],
    ["a zero guardian", { guardians: ["0x0000000000000000000000000000000000000000"] }, /zero address/],
    ["a guardian twice", { guardians: [base.guardians[0]!, base.guardians[0]!.toUpperCase().replace("0X", "0x")] }, /twice/],
    ["a delay below 1 minute", { rollbackDelay: 59 }, /--rollback-delay 59 is out of bounds.*60 \(1 minute\)/],
    ["a delay above 7 days", { rollbackDelay: 7 * 86400 + 1 }, /--rollback-delay .* out of bounds/],
    ["a window below 1 hour", { rollbackWindow: 3599 }, /--rollback-window 3599 is out of bounds/],
    ["a window above 90 days", { rollbackWindow: 90 * 86400 + 1 }, /--rollback-window .* out of bounds/],
    ["a delay not shorter than the window", { rollbackDelay: 7200, rollbackWindow: 7200 }, /must be shorter than --rollback-window/],
  ];
  for (const [what, change, message] of bad) {
    it(`refuses ${what}, saying how to fix it`, function () {
      expect(() => checkSwitchParameters({ ...base, ...change })).to.throw(message);
    });
  }

  it("reads durations in seconds or with a unit, and lists of addresses", function () {
    expect(parseDurationOption("", "--rollback-delay", 42)).to.equal(42);
    expect(parseDurationOption("90", "--rollback-delay", 0)).to.equal(90);
    expect(parseDurationOption("15m", "--rollback-delay", 0)).to.equal(900);
    expect(parseDurationOption("1h", "--rollback-delay", 0)).to.equal(3600);
    expect(parseDurationOption("7d", "--rollback-window", 0)).to.equal(604800);
    expect(() => parseDurationOption("soon", "--rollback-delay", 0)).to.throw(/--rollback-delay "soon" is not a duration/);
    expect(parseAddressList(" 0xa, ,0xb ,")).to.deep.equal(["0xa", "0xb"]);
    expect(parseAddressList("")).to.deep.equal([]);
  });
});

describe("initSwitch and adoptProxy on an in-process chain", function () {
  let connection: Connection;
  let signers: Signer[];
  let deployer: Signer, approver: Signer, guardian: Signer, owner: Signer, outsider: Signer;
  let store: ReleaseStore;
  let chainId: number;
  let blue: string;

  before(async () => {
    connection = await network.create();
    signers = await connection.ethers.getSigners();
    [deployer, approver, guardian, owner, outsider] = signers as [Signer, Signer, Signer, Signer, Signer];
    chainId = Number((await connection.ethers.provider.getNetwork()).chainId);
    blue = await addr(await deploy(connection.ethers, "BoxV1"));
  });
  beforeEach(async () => {
    store = new ReleaseStore(await mkdtemp(path.join(tmpdir(), "bg-switch-")));
  });

  const params = async (overrides: Partial<SwitchParameters> = {}): Promise<SwitchParameters> => ({
    approver: await approver.getAddress(),
    guardians: [await guardian.getAddress()],
    rollbackDelay: 3600,
    rollbackWindow: 604800,
    ...overrides,
  });
  const init = async (overrides: Partial<SwitchParameters> = {}, lines: string[] = []) =>
    initSwitch({
      store,
      chainId,
      networkName: "default",
      provider: connection.ethers.provider,
      signer: deployer,
      parameters: await params(overrides),
      log: (l) => lines.push(l),
    });

  describe("initSwitch", function () {
    it("deploys the switch and records it in switch.json", async function () {
      const result = await init();
      expect(result.reused).to.equal(false);
      const file = await readSwitchFile(store, chainId);
      expect(file).to.deep.equal(result.file);
      expect(result.path).to.equal(path.join(store.root, String(chainId), SWITCH_FILE));
      expect(file!.approver).to.equal(await approver.getAddress());
      expect(file!.guardians).to.deep.equal([await guardian.getAddress()]);
      expect([file!.rollbackDelay, file!.rollbackWindow, file!.chainId]).to.deep.equal([3600, 604800, chainId]);
      const receipt = await connection.ethers.provider.getTransactionReceipt(file!.deployTx);
      expect(getAddress(receipt!.contractAddress!)).to.equal(file!.address);
      expect(receipt!.blockNumber).to.equal(file!.blockNumber);
      const settings = await readSwitchSettings(connection.ethers.provider, file!.address);
      expect(settings).to.deep.include({ approver: file!.approver, rollbackDelay: 3600, rollbackWindow: 604800 });
    });

    it("reuses the recorded switch when it is on chain with the same settings, and says so", async function () {
      const first = await init();
      const nonce = await connection.ethers.provider.getTransactionCount(await deployer.getAddress());
      const lines: string[] = [];
      const again = await init({}, lines);
      expect(again.reused).to.equal(true);
      expect(again.file.address).to.equal(first.file.address);
      expect(await connection.ethers.provider.getTransactionCount(await deployer.getAddress())).to.equal(nonce);
      expect(lines.join("\n")).to.match(/Reusing the switch at/);
    });

    it("refuses to silently deploy a second switch with other settings", async function () {
      const first = await init();
      const message = await refusal(init({ rollbackDelay: 60 }));
      expect(message).to.include(first.file.address);
      expect(message).to.match(/rollback delay 3600s, not 60s/);
      expect(message).to.match(/move that file away first/);
    });

    it("replaces a recorded switch whose code is gone (a restarted dev node)", async function () {
      const dir = path.join(store.root, String(chainId));
      await mkdir(dir, { recursive: true });
      const ghost = {
        schemaVersion: 1,
        chainId,
        address: "0x000000000000000000000000000000000000dEaD",
        approver: await approver.getAddress(),
        guardians: [],
        rollbackDelay: 3600,
        rollbackWindow: 604800,
        deployTx: "0x" + "11".repeat(32),
        blockNumber: 1,
        deployedAt: new Date().toISOString(),
      };
      await writeFile(path.join(dir, SWITCH_FILE), JSON.stringify(ghost));
      const lines: string[] = [];
      const result = await init({}, lines);
      expect(result.reused).to.equal(false);
      expect(result.file.address).to.not.equal(ghost.address);
      expect(lines.join("\n")).to.match(/has no code on chain/);
    });

    it("refuses a hand-broken switch.json without touching it", async function () {
      const dir = path.join(store.root, String(chainId));
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, SWITCH_FILE), JSON.stringify({ schemaVersion: 1, address: "nope" }));
      expect(await refusal(init())).to.match(/switch\.json is invalid/);
      expect(await readFile(path.join(dir, SWITCH_FILE), "utf8")).to.include("nope");
    });
  });

  describe("adoptProxy", function () {
    let switchAddress: string;
    beforeEach(async () => {
      switchAddress = (await init()).file.address;
    });

    const adopt = (proxy: string, overrides: Partial<AdoptProxyOptions> = {}) =>
      adoptProxy({
        provider: connection.provider,
        ethersProvider: connection.ethers.provider,
        signers,
        switchAddress,
        proxy,
        networkName: "default",
        ...overrides,
      });
    const without = async (...excluded: Signer[]) => {
      const gone = await Promise.all(excluded.map((s) => s.getAddress()));
      const kept: Signer[] = [];
      for (const s of signers) if (!gone.includes(await s.getAddress())) kept.push(s);
      return kept;
    };

    it("transfers the ProxyAdmin and adopts when owner and approver are local", async function () {
      const { proxy, proxyAdmin } = await v5Box({ ethers: connection.ethers, owner }, blue);
      const result = await adopt(proxy);
      expect(result).to.deep.include({
        ok: true,
        proxy: getAddress(proxy),
        proxyAdmin,
        switch: switchAddress,
        implementation: blue,
        adminVersion: 5,
        alreadyAdopted: false,
        pending: [],
      });
      expect(result.ownershipTransferTx).to.match(/^0x[0-9a-f]{64}$/);
      expect(result.adoptTx).to.match(/^0x[0-9a-f]{64}$/);
      expect(await (await at(connection.ethers, V5_ADMIN, proxyAdmin)).owner()).to.equal(switchAddress);
      const tracked = await readProxyRelease(connection.ethers.provider, switchAddress, proxy);
      expect(tracked).to.deep.include({ adopted: true, implementation: blue, status: "none", adminVersion: 5 });
    });

    it("is idempotent: a second run finds the proxy adopted and sends nothing", async function () {
      const { proxy } = await v5Box({ ethers: connection.ethers, owner }, blue);
      await adopt(proxy);
      const again = await adopt(proxy);
      expect(again).to.deep.include({ ok: true, alreadyAdopted: true, pending: [] });
      expect(again.adoptTx).to.equal(undefined);
      expect(again.ownershipTransferTx).to.equal(undefined);
    });

    it("stops with the exact calls to make when the ProxyAdmin owner is not local; they complete the adoption", async function () {
      const { proxy, proxyAdmin } = await v5Box({ ethers: connection.ethers, owner }, blue);
      const result = await adopt(proxy, { signers: await without(owner) });
      expect(result.ok).to.equal(false);
      expect(result.pending.map((p) => [p.role, p.from, p.to])).to.deep.equal([
        ["proxy-admin-owner", await owner.getAddress(), proxyAdmin],
      ]);
      expect(result.pending[0]!.description).to.match(/transferOwnership/);
      expect(result.error).to.match(/belongs to .*, which is not a local account.*Then run bg:adopt again/);
      expect(await (await at(connection.ethers, V5_ADMIN, proxyAdmin)).owner()).to.equal(await owner.getAddress());
      // The owner signs exactly what was printed; then the approver adopts.
      await send(owner.sendTransaction({ to: result.pending[0]!.to, data: result.pending[0]!.data }));
      const resumed = await adopt(proxy);
      expect(resumed).to.deep.include({ ok: true, alreadyAdopted: false });
      expect(resumed.ownershipTransferTx).to.equal(undefined);
    });

    it("transfers ownership but prints the adopt call when the approver is not local (a Safe)", async function () {
      const { proxy, proxyAdmin } = await v5Box({ ethers: connection.ethers, owner }, blue);
      const result = await adopt(proxy, { signers: await without(approver) });
      expect(result.ok).to.equal(false);
      expect(result.ownershipTransferTx).to.match(/^0x/);
      expect(result.pending).to.have.length(1);
      const call = result.pending[0]!;
      expect([call.role, call.from, call.to, call.value]).to.deep.equal(["approver", await approver.getAddress(), switchAddress, "0"]);
      expect(result.error).to.match(/Safe/);
      const sw = await at(connection.ethers, "BlueGreenSwitch", switchAddress);
      expect(sw.interface.parseTransaction({ data: call.data })!.args.toArray()).to.deep.equal([getAddress(proxy), proxyAdmin, blue]);
      await send(approver.sendTransaction({ to: call.to, data: call.data }));
      expect((await adopt(proxy)).alreadyAdopted).to.equal(true);
    });

    it("lists both calls when neither the owner nor the approver is local", async function () {
      const { proxy, proxyAdmin } = await v5Box({ ethers: connection.ethers, owner }, blue);
      const result = await adopt(proxy, { signers: await without(owner, approver) });
      expect(result.ok).to.equal(false);
      expect(result.pending.map((p) => [p.role, p.from, p.to])).to.deep.equal([
        ["proxy-admin-owner", await owner.getAddress(), proxyAdmin],
        ["approver", await approver.getAddress(), switchAddress],
      ]);
      expect(result.error).to.match(/sends call 2/);
    });

    it("asks an older switch's approver to release the ProxyAdmin to the new switch", async function () {
      const { proxy, proxyAdmin } = await v5Box({ ethers: connection.ethers, owner }, blue);
      const older = await deploy(connection.ethers, "BlueGreenSwitch", [await outsider.getAddress(), [], 60, 3600]);
      await send((await at(connection.ethers, V5_ADMIN, proxyAdmin, owner)).transferOwnership(older.target));
      const result = await adopt(proxy, { signers: await without(outsider) });
      expect(result.ok).to.equal(false);
      const call = result.pending[0]!;
      expect([call.role, call.from, call.to]).to.deep.equal(["proxy-admin-owner", await outsider.getAddress(), getAddress(older.target as string)]);
      expect(older.interface.parseTransaction({ data: call.data })!.name).to.equal("release");
      await send(outsider.sendTransaction({ to: call.to, data: call.data }));
      expect((await adopt(proxy)).ok).to.equal(true);
    });

    it("adopts a proxy of an OpenZeppelin v4 ProxyAdmin", async function () {
      const admin = await deploy(connection.ethers, "ProxyAdminV4", [], owner);
      const init_ = (await at(connection.ethers, "BoxV1", blue)).interface.encodeFunctionData("initialize", [await owner.getAddress()]);
      const proxy = await addr(await deploy(connection.ethers, "TransparentProxyV4", [blue, admin.target, init_], owner));
      const result = await adopt(proxy);
      expect(result).to.deep.include({ ok: true, adminVersion: 4, proxyAdmin: getAddress(admin.target as string) });
      expect(await (admin as Contract).owner()).to.equal(switchAddress);
    });

    it("refuses an address that is not a transparent proxy, and a switch address that is not a switch", async function () {
      expect(await refusal(adopt(blue))).to.match(/not an ERC-1967 proxy/);
      const { proxy } = await v5Box({ ethers: connection.ethers, owner }, blue);
      expect(await refusal(adopt(proxy, { switchAddress: blue }))).to.match(/is not a BlueGreenSwitch/);
    });
  });
});
