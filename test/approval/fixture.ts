/**
 * A world for the approval tests, each on its own in-process network:
 * canonical Safe v1.4.1 with a 2-of-3 Safe as the switch's approver, a
 * guardian, BoxV1 behind an OpenZeppelin v5 transparent proxy adopted by the
 * switch (through the Safe, by the approval path itself), and a release
 * staged by bg:stage's own code and gated by the gates' own recorder.
 * With `kind: "beacon"`, BeaconBoxV1 behind an UpgradeableBeacon (and one
 * BeaconProxy of it) instead, the beacon adopted by the switch the same way.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { Contract, ContractFactory, Interface, type Signer, ZeroAddress, getAddress } from "ethers";
import hre from "hardhat";

import { switchCallSpec } from "../../src/approval/approver-call.js";
import { createSafe, deploySafeSingletons } from "../../src/approval/deploy-safe-singletons.js";
import { executeProposal } from "../../src/approval/execute.js";
import type { SafeVersion } from "../../src/approval/safe-contracts.js";
import { type ApprovalEnv, approveProposal, proposeApproverCall } from "../../src/approval/proposal.js";
import { callProposalFolder } from "../../src/approval/proposal-folder.js";
import type { ReleaseApprovalContext } from "../../src/approval/release-switch.js";
import { gateResult } from "../../src/gates/gate-result.js";
import { recordGatesRun } from "../../src/gates/gates-step.js";
import type { ReleaseRecord } from "../../src/release/record.js";
import { ReleaseStore } from "../../src/release/store.js";
import { stageRelease } from "../../src/stage/stage-release.js";
import { loadSwitchArtifact } from "../../src/switch/artifact.js";

export const DELAY = 60;
export const WINDOW = 3600;
export const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";
const ADMIN_SLOT = "0xb53127684a568b3173ae13b9f8a6016e243e63b6e8ee1178d6a717850b5d6103";
const V5_PROXY = "@openzeppelin/contracts/proxy/transparent/TransparentUpgradeableProxy.sol:TransparentUpgradeableProxy";

export type Connection = Awaited<ReturnType<typeof hre.network.create>>;

export interface ApprovalWorld {
  connection: Connection;
  env: ApprovalEnv & { errors: Interface };
  ctx: ReleaseApprovalContext;
  store: ReleaseStore;
  root: string;
  deployer: Signer;
  /** The Safe's owners, in the order the accounts come (not sorted). */
  owners: Signer[];
  guardian: Signer;
  anyone: Signer;
  safe: string;
  /** The TimelockController between the Safe and the switch, when `approver: "timelock"`. */
  timelock?: string;
  switchAddress: string;
  kind: "transparent" | "beacon";
  /** The release's target: the transparent proxy, or the beacon. */
  proxy: string;
  /** The transparent proxy's ProxyAdmin; for a beacon, the beacon itself (its own authority). */
  proxyAdmin: string;
  blue: string;
  /** The staged and gated release of BoxV2. */
  record: ReleaseRecord;
  cleanup(): Promise<void>;
}

/** A TimelockController's delay in the timelock world: longer than the switch's rollback delay, as in production. */
export const TIMELOCK_DELAY = 600;

/**
 * Builds the world. `approver: "account"` makes a plain account (the first
 * owner) the switch's approver instead of the Safe, as on a dev network;
 * `approver: "timelock"` puts an OpenZeppelin TimelockController (proposer:
 * the Safe, executors: anyone) in between. `safeVersion` and `singleton`
 * pick the Safe build (1.4.1 `Safe` by default).
 */
