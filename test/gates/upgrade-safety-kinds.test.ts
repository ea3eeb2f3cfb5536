/**
 * The upgradeSafety gate re-reads what the release's target runs, the one
 * way for its kind: a beacon has no ERC-1967 implementation slot (its
 * `implementation()` answers), a UUPS proxy has one. Reading a beacon's slot
 * gave the zero address, so every beacon release failed with BG_BLUE_MOVED.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { type Contract, getAddress } from "ethers";
import hre from "hardhat";

import { evaluateLiveUpgradeSafetyGate } from "../../src/gates/safety-gates.js";
import type { ProjectChain } from "../../src/gates/project-chain.js";
import type { ReleaseRecord } from "../../src/release/record.js";
import { ReleaseStore } from "../../src/release/store.js";
import { stageRelease } from "../../src/stage/stage-release.js";

type Connection = Awaited<ReturnType<typeof hre.network.create>>;

const stageConfig = { unsafeAllow: [], unsafeAllowRenames: false };

describe("the upgradeSafety gate on beacon and UUPS releases", function () {
  this.timeout(120_000);
  let connection: Connection;
  let root: string;
  let store: ReleaseStore;
  let chain: ProjectChain;

  before(async () => {
    connection = await hre.network.create();
    root = await mkdtemp(path.join(tmpdir(), "bg-safety-kinds-"));
    store = new ReleaseStore(path.join(root, ".bluegreen"));
    chain = { provider: connection.provider, artifacts: hre.artifacts, store, stageConfig, buildProfile: "default" };
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
    await connection.close();
  });

  async function deploy(name: string, args: unknown[] = []): Promise<Contract> {
    const c = await connection.ethers.deployContract(name, args);
    await c.waitForDeployment();
    return c as unknown as Contract;
  }
  const addressOf = async (c: Contract) => getAddress(await c.getAddress());

  async function stage(proxy: string, contract: string, reference: string, releaseId: string): Promise<ReleaseRecord> {
    const [signer] = await connection.ethers.getSigners();
    const { record } = await stageRelease({
      provider: connection.provider,
      signer: signer!,
      artifacts: hre.artifacts,
      store,
      networkName: connection.networkName,
      config: stageConfig,
      proxy,
      contract,
      reference,
      releaseId,
    });
    return record;
  }

  const gate = (record: ReleaseRecord) => evaluateLiveUpgradeSafetyGate(record, { required: true }, chain);

  it("beacon: passes while the beacon points at blue (and after the switch, at green); BG_BLUE_MOVED when the beacon really moved", async () => {
    const [owner] = await connection.ethers.getSigners();
    const blue = await addressOf(await deploy("BeaconBoxV1"));
    const beacon = await deploy("BoxBeacon", [blue, await owner!.getAddress()]);
    const beaconAddress = await addressOf(beacon);
    const init = (await connection.ethers.getContractFactory("BeaconBoxV1")).interface.encodeFunctionData("initialize", [7]);
    const vaults = [await addressOf(await deploy("BoxBeaconProxy", [beaconAddress, init])), await addressOf(await deploy("BoxBeaconProxy", [beaconAddress, init]))];

    const record = await stage(vaults[1]!, "BeaconBoxV2", "BeaconBoxV1", "vault-v2");
    expect(record.kind).to.equal("beacon");
    expect(record.proxy).to.equal(beaconAddress);

    const live = await gate(record);
    expect(live.status, live.detail).to.equal("pass");
    expect(live.detail).to.match(/^re-validated against the chain now: beacon runs blue 0x/);
    expect(live.evidence).to.deep.include({ proxy: beaconAddress.toLowerCase(), blue: { address: blue.toLowerCase(), codehash: record.blue.codehash.toLowerCase() } });

    const snapshot = await connection.provider.request({ method: "evm_snapshot", params: [] });
    try {
      // The switch's upgrade (here by the beacon's owner): a recheck validates against the blue green replaced.
      await (await beacon.getFunction("upgradeTo")(record.green.address)).wait();
      const after = await gate(record);
      expect(after.status, after.detail).to.equal("pass");
      expect(after.detail).to.include("beacon already runs green");

      // The beacon moved to code that is neither blue nor green.
      const other = await addressOf(await deploy("BeaconBoxV2"));
      await (await beacon.getFunction("upgradeTo")(other)).wait();
      const moved = await gate(record);
      expect(moved.status).to.equal("fail");
      expect(moved.code).to.equal("BG_BLUE_MOVED");
      expect(moved.detail).to.include(`beacon ${beaconAddress} now points at ${other.toLowerCase()}, not the staged blue ${blue.toLowerCase()}`);
      expect(moved.detail).to.not.include("0x0000000000000000000000000000000000000000");
      expect(moved.evidence).to.deep.include({ currentImplementation: other.toLowerCase() });
    } finally {
      await connection.provider.request({ method: "evm_revert", params: [snapshot] });
    }
  });

  it("UUPS: passes while the proxy runs blue; BG_BLUE_MOVED when it was upgraded outside the release", async () => {
    const [owner] = await connection.ethers.getSigners();
    const blue = await addressOf(await deploy("UupsOwnableBoxV1"));
    const init = (await connection.ethers.getContractFactory("UupsOwnableBoxV1")).interface.encodeFunctionData("initialize", [await owner!.getAddress()]);
    const proxy = await addressOf(await deploy("UupsBoxProxy", [blue, init]));
    const record = await stage(proxy, "UupsOwnableBoxV2", "UupsOwnableBoxV1", "uups-v2");
    expect(record.kind).to.equal("uups");

    const live = await gate(record);
    expect(live.status, live.detail).to.equal("pass");
    expect(live.detail).to.match(/^re-validated against the chain now: proxy runs blue 0x/);

    const other = await addressOf(await deploy("UupsOwnableBoxV2"));
    const box = await connection.ethers.getContractAt("UupsOwnableBoxV1", proxy);
    await (await box.getFunction("upgradeToAndCall")(other, "0x")).wait();
    const moved = await gate(record);
    expect(moved.code).to.equal("BG_BLUE_MOVED");
    expect(moved.detail).to.include(`proxy ${proxy} now runs ${other.toLowerCase()}`);
  });
});
