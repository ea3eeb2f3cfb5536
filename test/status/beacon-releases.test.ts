/**
 * bg:status over several releases of one beacon, as a team runs them: an
 * OpenZeppelin UpgradeableBeacon with two BeaconProxy vaults, adopted by a
 * switch whose approver is a Safe 1.3.0 (2 of 3).
 *
 * The switch keeps one record per beacon, its latest release; releases of
 * the same code share one green deployment. bg:status must match the
 * switch's record to the release it belongs to (by its promote
 * transaction), so that:
 *
 * - a rolled-back release whose beacon a later release moved through the
 *   switch is superseded by it, not drift (and never told to roll back);
 * - a staged release whose blue a later release replaced through the switch
 *   is told to re-stage, not that someone upgraded the beacon outside the
 *   switch;
 * - a promote executed in the Safe app (protocol-kit here) is recognized,
 *   and what the beacon runs is not drift;
 * - a beacon really upgraded outside the switch is still drift.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { type Contract, ContractFactory, Interface, type Signer, getAddress } from "ethers";
import hre from "hardhat";

import { switchCallSpec } from "../../src/approval/approver-call.js";
import { createSafe, deploySafeSingletons } from "../../src/approval/deploy-safe-singletons.js";
import { executeProposal } from "../../src/approval/execute.js";
import { approveProposal, proposeApproverCall } from "../../src/approval/proposal.js";
import { callProposalFolder } from "../../src/approval/proposal-folder.js";
import { type ReleaseApprovalContext, approveRelease, proposeRelease, switchRelease } from "../../src/approval/release-switch.js";
import { rollbackNow } from "../../src/approval/release-window.js";
import { gateResult } from "../../src/gates/gate-result.js";
import { recordGatesRun } from "../../src/gates/gates-step.js";
import { ReleaseStore } from "../../src/release/store.js";
import { stageRelease } from "../../src/stage/stage-release.js";
import { releaseStatus } from "../../src/status/release-status.js";
import { loadSwitchArtifact } from "../../src/switch/artifact.js";
import { writeSwitchFile } from "../../src/switch/switch-file.js";
import { renderStatus, statusJson } from "../../src/ui/release-view.js";
import { SigningMethod, kitTransaction, safeKit } from "../approval/protocol-kit.js";

type Connection = Awaited<ReturnType<typeof hre.network.create>>;

const DELAY = 60;
const WINDOW = 3600;
const BEACON = new Interface(["function implementation() view returns (address)", "function upgradeTo(address)"]);

interface BeaconWorld {
  connection: Connection;
  ctx: ReleaseApprovalContext;
  store: ReleaseStore;
  root: string;
  chainId: number;
  deployer: Signer;
  owners: Signer[];
  anyone: Signer;
  safe: string;
  switchAddress: string;
  beacon: string;
  vaults: string[];
  blue: string;
  cleanup(): Promise<void>;
}

/** The user's setup: blue behind an UpgradeableBeacon with two BeaconProxy vaults, the beacon adopted by a switch whose approver is a Safe 1.3.0. */
async function beaconWorld(): Promise<BeaconWorld> {
  const connection = await hre.network.create();
  const { ethers } = connection;
  const [deployer, a, b, c, guardian, anyone] = (await ethers.getSigners()) as unknown as Signer[];
  const chainId = Number((await ethers.provider.getNetwork()).chainId);
  const deploy = async (name: string, args: unknown[] = []): Promise<Contract> => {
    const contract = await ethers.deployContract(name, args, { signer: deployer as never });
    await contract.waitForDeployment();
    return contract as unknown as Contract;
  };

  await deploySafeSingletons(deployer!, undefined, "1.3.0");
  const owners = [a!, b!, c!];
  const safe = await createSafe(deployer!, { owners: await Promise.all(owners.map((o) => o.getAddress())), threshold: 2, version: "1.3.0", singleton: "Safe" });

  const artifact = await loadSwitchArtifact();
  const sw = await new ContractFactory(artifact.abi, artifact.bytecode, deployer).deploy(safe, [await guardian!.getAddress()], DELAY, WINDOW);
  const deployment = (await sw.deploymentTransaction()!.wait())!;
  const switchAddress = getAddress(await sw.getAddress());
  const errors = new Interface(artifact.abi);

  const blue = getAddress(await (await deploy("BeaconBoxV1")).getAddress());
  const beaconContract = await deploy("BoxBeacon", [blue, await deployer!.getAddress()]);
  const beacon = getAddress(await beaconContract.getAddress());
  const init = (await ethers.getContractFactory("BeaconBoxV1")).interface.encodeFunctionData("initialize", [1]);
  const vaults = [getAddress(await (await deploy("BoxBeaconProxy", [beacon, init])).getAddress()), getAddress(await (await deploy("BoxBeaconProxy", [beacon, init])).getAddress())];

  const root = await mkdtemp(path.join(tmpdir(), "bg-status-beacon-"));
  const store = new ReleaseStore(path.join(root, ".bluegreen"));
  await writeSwitchFile(store, {
    schemaVersion: 1,
    chainId,
    address: switchAddress,
    approver: safe,
    guardians: [getAddress(await guardian!.getAddress())],
    rollbackDelay: DELAY,
    rollbackWindow: WINDOW,
    deployTx: deployment.hash,
    blockNumber: deployment.blockNumber,
    deployedAt: new Date().toISOString(),
  });
  const env = { provider: connection.provider, chainId, errors };
  const ctx: ReleaseApprovalContext = { env, store, switchAddress, projectRoot: root };

  // The beacon's owner hands it to the switch; the Safe adopts it through the approval path.
  await (await beaconContract.getFunction("transferOwnership")(switchAddress)).wait();
  const adopt = await switchCallSpec(env, { address: switchAddress, iface: errors }, "adoptBeacon", [beacon, blue], { id: "adopt-beacon" });
  const folder = callProposalFolder(store, chainId, "adopt-beacon");
  await proposeApproverCall(env, folder, adopt);
  await approveProposal(env, folder, { signer: a! });
  await approveProposal(env, folder, { signer: b! });
  expect((await executeProposal(env, folder, { executor: deployer! })).status).to.equal("executed");

  return {
    connection,
    ctx,
    store,
    root,
    chainId,
    deployer: deployer!,
    owners,
    anyone: anyone!,
    safe,
    switchAddress,
    beacon,
    vaults,
    blue,
    cleanup: async () => {
      await rm(root, { recursive: true, force: true });
      await connection.close();
    },
  };
}

