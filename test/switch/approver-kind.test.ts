/**
 * The switch's approver must be one bg:* can drive: an account without code,
 * a Safe 1.3.0 or 1.4.1, or a TimelockController. bg:init refuses any other
 * contract before deploying anything; bg:adopt refuses a switch governed by
 * one (deployed outside bg:init) before handing it any proxy, so the proxy
 * keeps its owner or admin. (A user's beacon was locked for good by a switch
 * whose approver was a router contract.)
 */
import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { ZeroAddress, ZeroHash, getAddress } from "ethers";
import { network } from "hardhat";

import { approverKindOf } from "../../src/chain/approver-kind.js";
import { createSafe, deploySafeSingletons } from "../../src/approval/deploy-safe-singletons.js";
import { BlueGreenError } from "../../src/errors.js";
import { ReleaseStore } from "../../src/release/store.js";
import { DEFAULT_UPGRADER_ROLE, adoptProxy, type AdoptProxyOptions } from "../../src/switch/adopt-proxy.js";
import { initSwitch, type SwitchParameters } from "../../src/switch/deploy-switch.js";
import { readSwitchSettings } from "../../src/switch/read-switch.js";
import { readSwitchFile } from "../../src/switch/switch-file.js";
import { DELAY, V5_ADMIN, WINDOW, type Connection, type Signer, addr, at, deploy, v5Box } from "./fixture.js";