export async function approvalWorld(
  options: {
    approver?: "safe" | "account" | "timelock";
    /** Who proposes on the timelock: the Safe (default), or the first owner's plain account as on a dev network. */
    timelockProposer?: "safe" | "account";
    safeVersion?: SafeVersion;
    singleton?: "Safe" | "SafeL2";
    /** The contract staged as green over BoxV1 (default BoxV2; BeaconBoxV2 for a beacon). */
    green?: string;
    /** The proxy kind released: a v5 transparent proxy (default), or a beacon with one BeaconProxy. */
    kind?: "transparent" | "beacon";
  } = {},
): Promise<ApprovalWorld> {
  const connection = await hre.network.create();
  const { ethers } = connection;
  const signers = (await ethers.getSigners()) as unknown as Signer[];
  const [deployer, a, b, c, guardian, anyone] = signers as [Signer, Signer, Signer, Signer, Signer, Signer];
  const provider = ethers.provider;
  const chainId = Number((await provider.getNetwork()).chainId);

  const version = options.safeVersion ?? "1.4.1";
  await deploySafeSingletons(deployer, undefined, version);
  const safe = await createSafe(deployer, {
    owners: await Promise.all([a, b, c].map((s) => s.getAddress())),
    threshold: 2,
    version,
    singleton: options.singleton ?? "Safe",
  });
  let timelock: string | undefined;
  if (options.approver === "timelock") {
    const proposer = options.timelockProposer === "account" ? await a.getAddress() : safe;
    const deployed = await ethers.deployContract("ApprovalTimelock", [TIMELOCK_DELAY, [proposer], [ZeroAddress], ZeroAddress]);
    await deployed.waitForDeployment();
    timelock = getAddress(await deployed.getAddress());
  }
  const approver = options.approver === "account" ? await a.getAddress() : (timelock ?? safe);

  const artifact = await loadSwitchArtifact();
  const sw = await new ContractFactory(artifact.abi, artifact.bytecode, deployer).deploy(approver, [await guardian.getAddress()], DELAY, WINDOW);
  await sw.waitForDeployment();
  const switchAddress = getAddress(await sw.getAddress());
  const errors = new Interface(artifact.abi);

  const kind = options.kind ?? "transparent";
  let blue: string;
  let proxy: string;
  let proxyAdmin: string;
  if (kind === "beacon") {
    // BeaconBoxV1 behind a beacon owned by the deployer (and one BeaconProxy of it), then the beacon handed to the switch.
    const blueContract = await ethers.deployContract("BeaconBoxV1");
    await blueContract.waitForDeployment();
    blue = getAddress(await blueContract.getAddress());
    const beacon = await ethers.deployContract("BoxBeacon", [blue, await deployer.getAddress()]);
    await beacon.waitForDeployment();
    proxy = getAddress(await beacon.getAddress());
    proxyAdmin = proxy;
    const beaconProxy = await ethers.deployContract("BoxBeaconProxy", [proxy, blueContract.interface.encodeFunctionData("initialize", [7])]);
    await beaconProxy.waitForDeployment();
    await (await new Contract(proxy, ["function transferOwnership(address)"], deployer).getFunction("transferOwnership")(switchAddress)).wait();
  } else {
    // BoxV1 behind a v5 proxy owned by the deployer, then its ProxyAdmin handed to the switch.
    const blueContract = await ethers.deployContract("BoxV1");
    await blueContract.waitForDeployment();
    blue = getAddress(await blueContract.getAddress());
    const init = blueContract.interface.encodeFunctionData("initialize", [await deployer.getAddress()]);
    const proxyContract = await ethers.deployContract(V5_PROXY, [blue, await deployer.getAddress(), init]);
    await proxyContract.waitForDeployment();
    proxy = getAddress(await proxyContract.getAddress());
    proxyAdmin = getAddress("0x" + (await provider.getStorage(proxy, ADMIN_SLOT)).slice(-40));
    const admin = new Contract(proxyAdmin, ["function transferOwnership(address)"], deployer);
    await (await admin.getFunction("transferOwnership")(switchAddress)).wait();
  }

  const root = await mkdtemp(path.join(tmpdir(), "bg-approval-"));
  const store = new ReleaseStore(path.join(root, ".bluegreen"));
  const accountActs = options.approver === "account" || (timelock !== undefined && options.timelockProposer === "account");
  const env = {
    provider: connection.provider,
    chainId,
    errors,
    ...(timelock !== undefined ? { timelockProposer: options.timelockProposer === "account" ? await a.getAddress() : safe } : {}),
  };
  const ctx: ReleaseApprovalContext = { env, store, switchAddress, projectRoot: root };

  // Adoption is an approver call: it goes through the same path as promote.
  const adopt =
    kind === "beacon"
      ? await switchCallSpec(env, { address: switchAddress, iface: errors }, "adoptBeacon", [proxy, blue], { id: "adopt-box" })
      : await switchCallSpec(env, { address: switchAddress, iface: errors }, "adopt", [proxy, proxyAdmin, blue], { id: "adopt-box" });
  const adoptFolder = callProposalFolder(store, chainId, "adopt-box");
  await proposeApproverCall(env, adoptFolder, adopt);
  if (!accountActs) {
    await approveProposal(env, adoptFolder, { signer: a });
    await approveProposal(env, adoptFolder, { signer: b });
  }
  let adopted = await executeProposal(env, adoptFolder, { executor: accountActs ? a : deployer });
  if (timelock !== undefined) {
    // Through a timelock the first execution only schedules; the adoption runs once the delay has passed.
    expect(adopted.status).to.equal("waiting");
    await provider.send("evm_increaseTime", [TIMELOCK_DELAY]);
    await provider.send("evm_mine", []);
    adopted = await executeProposal(env, adoptFolder, { executor: deployer });
  }
  expect(adopted.status).to.equal("executed");

  const staged = await stageRelease({
    provider: connection.provider,
    signer: deployer,
    artifacts: hre.artifacts,
    store,
    networkName: connection.networkName,
    config: { unsafeAllow: [], unsafeAllowRenames: false },
    proxy,
    contract: options.green ?? (kind === "beacon" ? "BeaconBoxV2" : "BoxV2"),
    reference: kind === "beacon" ? "BeaconBoxV1" : "BoxV1",
    releaseId: "box-v2",
  });
  const gated = await recordGatesRun(store, staged.record, [gateResult("safety", "pass", true, "upgrade-safe both ways", { evidence: { checked: true } })], {
    actor: await deployer.getAddress(),
  });

  return {
    connection,
    env,
    ctx,
    store,
    root,
    deployer,
    owners: [a, b, c],
    guardian,
    anyone,
    safe,
    ...(timelock !== undefined ? { timelock } : {}),
    switchAddress,
    kind,
    proxy,
    proxyAdmin,
    blue,
    record: gated.record,
    cleanup: async () => {
      await rm(root, { recursive: true, force: true });
      await connection.close();
    },
  };
}

/** Moves the chain's clock forward and mines a block. */
export async function increaseTime(world: ApprovalWorld, seconds: number): Promise<void> {
  await world.connection.provider.request({ method: "evm_increaseTime", params: [seconds] });
  await world.connection.provider.request({ method: "evm_mine", params: [] });
}

/** What the release's target runs: the proxy's ERC-1967 implementation slot, or the beacon's implementation(). */
export async function implementationOf(world: ApprovalWorld): Promise<string> {
  const { provider } = world.connection.ethers;
  if (world.kind === "beacon") {
    return getAddress((await new Contract(world.proxy, ["function implementation() view returns (address)"], provider).getFunction("implementation")()) as string);
  }
  return getAddress("0x" + (await provider.getStorage(world.proxy, IMPLEMENTATION_SLOT)).slice(-40));
}

/** Runs `fn` and returns the message it threw with. */
export async function refusal(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected a refusal, but it succeeded");
}