/** bg:stage of `contract` through the first vault (the release is the beacon's), then gates recorded as passed. */
async function stageAndGate(w: BeaconWorld, releaseId: string, contract: string) {
  const { record } = await stageRelease({
    provider: w.connection.provider,
    signer: w.deployer,
    artifacts: hre.artifacts,
    store: w.store,
    networkName: w.connection.networkName,
    config: { unsafeAllow: [], unsafeAllowRenames: false },
    proxy: w.vaults[0]!,
    contract,
    reference: "BeaconBoxV1",
    releaseId,
  });
  expect(record.kind).to.equal("beacon");
  expect(record.proxy).to.equal(w.beacon);
  return (await recordGatesRun(w.store, record, [gateResult("safety", "pass", true, "upgrade-safe both ways", { evidence: { checked: true } })], { actor: "test" })).record;
}

/** bg:propose, two owners' bg:approve and bg:switch, all through the plugin. */
async function goLive(w: BeaconWorld, releaseId: string): Promise<string> {
  await proposeRelease(w.ctx, releaseId, { actor: "test" });
  await approveRelease(w.ctx, releaseId, { signer: w.owners[0]! });
  await approveRelease(w.ctx, releaseId, { signer: w.owners[1]! });
  const live = await switchRelease(w.ctx, releaseId, { executor: w.anyone });
  if (live.status !== "live") throw new Error(`expected ${releaseId} live, got ${live.status}`);
  return live.txHash;
}

