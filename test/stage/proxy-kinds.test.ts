/**
 * bg:stage over every OpenZeppelin proxy kind on a separate node: UUPS
 * (Ownable and AccessControl), a beacon with several proxies (named by the
 * beacon or by any of its proxies), and the kinds it refuses with a message
 * that says what to do (a UUPS green without upgradeToAndCall, a Diamond, a
 * custom ERC-1967 proxy). bg:status --json names the kind of each.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { ContractFactory, Interface, JsonRpcProvider, getAddress, keccak256, toUtf8Bytes, type JsonRpcSigner } from "ethers";
import hre from "hardhat";
import { Manifest } from "@openzeppelin/upgrades-core";

import { BlueGreenError } from "../../src/errors.js";
import { ReleaseStore } from "../../src/release/store.js";
import { stageRelease, type StageParams } from "../../src/stage/stage-release.js";
import { releaseStatus } from "../../src/status/release-status.js";
import { openRollbackPathFork } from "../../src/switch/rollback-path.js";
import { SWITCH_STAND_IN, stagedRollbackPathProver } from "../../src/switch/staged-rollback-path.js";
import { stageJson, statusJson } from "../../src/ui/release-view.js";
import { readArtifact } from "../helpers/box.js";
import { startNode, type RunningNode } from "../helpers/nodes.js";

const stageConfig = { unsafeAllow: [], unsafeAllowRenames: false };
const UUPS_OWNABLE = "contracts/examples/uups/UupsOwnableBox.sol";
const UUPS_ROLE = "contracts/examples/uups/UupsRoleBox.sol";
const BEACON = "contracts/examples/beacon/BeaconBox.sol";
const PROXY = "contracts/examples/uups/UupsBoxProxy.sol";

describe("bg:stage over UUPS proxies and beacons (hardhat node)", function () {
  let node: RunningNode;
  let provider: JsonRpcProvider;
  let owner: JsonRpcSigner;
  let store: ReleaseStore;

  async function deploy(source: string, name: string, args: unknown[] = []): Promise<string> {
    const artifact = await readArtifact(source, name);
    const contract = await new ContractFactory(artifact.abi, artifact.bytecode, owner).deploy(...args);
    await contract.waitForDeployment();
    return getAddress(await contract.getAddress());
  }
  async function encode(source: string, name: string, fn: string, args: unknown[]): Promise<string> {
    return new ContractFactory((await readArtifact(source, name)).abi, "0x").interface.encodeFunctionData(fn, args);
  }

  before(async () => {
    node = await startNode("hardhat");
    provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    owner = await provider.getSigner(0);
  });
  after(async () => node?.stop());
  beforeEach(async () => {
    store = new ReleaseStore(await mkdtemp(path.join(tmpdir(), "bg-stage-kinds-")));
    const manifest = await Manifest.forNetwork({ send: (m: string, p: unknown[]) => provider.send(m, p) });
    await manifest.lockedRun(async () => {
      const data = await manifest.read();
      data.impls = {};
      data.proxies = [];
      await manifest.write(data);
    });
  });

  const params = (proxy: string, contract: string, reference: string, overrides: Partial<StageParams> = {}): StageParams => ({
    provider: { request: ({ method, params }) => provider.send(method, (params as unknown[]) ?? []) },
    signer: owner,
    artifacts: hre.artifacts,
    store,
    networkName: "hardhat",
    config: stageConfig,
    proxy,
    contract,
    reference,
    ...overrides,
  });

  async function refusal(p: StageParams): Promise<BlueGreenError> {
    try {
      await stageRelease(p);
    } catch (e) {
      expect(e).to.be.instanceOf(BlueGreenError);
      return e as BlueGreenError;
    }
    throw new Error("expected bg:stage to refuse");
  }

  async function statusOf(release: string) {
    const status = await releaseStatus(params("0x", "", "").provider, store, process.cwd(), release);
    return statusJson(status, "hardhat");
  }

  async function uupsOwnable(): Promise<{ proxy: string; blue: string }> {
    const blue = await deploy(UUPS_OWNABLE, "UupsOwnableBoxV1");
    const init = await encode(UUPS_OWNABLE, "UupsOwnableBoxV1", "initialize", [await owner.getAddress()]);
    return { proxy: await deploy(PROXY, "UupsBoxProxy", [blue, init]), blue };
  }

  it("stages a UUPS Ownable proxy: kind and owner recorded, validated as uups, bg:status names the kind", async () => {
    const { proxy, blue } = await uupsOwnable();
    const lines: string[] = [];
    const { record, target } = await stageRelease(params(proxy, "UupsOwnableBoxV2", "UupsOwnableBoxV1", { releaseId: "uups-ownable", log: (l) => lines.push(l) }));
    expect(record.kind).to.equal("uups");
    expect(record.proxy).to.equal(proxy);
    expect(record.blue.address).to.equal(blue);
    expect(record.admin).to.equal("0x0000000000000000000000000000000000000000");
    expect(record.uupsAuthority).to.deep.equal({ kind: "ownable", owner: getAddress(await owner.getAddress()) });
    expect(target?.kind).to.equal("uups");
    expect(lines.join("\n")).to.contain(`Proxy kind: UUPS proxy ${proxy} (Ownable, owner ${getAddress(await owner.getAddress())})`);
    const json = await statusOf("uups-ownable");
    expect(json.ok).to.equal(true);
    expect(json.releases[0]).to.include({ kind: "uups", proxy, state: "staged" });
    expect(json.releases[0]!.drift).to.deep.equal([]);
  });

  it("stages a UUPS AccessControl proxy", async () => {
    const blue = await deploy(UUPS_ROLE, "UupsRoleBoxV1");
    const me = await owner.getAddress();
    const init = await encode(UUPS_ROLE, "UupsRoleBoxV1", "initialize", [me, me]);
    const proxy = await deploy(PROXY, "UupsBoxProxy", [blue, init]);
    const { record } = await stageRelease(params(proxy, "UupsRoleBoxV2", "UupsRoleBoxV1", { releaseId: "uups-role" }));
    expect(record.kind).to.equal("uups");
    expect(record.uupsAuthority).to.deep.equal({ kind: "access-control" });
    const json = await statusOf("uups-role");
    expect(json.ok).to.equal(true);
    expect(json.releases[0]).to.include({ kind: "uups", proxy });
  });

  it("refuses, by OpenZeppelin's uups validation, a UUPS green without upgradeToAndCall", async () => {
    const { proxy } = await uupsOwnable();
    const error = await refusal(params(proxy, "UupsPlainBoxV2", "UupsOwnableBoxV1", { releaseId: "uups-plain" }));
    expect(error.code).to.equal("BG_UPGRADE_UNSAFE");
    expect(error.message).to.contain("UupsPlainBoxV2 is not upgrade-safe:");
    expect(error.message).to.contain(
      "Implementation is missing a public `upgradeTo(address)` or `upgradeToAndCall(address,bytes)` function\n" +
        "    Inherit UUPSUpgradeable to include one or both of these functions in your contract",
    );
    expect(await store.read(31337, "uups-plain")).to.equal(undefined);
  });

  describe("a beacon with three proxies", () => {
    let beacon: string;
    let blue: string;
    const proxies: string[] = [];
    before(async () => {
      blue = await deploy(BEACON, "BeaconBoxV1");
      beacon = await deploy(BEACON, "BoxBeacon", [blue, await owner.getAddress()]);
      for (let i = 0; i < 3; i++) {
        proxies.push(await deploy(BEACON, "BoxBeaconProxy", [beacon, await encode(BEACON, "BeaconBoxV1", "initialize", [i + 1])]));
      }
    });

    it("given one of its proxies, finds the beacon, says so, and releases through the beacon", async () => {
      const lines: string[] = [];
      const { record, target } = await stageRelease(params(proxies[1]!, "BeaconBoxV2", "BeaconBoxV1", { releaseId: "beacon-via-proxy", log: (l) => lines.push(l) }));
      expect(record.kind).to.equal("beacon");
      expect(record.proxy).to.equal(beacon);
      expect(record.beacon).to.deep.equal({ address: beacon, proxies: [proxies[1]] });
      expect(record.blue.address).to.equal(blue);
      expect(target?.viaBeaconProxy).to.equal(proxies[1]);
      expect(lines.join("\n")).to.contain(`beacon proxy ${proxies[1]}: found its beacon ${beacon}`);
      const stageOut = stageJson(record, { unchanged: false, greenDeployment: "deployed", ...(target !== undefined ? { target } : {}) });
      expect(stageOut).to.deep.include({ kind: "beacon", proxy: beacon, foundBeacon: { beaconProxy: proxies[1], beacon } });
      const json = await statusOf("beacon-via-proxy");
      expect(json.ok).to.equal(true);
      expect(json.releases[0]).to.include({ kind: "beacon", proxy: beacon });
      expect(json.releases[0]!.drift).to.deep.equal([]);
    });

    it("given the beacon itself, stages the same way", async () => {
      const { record } = await stageRelease(params(beacon, "BeaconBoxV2", "BeaconBoxV1", { releaseId: "beacon-direct" }));
      expect(record.kind).to.equal("beacon");
      expect(record.proxy).to.equal(beacon);
      expect(record.beacon).to.deep.equal({ address: beacon, proxies: [] });
    });

    it("bg:status reports a beacon upgraded outside the switch, and a beacon proxy moved to another beacon", async () => {
      await stageRelease(params(proxies[0]!, "BeaconBoxV2", "BeaconBoxV1", { releaseId: "beacon-drift" }));
      const snapshot = await provider.send("evm_snapshot", []);
      try {
        const other = await deploy(BEACON, "BeaconBoxV2");
        const beaconContract = new ContractFactory((await readArtifact(BEACON, "BoxBeacon")).abi, "0x", owner).attach(beacon) as any;
        await (await beaconContract.upgradeTo(other)).wait();
        // The beacon slot, bytes32(uint256(keccak256("eip1967.proxy.beacon")) - 1), rewritten as code inside the proxy could.
        await provider.send("hardhat_setStorageAt", [proxies[0], "0xa3f0ad74e5423aebfd80d3ef4346578335a9a72aeaee59ff6cb3582b35133d50", "0x" + "00".repeat(12) + other.slice(2).toLowerCase()]);
        const json = await statusOf("beacon-drift");
        expect(json.ok).to.equal(false);
        const fields = json.releases[0]!.drift.map((d) => d.field);
        expect(fields).to.include("implementation");
        expect(fields).to.include("beacon-proxy");
        expect(json.releases[0]!.drift.find((d) => d.field === "implementation")!.message).to.contain("upgraded the beacon outside the switch");
      } finally {
        await provider.send("evm_revert", [snapshot]);
      }
    });
  });

  it("refuses a Diamond-like contract (answers facets()) with what to do", async () => {
    const address = "0x00000000000000000000000000000000000d1a40";
    // PUSH1 0x20 PUSH1 0 RETURN: answers every call with one zero word, as a loupe's facets() would answer something.
    await provider.send("hardhat_setCode", [address, "0x60206000f3"]);
    const error = await refusal(params(address, "UupsOwnableBoxV2", "UupsOwnableBoxV1"));
    expect(error.code).to.equal("BG_STAGE_PROXY_DIAMOND");
    expect(error.message).to.contain("EIP-2535 Diamond");
    expect(error.message).to.contain("diamondCut");
  });

  it("refuses a custom ERC-1967 proxy (no admin, implementation not UUPS) with what to do", async () => {
    const impl = await deploy(BEACON, "BeaconBoxV1");
    const proxy = await deploy(PROXY, "UupsBoxProxy", [impl, await encode(BEACON, "BeaconBoxV1", "initialize", [5])]);
    const error = await refusal(params(proxy, "BeaconBoxV2", "BeaconBoxV1"));
    expect(error.code).to.equal("BG_STAGE_PROXY_UNSUPPORTED");
    expect(error.message).to.contain("does not answer proxiableUUID()");
  });

  it("refuses a UUPS proxy without a recognisable authority", async () => {
    // An implementation answering proxiableUUID() with the implementation slot and nothing else.
    const slot = "360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";
    const impl = "0x00000000000000000000000000000000000a0a0a";
    // PUSH32 slot PUSH1 0 MSTORE PUSH1 0x20 PUSH1 0 RETURN — but only for proxiableUUID(): other selectors revert.
    const code =
      "0x60003560e01c6352d1902d1460145760006000fd5b7f" + slot + "60005260206000f3";
    await provider.send("hardhat_setCode", [impl, code]);
    const proxyAddress = "0x00000000000000000000000000000000000b0b0b";
    // A minimal ERC-1967 proxy's state: the slot only; its code forwards nothing, which is all recognition needs.
    await provider.send("hardhat_setCode", [proxyAddress, "0x60006000fd"]);
    await provider.send("hardhat_setStorageAt", [proxyAddress, "0x" + slot, "0x" + "00".repeat(12) + impl.slice(2)]);
    const error = await refusal(params(proxyAddress, "UupsOwnableBoxV2", "UupsOwnableBoxV1"));
    expect(error.code).to.equal("BG_STAGE_UUPS_NO_AUTHORITY");
    expect(error.message).to.contain("neither owner() (Ownable) nor hasRole() (AccessControl)");
  });

  describe("the rollback-path proof, before adoption (on an EDR fork of the node)", () => {
    const prover = () => stagedRollbackPathProver({ openFork: () => openRollbackPathFork(hre.network, { url: node.url }) });
    const OWNER_ABI = new Interface(["function owner() view returns (address)", "function hasRole(bytes32,address) view returns (bool)"]);
    const ownerOf = async (proxy: string) => getAddress(OWNER_ABI.decodeFunctionResult("owner", await provider.call({ to: proxy, data: OWNER_ABI.encodeFunctionData("owner") }))[0] as string);

    it("proves an Ownable green as the future owner standing in for the switch, records it, and leaves the owner as it was", async () => {
      const { proxy } = await uupsOwnable();
      const lines: string[] = [];
      const { record } = await stageRelease(params(proxy, "UupsOwnableBoxV2", "UupsOwnableBoxV1", { releaseId: "proof-ownable", proveRollbackPath: prover(), log: (l) => lines.push(l) }));
      expect(record.steps.rollbackPath).to.deep.include({ ok: true, as: "future-authority", actor: getAddress(SWITCH_STAND_IN), steps: ["switch-in", "rollback", "re-promote"] });
      expect(lines.join("\n")).to.match(/Rollback path: proven on a fork at block \d+, acting as 0x0+b1[eE]{2}6[eE]{2}1 standing in for the switch/);
      // The proof's transfer of ownership happened on the fork only.
      expect(await ownerOf(proxy)).to.equal(getAddress(await owner.getAddress()));
    });

    it("refuses a green whose _authorizeUpgrade locks the switch out, naming the cause; green is not deployed, nothing is recorded", async () => {
      const { proxy } = await uupsOwnable();
      const nonce = await provider.getTransactionCount(await owner.getAddress());
      const error = await refusal(params(proxy, "UupsGovernedBoxV2", "UupsOwnableBoxV1", { releaseId: "proof-governed", proveRollbackPath: prover() }));
      expect(error.code).to.equal("BG_STAGE_ROLLBACK_PATH_BLOCKED");
      expect(error.message).to.contain(`UupsGovernedBoxV2 would lock the switch out of UUPS proxy ${proxy}`);
      expect(error.message).to.contain(`the rollback step failed: green's _authorizeUpgrade refuses the switch (NotGovernor(${getAddress(SWITCH_STAND_IN)}))`);
      expect(await provider.getTransactionCount(await owner.getAddress())).to.equal(nonce);
      expect(await store.read(31337, "proof-governed")).to.equal(undefined);
    });

    it("proves an AccessControl green after giving the stand-in the upgrader role in OpenZeppelin's namespaced storage, on the fork only", async () => {
      const blue = await deploy(UUPS_ROLE, "UupsRoleBoxV1");
      const me = await owner.getAddress();
      const proxy = await deploy(PROXY, "UupsBoxProxy", [blue, await encode(UUPS_ROLE, "UupsRoleBoxV1", "initialize", [me, me])]);
      const { record } = await stageRelease(params(proxy, "UupsRoleBoxV2", "UupsRoleBoxV1", { releaseId: "proof-role", proveRollbackPath: prover() }));
      expect(record.steps.rollbackPath).to.deep.include({ ok: true, as: "future-authority" });
      const role = keccak256(toUtf8Bytes("UPGRADER_ROLE"));
      const held = await provider.call({ to: proxy, data: OWNER_ABI.encodeFunctionData("hasRole", [role, SWITCH_STAND_IN]) });
      expect(BigInt(held)).to.equal(0n);
    });
  });
});