async function refusal(p: Promise<unknown>): Promise<BlueGreenError> {
  try {
    await p;
  } catch (error) {
    if (BlueGreenError.is(error)) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("the switch's approver must be one bg:* can drive (bg:init, bg:adopt)", function () {
  let connection: Connection;
  let signers: Signer[];
  let deployer: Signer, account: Signer, guardian: Signer, owner: Signer;
  /** A contract that is neither a Safe nor a timelock (the user's "router"). */
  let router: string;
  let safe130: string, safe141: string, safe141L2: string;
  let timelock: string;
  let chainId: number;

  before(async () => {
    connection = await network.create();
    signers = await connection.ethers.getSigners();
    [deployer, account, guardian, owner] = signers as [Signer, Signer, Signer, Signer];
    chainId = Number((await connection.ethers.provider.getNetwork()).chainId);
    router = await addr(await deploy(connection.ethers, "CallForwarder"));
    const owners = await Promise.all(signers.slice(5, 8).map((s) => s.getAddress()));
    await deploySafeSingletons(deployer, ["Safe", "SafeL2", "SafeProxyFactory", "CompatibilityFallbackHandler"], "1.3.0");
    await deploySafeSingletons(deployer, ["Safe", "SafeL2", "SafeProxyFactory", "CompatibilityFallbackHandler"], "1.4.1");
    safe130 = getAddress(await createSafe(deployer, { owners, threshold: 2, version: "1.3.0" }));
    safe141 = getAddress(await createSafe(deployer, { owners, threshold: 2, version: "1.4.1" }));
    safe141L2 = getAddress(await createSafe(deployer, { owners, threshold: 2, version: "1.4.1", singleton: "SafeL2", saltNonce: 1n }));
    timelock = await addr(await deploy(connection.ethers, "ApprovalTimelock", [600, [safe141], [ZeroAddress], ZeroAddress]));
  });

  it("recognizes each kind from the chain", async () => {
    const provider = connection.ethers.provider;
    expect(await approverKindOf(provider, await account.getAddress())).to.deep.equal({ kind: "account", address: await account.getAddress() });
    for (const [safe, version] of [
      [safe130, "1.3.0"],
      [safe141, "1.4.1"],
      [safe141L2, "1.4.1"],
    ] as const) {
      const found = await approverKindOf(provider, safe);
      expect(found.kind, safe).to.equal("safe");
      expect(found.kind === "safe" && [found.safe.release, found.safe.threshold]).to.deep.equal([version, 2]);
    }
    expect(await approverKindOf(provider, timelock)).to.deep.equal({ kind: "timelock", address: timelock, minDelay: 600n });
    expect(await approverKindOf(provider, router)).to.deep.equal({ kind: "other", address: router });
  });

  describe("bg:init (initSwitch)", function () {
    let store: ReleaseStore;
    beforeEach(async () => {
      store = new ReleaseStore(await mkdtemp(path.join(tmpdir(), "bg-approver-kind-")));
    });
    const init = async (approver: string) =>
      initSwitch({
        store,
        chainId,
        networkName: "default",
        provider: connection.ethers.provider,
        signer: deployer,
        parameters: { approver, guardians: [await guardian.getAddress()], rollbackDelay: DELAY, rollbackWindow: WINDOW } satisfies SwitchParameters,
      });

    it("refuses a contract that is neither a Safe nor a TimelockController, and deploys and writes nothing", async () => {
      const nonce = await connection.ethers.provider.getTransactionCount(await deployer.getAddress());
      const error = await refusal(init(router));
      expect(error.code).to.equal("BG_SWITCH_APPROVER_KIND");
      expect(error.shortMessage).to.equal(
        `--approver ${router} is a contract, but neither a Safe (1.3.0 or 1.4.1) nor a TimelockController: hardhat-bluegreen could not make it ` +
          "approve a release, adopt a proxy or hand the switch to another approver, so a switch governed by it could never be driven. Nothing was deployed.",
      );
      expect(error.hint).to.match(/^Pass as --approver a Safe \(1\.3\.0 or 1\.4\.1\), a TimelockController .* or an account without code\.$/);
      expect(await connection.ethers.provider.getTransactionCount(await deployer.getAddress())).to.equal(nonce);
      expect(await readdir(store.root).catch(() => [])).to.deep.equal([]);
    });

    it("accepts an account, a Safe 1.3.0, a Safe 1.4.1 (Safe and SafeL2) and a TimelockController", async () => {
      for (const approver of [await account.getAddress(), safe130, safe141, safe141L2, timelock]) {
        store = new ReleaseStore(await mkdtemp(path.join(tmpdir(), "bg-approver-kind-")));
        const result = await init(approver);
        expect(result.reused, approver).to.equal(false);
        expect((await readSwitchFile(store, chainId))!.approver).to.equal(approver);
        expect((await readSwitchSettings(connection.ethers.provider, result.file.address)).approver).to.equal(approver);
      }
    });
  });

  describe("bg:adopt (adoptProxy) for a switch whose approver it cannot drive", function () {
    let switchAddress: string;
    let store: ReleaseStore;
    before(async () => {
      // Deployed directly, as bg:init no longer would.
      switchAddress = await addr(await deploy(connection.ethers, "BlueGreenSwitch", [router, [await guardian.getAddress()], DELAY, WINDOW]));
    });
    beforeEach(async () => {
      store = new ReleaseStore(await mkdtemp(path.join(tmpdir(), "bg-approver-kind-adopt-")));
    });
    const adopt = (proxy: string, overrides: Partial<AdoptProxyOptions> = {}) =>
      adoptProxy({
        provider: connection.provider,
        ethersProvider: connection.ethers.provider,
        signers,
        switchAddress,
        proxy,
        networkName: "default",
        journal: { store, chainId },
        ...overrides,
      });

    /** The refusal, with nothing sent by the owner and no journal written. */
    async function refusedUntouched(proxy: string, overrides: Partial<AdoptProxyOptions> = {}): Promise<BlueGreenError> {
      const nonce = await connection.ethers.provider.getTransactionCount(await owner.getAddress());
      const error = await refusal(adopt(proxy, overrides));
      expect(error.code).to.equal("BG_SWITCH_APPROVER_KIND");
      expect(error.shortMessage).to.contain(`The approver ${router} of the switch ${switchAddress} is a contract, but neither a Safe (1.3.0 or 1.4.1) nor a TimelockController`);
      expect(error.shortMessage).to.contain(`nothing was sent, and ${getAddress(proxy)} keeps its owner or admin.`);
      // The recovery is what really works, never the approver call the approver would have to sign.
      expect(error.hint).to.contain(`it must call proposeApprover(<new approver>) on the switch ${switchAddress} with its own means`);
      expect(error.hint).to.contain("bg:call cannot send proposeApprover for it");
      expect(error.hint).to.contain("run bg:init with such an approver");
      expect(error.message).to.not.match(/bg:call propose --function proposeApprover/);
      expect(await connection.ethers.provider.getTransactionCount(await owner.getAddress())).to.equal(nonce);
      expect(await readdir(store.root).catch(() => [])).to.deep.equal([]);
      return error;
    }

    it("transparent: refused before the ProxyAdmin's transferOwnership; the ProxyAdmin keeps its owner", async () => {
      const blue = await addr(await deploy(connection.ethers, "BoxV1"));
      const { proxy, proxyAdmin } = await v5Box({ ethers: connection.ethers, owner }, blue);
      await refusedUntouched(proxy);
      expect(await (await at(connection.ethers, V5_ADMIN, proxyAdmin)).owner()).to.equal(await owner.getAddress());
    });

    it("UUPS Ownable: refused before transferOwnership; the proxy keeps its owner", async () => {
      const blue = await addr(await deploy(connection.ethers, "UupsOwnableBoxV1"));
      const init = (await connection.ethers.getContractFactory("UupsOwnableBoxV1")).interface.encodeFunctionData("initialize", [await owner.getAddress()]);
      const proxy = await addr(await deploy(connection.ethers, "UupsBoxProxy", [blue, init], owner));
      await refusedUntouched(proxy);
      expect(await (await at(connection.ethers, "UupsOwnableBoxV1", proxy)).owner()).to.equal(await owner.getAddress());
    });

    it("UUPS AccessControl: refused before grantRole; the switch holds no upgrader role", async () => {
      const blue = await addr(await deploy(connection.ethers, "UupsRoleBoxV1"));
      const me = await owner.getAddress();
      const init = (await connection.ethers.getContractFactory("UupsRoleBoxV1")).interface.encodeFunctionData("initialize", [me, me]);
      const proxy = await addr(await deploy(connection.ethers, "UupsBoxProxy", [blue, init], owner));
      await refusedUntouched(proxy, { role: "UPGRADER_ROLE" });
      const box = await at(connection.ethers, "UupsRoleBoxV1", proxy);
      expect(await box.hasRole(DEFAULT_UPGRADER_ROLE, switchAddress)).to.equal(false);
      expect(await box.hasRole(ZeroHash, me)).to.equal(true);
    });

    it("beacon, given the beacon or one of its proxies: refused before transferOwnership; the beacon keeps its owner", async () => {
      const blue = await addr(await deploy(connection.ethers, "BeaconBoxV1"));
      const beacon = await addr(await deploy(connection.ethers, "BoxBeacon", [blue, await owner.getAddress()], owner));
      const factory = await connection.ethers.getContractFactory("BeaconBoxV1");
      const beaconProxy = await addr(await deploy(connection.ethers, "BoxBeaconProxy", [beacon, factory.interface.encodeFunctionData("initialize", [1])], owner));
      await refusedUntouched(beacon);
      await refusedUntouched(beaconProxy);
      expect(await (await at(connection.ethers, "BoxBeacon", beacon)).owner()).to.equal(await owner.getAddress());
    });

    it("a switch whose approver is a Safe or a timelock is not refused: the adopt call is left to the approval path", async () => {
      for (const approver of [safe130, safe141, timelock]) {
        const sw = await addr(await deploy(connection.ethers, "BlueGreenSwitch", [approver, [await guardian.getAddress()], DELAY, WINDOW]));
        const blue = await addr(await deploy(connection.ethers, "BoxV1"));
        const { proxy, proxyAdmin } = await v5Box({ ethers: connection.ethers, owner }, blue);
        const result = await adopt(proxy, { switchAddress: sw });
        expect(result.ok, approver).to.equal(false);
        expect(result.pending.map((p) => [p.role, p.from])).to.deep.equal([["approver", approver]]);
        expect(await (await at(connection.ethers, V5_ADMIN, proxyAdmin)).owner()).to.equal(sw);
      }
    });
  });
});