/** bg:rollback --now through the Safe: proposed, signed by two owners, executed. */
async function rollBackNow(w: BeaconWorld, releaseId: string): Promise<void> {
  const proposed = await rollbackNow(w.ctx, releaseId, { executor: w.anyone });
  if (proposed.status !== "proposed") throw new Error("expected a rollback proposal");
  const folder = callProposalFolder(w.store, w.chainId, proposed.callId);
  await approveProposal(w.ctx.env, folder, { signer: w.owners[0]! });
  await approveProposal(w.ctx.env, folder, { signer: w.owners[1]! });
  const done = await rollbackNow(w.ctx, releaseId, { executor: w.anyone });
  expect(done).to.deep.include({ status: "done", state: "rolled-back" });
}

async function beaconImplementation(w: BeaconWorld): Promise<string> {
  const raw = await w.connection.ethers.provider.call({ to: w.beacon, data: BEACON.encodeFunctionData("implementation") });
  return getAddress(BEACON.decodeFunctionResult("implementation", raw)[0] as string);
}

async function status(w: BeaconWorld, only?: string) {
  const view = await releaseStatus(w.connection.provider, w.store, w.root, only);
  return { view, json: statusJson(view, "hardhat"), text: renderStatus(view, "hardhat") };
}

describe("bg:status over several releases of one beacon (Safe 1.3.0 approver)", function () {
  this.timeout(300_000);

  it("a rolled-back release superseded by a later one of the same green, and a staged one whose blue that release replaced: explained, not drift", async () => {
    const w = await beaconWorld();
    try {
      // vault-v2 goes live through the switch, then is rolled back.
      const v2 = await stageAndGate(w, "vault-v2", "BeaconBoxV2");
      const v2Tx = await goLive(w, "vault-v2");
      await rollBackNow(w, "vault-v2");
      expect(await beaconImplementation(w)).to.equal(w.blue);

      // vault-v3 is staged against blue; vault-v2c, the same code as vault-v2 (so the same green deployment), goes live.
      const v3 = await stageAndGate(w, "vault-v3", "BeaconBoxV3");
      expect(v3.blue.address).to.equal(w.blue);
      const v2c = await stageAndGate(w, "vault-v2c", "BeaconBoxV2");
      expect(v2c.green.address, "bg:stage reuses vault-v2's green").to.equal(v2.green.address);
      const v2cTx = await goLive(w, "vault-v2c");
      expect(v2cTx).to.not.equal(v2Tx);
      expect(await beaconImplementation(w)).to.equal(v2c.green.address);

      const { json, text } = await status(w);
      const byId = Object.fromEntries(json.releases.map((r) => [r.release, r]));
      expect(Object.keys(byId).sort()).to.deep.equal(["vault-v2", "vault-v2c", "vault-v3"]);
      for (const r of json.releases) expect(r.drift, `${r.release}: ${JSON.stringify(r.drift)}`).to.deep.equal([]);
      expect(json.ok, text).to.equal(true);

      expect(byId["vault-v2"]!.state).to.equal("rolled-back");
      expect(byId["vault-v2"]!.notes).to.deep.equal([
        {
          kind: "superseded",
          by: "vault-v2c",
          txHash: v2cTx,
          message:
            `superseded by release vault-v2c (tx ${v2cTx}): the switch's latest release of beacon ${w.beacon} is green ${v2.green.address} (live); ` +
            "this release was rolled-back before it. Nothing to do.",
        },
      ]);
      expect(byId["vault-v2c"]).to.include({ state: "live" });
      expect(byId["vault-v2c"]).to.not.have.property("notes");
      expect(byId["vault-v3"]!.notes).to.have.length(1);
      expect(byId["vault-v3"]!.notes![0]).to.include({ kind: "blue-moved", by: "vault-v2c", txHash: v2cTx });
      expect(byId["vault-v3"]!.notes![0]!.message).to.equal(
        `blue moved to ${v2c.green.address} by release vault-v2c (tx ${v2cTx}), through the switch: this release was staged against blue ${w.blue}, ` +
          `which beacon ${w.beacon} no longer runs, so it can no longer be promoted. Re-stage it against what runs now: ` +
          `npx hardhat bg:stage --release <new id> --proxy ${w.beacon} --contract BeaconBoxV3`,
      );
      // Never the advice that would roll vault-v2c back, nor "outside the switch".
      expect(text).to.not.match(/outside the switch|bg:rollback or bg:finalize/);
      expect(text).to.include("superseded by release vault-v2c");

      // One release asked for: its peers still explain it.
      const alone = await status(w, "vault-v2");
      expect(alone.json.ok).to.equal(true);
      expect(alone.json.releases[0]!.notes![0]).to.include({ kind: "superseded", by: "vault-v2c" });

      // A beacon really upgraded outside the switch (here by impersonating the switch, its owner) is still drift.
      const snapshot = await w.connection.provider.request({ method: "evm_snapshot", params: [] });
      try {
        const other = getAddress(await (await w.connection.ethers.deployContract("BeaconBoxV2")).getAddress());
        await w.connection.provider.request({ method: "hardhat_impersonateAccount", params: [w.switchAddress] });
        await w.connection.provider.request({ method: "hardhat_setBalance", params: [w.switchAddress, "0xde0b6b3a7640000"] });
        const asSwitch = await w.connection.ethers.getSigner(w.switchAddress);
        await (await asSwitch.sendTransaction({ to: w.beacon, data: BEACON.encodeFunctionData("upgradeTo", [other]) })).wait();
        const moved = await status(w);
        expect(moved.json.ok).to.equal(false);
        const drifted = Object.fromEntries(moved.json.releases.map((r) => [r.release, r.drift.map((d) => d.field)]));
        expect(drifted["vault-v2c"]).to.include("implementation").and.include("switch-record");
        expect(drifted["vault-v3"]).to.include("implementation");
        expect(moved.text).to.include("Someone upgraded the beacon outside the switch");
      } finally {
        await w.connection.provider.request({ method: "evm_revert", params: [snapshot] });
      }
    } finally {
      await w.cleanup();
    }
  });

  it("a promote executed in the Safe app (protocol-kit) is recognized: no drift, and the next step is bg:switch", async () => {
    const w = await beaconWorld();
    try {
      const record = await stageAndGate(w, "vault-v2", "BeaconBoxV2");
      const { proposal } = await proposeRelease(w.ctx, "vault-v2", { actor: "test" });
      // Two owners sign and the second executes, as in the Safe web app.
      const [ownerA, ownerB] = await Promise.all(w.owners.slice(0, 2).map((o) => o.getAddress()));
      const kitA = await safeKit(w.connection.provider, BigInt(w.chainId), w.safe, ownerA!, "1.3.0");
      const kitB = await safeKit(w.connection.provider, BigInt(w.chainId), w.safe, ownerB!, "1.3.0");
      let tx = await kitA.signTransaction(await kitTransaction(kitA, { to: proposal.safe!.tx.to, data: proposal.safe!.tx.data }, Number(proposal.safe!.tx.nonce)), SigningMethod.ETH_SIGN_TYPED_DATA_V4);
      tx = await kitB.signTransaction(tx, SigningMethod.ETH_SIGN_TYPED_DATA_V4);
      const executed = await kitB.executeTransaction(tx);
      await w.connection.ethers.provider.waitForTransaction(executed.hash);
      expect(await beaconImplementation(w)).to.equal(record.green.address);

      const { view, json, text } = await status(w);
      expect(json.releases[0]).to.include({ release: "vault-v2", state: "proposed" });
      expect(json.releases[0]!.drift).to.deep.equal([]);
      expect(json.ok, text).to.equal(true);
      expect(view.releases[0]!.approval).to.deep.equal({ status: "executed", txHash: executed.hash, executor: getAddress(ownerB!) });
      expect(text).to.not.include("outside the switch");

      // bg:switch records it; bg:status stays clean.
      const done = await switchRelease(w.ctx, "vault-v2", { executor: w.anyone });
      expect(done).to.deep.include({ status: "live", txHash: executed.hash, resumed: true });
      const after = await status(w);
      expect(after.json.ok).to.equal(true);
      expect(after.json.releases[0]).to.include({ state: "live" });
      expect(after.view.releases[0]!.approval).to.equal(undefined);
    } finally {
      await w.cleanup();
    }
  });
});
