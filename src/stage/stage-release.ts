/**
 * `bg:stage`: put green beside blue, after checking the upgrade both ways.
 *
 * Order matters for "nothing is lost": everything that can be refused
 * (addresses, contract names, proxy shape, OpenZeppelin validations) is
 * checked before anything is written or sent. Only then is blue imported
 * into OpenZeppelin's manifest (when it was found elsewhere), green deployed
 * through that manifest (idempotently), and the record written, atomically,
 * in state `staged`.
 */
import { getAddress, keccak256, solidityPacked, type Signer } from "ethers";

import type { StageConfig } from "./config.js";
import { BlueGreenError } from "../errors.js";
import { RECORD_SCHEMA_VERSION, type ReleaseRecord } from "../release/record.js";
import { assertReleaseId, type ReleaseStore } from "../release/store.js";
import { compilesTo, loadContractBuild, type ArtifactSource, type ContractBuild } from "./contract-build.js";
import { clearDeployJournal, deployGreen, type DeployGreenParams, type GreenDeployment } from "./deploy-green.js";
import { withSenderLock } from "../chain/send-once.js";
import type { Eip1193Provider } from "../chain/eip1193.js";
import { findBlue, type CompileBuildInfo } from "./find-blue.js";
import { deployGreenThroughManifest, importBlueIntoManifest } from "./oz-manifest.js";
import { getChainId, getCode, parseAddress, readReleaseTarget, type ReleaseTarget } from "./read-proxy.js";
import { compareLayouts, validateImplementation } from "./validate-upgrade.js";

export interface StageParams {
  provider: Eip1193Provider;
  signer: Signer;
  artifacts: ArtifactSource;
  store: ReleaseStore;
  networkName: string;
  config: StageConfig;
  proxy: string;
  contract: string;
  reference?: string;
  /** Accept a --reference that does not compile to blue's code (recorded in the release). */
  allowReferenceMismatch?: boolean;
  releaseId?: string;
  /** The Hardhat build profile the artifacts were built with, recorded with green. */
  buildProfile?: string;
  /** Ignition's deployments folder, where blue may be found (`ignition/deployments`). */
  ignitionDeploymentsDir?: string;
  /** Compiles a build info Ignition stored, when blue's source has changed since. */
  compileBuildInfo?: CompileBuildInfo;
  log?: (line: string) => void;
  /** Called right after green's deploy is broadcast (tests use it to simulate a crash). */
  afterBroadcast?: (hash: string) => void | Promise<void>;
  /** Speed-up and waiting times of the deploy (tests shorten them). */
  sending?: DeployGreenParams["sending"];
  /** How long to wait for another run that sends from the same account. Default 15 minutes. */
  senderLockTimeoutMs?: number;
  /**
   * UUPS only: the rollback-path proof on a fork (src/switch/staged-rollback-path.ts),
   * run before anything is sent. The command gives it; left out, green is
   * staged unproven and the rollbackPath gate is the first to try it.
   */
  proveRollbackPath?: (input: StagedProofInput) => Promise<StagedProof>;
}

/** What the rollback-path proof of bg:stage is given. */
export interface StagedProofInput {
  target: ReleaseTarget;
  green: ContractBuild;
  deployer: string;
}

/** The proof's verdict, as bg:stage records it (`steps.rollbackPath`) or refuses green with it. */
export type StagedProof =
  | { ok: true; actor: string; as: "switch" | "future-authority"; steps: string[]; blockNumber: number }
  | { ok: false; actor: string; as: "switch" | "future-authority"; step: string; cause: string; revert?: string; blockNumber: number };

export interface StageResult {
  record: ReleaseRecord;
  /** True when the run found everything already staged and changed nothing. */
  unchanged: boolean;
  greenDeployment: GreenDeployment["how"] | "recorded";
  /** What --proxy turned out to be (for a beacon proxy: which beacon it found). */
  target?: ReleaseTarget;
}

/**
 * Stages under the lock of the deploying account on this chain: two runs
 * from one deployer take turns (the second finds what the first recorded),
 * so they never race for a nonce nor touch each other's journal.
 */
export async function stageRelease(params: StageParams): Promise<StageResult> {
  const chainId = await getChainId(params.provider);
  const deployer = await params.signer.getAddress();
  return withSenderLock(params.store.chainDir(chainId), deployer, () => stageLocked(params), {
    ...(params.senderLockTimeoutMs !== undefined ? { timeoutMs: params.senderLockTimeoutMs } : {}),
    ...(params.log !== undefined ? { log: params.log } : {}),
  });
}

async function stageLocked(params: StageParams): Promise<StageResult> {
  const { provider, signer, artifacts, store, networkName } = params;
  const log = params.log ?? (() => {});
  const given = parseAddress(params.proxy, "--proxy");
  const green = await loadContractBuild(artifacts, params.contract);
  const creationCodeHash = keccak256(green.bytecode);
  const chainId = await getChainId(provider);
  // A beacon proxy is released through its beacon: the release (and its id) is the beacon's.
  const onChain = await readReleaseTarget(provider, given, networkName);
  const proxy = onChain.target;
  const releaseId = params.releaseId || defaultReleaseId(green, proxy);
  assertReleaseId(releaseId);

  const existing = await store.read(chainId, releaseId);
  if (existing !== undefined) {
    if (existing.proxy !== proxy || existing.green.creationCodeHash !== creationCodeHash) {
      throw new BlueGreenError(
        "BG_STAGE_RELEASE_EXISTS",
        `Release "${releaseId}" already exists on chain ${chainId} for proxy ${existing.proxy} with green ${existing.green.contract} (different inputs). ` +
          "Choose another --release id for this upgrade.",
      );
    }
  }

  if (existing !== undefined) {
    // Same inputs: nothing to do, unless the chain no longer matches the record.
    await assertGreenStillOnChain(provider, existing, chainId, store.releaseDir(chainId, existing.id));
    const moved = onChain.implementation !== existing.blue.address && onChain.implementation !== existing.green.address;
    if (existing.state === "staged" && moved) {
      throw new BlueGreenError(
        "BG_BLUE_MOVED",
        `Release "${releaseId}" was staged against blue ${existing.blue.address}, but proxy ${proxy} now runs ${onChain.implementation}. ` +
          "The proxy was upgraded outside this release; stage a new release (another --release id) against what it runs now.",
      );
    }
    return { record: existing, unchanged: true, greenDeployment: "recorded", target: onChain };
  }

  log(`Proxy kind: ${describeTarget(onChain)}`);
  log(`Blue: ${onChain.implementation}${onChain.kind === "transparent" ? ` (admin ${onChain.admin})` : ""}`);

  const greenValidated = validateImplementation(green, params.config, onChain.kind);
  const blueCode = await getCode(provider, onChain.implementation);
  const blue = await findBlue({
    provider,
    artifacts,
    store,
    chainId,
    proxy,
    blue: onChain.implementation,
    blueCode,
    ...(params.ignitionDeploymentsDir !== undefined ? { ignitionDeploymentsDir: params.ignitionDeploymentsDir } : {}),
    ...(params.compileBuildInfo !== undefined ? { compileBuildInfo: params.compileBuildInfo } : {}),
    ...(params.reference ? { reference: params.reference } : {}),
    ...(params.allowReferenceMismatch ? { allowReferenceMismatch: true } : {}),
  });
  const warnings = blue.warnings;
  for (const w of warnings) log(`warning: ${w}`);
  const rollbackRisks = compareLayouts(blue.layout, greenValidated, params.config, onChain.kind);
  if (compilesTo(blueCode, green) && !green.hasImmutables) {
    throw new BlueGreenError(
      "BG_STAGE_NOTHING_TO_RELEASE",
      `${green.contractName} compiles to the code blue already runs (${onChain.implementation}): there is nothing to release. Check --contract.`,
    );
  }

  const proof = onChain.kind === "uups" ? await proveBeforeStaging(params, onChain, green, log) : undefined;

  // Everything refusable is checked: from here on, facts are written.
  if (blue.build !== undefined) {
    // Checked against blue's code above, so OpenZeppelin's tools may trust it as forceImport would.
    await importBlueIntoManifest(provider, blue.build, blue.layout, onChain.implementation, onChain.kind === "beacon" ? onChain.viaBeaconProxy : proxy, onChain.kind);
    log(`Blue recorded in OpenZeppelin's manifest (found through ${blue.via ?? "--reference"})`);
  }
  const deployment = await deployThroughManifest(
    {
      provider,
      signer,
      store,
      chainId,
      releaseId,
      build: green,
      log,
      ...(params.afterBroadcast !== undefined ? { afterBroadcast: params.afterBroadcast } : {}),
      ...(params.sending !== undefined ? { sending: params.sending } : {}),
    },
    greenValidated.layout,
  );
  log(`Green: ${deployment.address} (${deployment.how})`);
  if (deployment.address === onChain.implementation) {
    throw new BlueGreenError(
      "BG_STAGE_NOTHING_TO_RELEASE",
      `Green ${green.contractName} is the same deployment as blue (${deployment.address}): there is nothing to release.`,
    );
  }

  const now = new Date().toISOString();
  const record: ReleaseRecord = {
    schemaVersion: RECORD_SCHEMA_VERSION,
    id: releaseId,
    chainId,
    network: networkName,
    state: "staged",
    kind: onChain.kind,
    proxy,
    admin: onChain.admin,
    ...(onChain.authority !== undefined ? { uupsAuthority: onChain.authority } : {}),
    ...(onChain.kind === "beacon" ? { beacon: { address: proxy, proxies: onChain.viaBeaconProxy !== undefined ? [onChain.viaBeaconProxy] : [] } } : {}),
    blue: { address: onChain.implementation, codehash: onChain.implementationCodehash },
    green: {
      address: deployment.address,
      codehash: deployment.codehash,
      contract: green.contractName,
      fullyQualifiedName: green.fullyQualifiedName,
      creationCodeHash,
      sourceHash: green.sourceHash,
      compiler: { version: green.solcLongVersion, settings: green.settings },
      ...(params.buildProfile !== undefined ? { buildProfile: params.buildProfile } : {}),
      ...(deployment.deployTx !== undefined ? { deployTx: deployment.deployTx } : {}),
      deployer: deployment.deployer,
    },
    upgradeSafety: {
      ok: true,
      // Blue found through a release or Ignition is a contract build like a reference: its layout is computed from it.
      blueLayoutFrom: blue.foundBy === "manifest" ? "manifest" : "reference",
      ...(blue.build !== undefined && blue.foundBy !== "manifest" ? { reference: blue.build.fullyQualifiedName } : {}),
      ...(blue.referenceMismatchAllowed && params.reference ? { reference: params.reference } : {}),
      blueFoundBy: blue.foundBy,
      ...(blue.referenceMismatchAllowed ? { referenceMismatchAllowed: true } : {}),
      warnings,
    },
    rollbackRisks,
    steps: proof !== undefined ? { rollbackPath: { ...proof, at: new Date().toISOString() } } : {},
    history: [
      {
        at: now,
        state: "staged",
        actor: await signer.getAddress(),
        ...((deployment.how === "deployed" || deployment.how === "resumed") && deployment.deployTx !== undefined ? { txHash: deployment.deployTx } : {}),
        note: `green ${deployment.how}`,
      },
    ],
    createdAt: now,
    updatedAt: now,
  };
  // A concurrent run may have written the record meanwhile; then keep its record.
  let wroteIt = false;
  const written = await store.update(chainId, releaseId, (current) => {
    if (current !== undefined) return undefined;
    wroteIt = true;
    return record;
  });
  // Only a journal of the deployment the record now holds is done with; another one is an orphan, kept for bg:status.
  await clearDeployJournal(store, chainId, releaseId, written!.green.address);
  return { record: written!, unchanged: !wroteIt, greenDeployment: deployment.how, target: onChain };
}

/**
 * A UUPS green whose `_authorizeUpgrade` no longer accepts the switch can be
 * promoted, but never rolled back: it is refused here, before green is
 * deployed or anything recorded, with the cause the proof found.
 */
async function proveBeforeStaging(params: StageParams, target: ReleaseTarget, green: ContractBuild, log: (line: string) => void): Promise<StagedProof | undefined> {
  if (params.proveRollbackPath === undefined) {
    log("Rollback path: not proven here (no fork given); the rollbackPath gate proves it before the proposal.");
    return undefined;
  }
  const proof = await params.proveRollbackPath({ target, green, deployer: await params.signer.getAddress() });
  const who = proof.as === "switch" ? `the switch ${proof.actor}` : `${proof.actor} standing in for the switch (the upgrade authority it will hold once adopted)`;
  if (!proof.ok) {
    throw new BlueGreenError(
      "BG_STAGE_ROLLBACK_PATH_BLOCKED",
      `${green.contractName} would lock the switch out of UUPS proxy ${target.target}: on a fork, acting as ${who}, the ${proof.step} step failed: ${proof.cause}. ` +
        "Green was not deployed and nothing was recorded.",
      {
        hint:
          "Keep green's _authorizeUpgrade accepting the proxy's upgrade authority (onlyOwner or onlyRole(UPGRADER_ROLE), as blue does) and keep UUPSUpgradeable's upgradeToAndCall, " +
          "then run bg:stage again. Never upgrade the proxy to this green: it could never be rolled back or upgraded again.",
      },
    );
  }
  log(`Rollback path: proven on a fork at block ${proof.blockNumber}, acting as ${who}: green in, back to blue, green again.`);
  return proof;
}

/** One line naming the kind, and for a beacon which beacon a beacon proxy led to. */
export function describeTarget(target: ReleaseTarget): string {
  switch (target.kind) {
    case "transparent":
      return `transparent proxy ${target.target}`;
    case "uups":
      return `UUPS proxy ${target.target} (${target.authority?.kind === "ownable" ? `Ownable, owner ${target.authority.owner}` : "AccessControl"})`;
    case "beacon":
      return target.viaBeaconProxy !== undefined
        ? `beacon proxy ${target.viaBeaconProxy}: found its beacon ${target.target} (the release upgrades the beacon, so every proxy of it)`
        : `beacon ${target.target}`;
  }
}

/** Same inputs give the same id, so a re-run finds its own record. */
export function defaultReleaseId(green: ContractBuild, proxy: string): string {
  const digest = keccak256(solidityPacked(["address", "bytes32"], [proxy, keccak256(green.bytecode)]));
  return `${green.contractName.toLowerCase().slice(0, 48)}-${digest.slice(2, 10)}`;
}

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

/**
 * Green through OpenZeppelin's manifest: an implementation OZ's tools already
 * deployed is taken as is; otherwise our own crash-safe deploy runs under
 * OZ's lock and the manifest records what it deployed.
 */
async function deployThroughManifest(
  params: Parameters<typeof deployGreen>[0],
  layout: Parameters<typeof deployGreenThroughManifest>[2],
): Promise<GreenDeployment> {
  let ours: GreenDeployment | undefined;
  const result = await deployGreenThroughManifest(params.provider, params.build, layout, async () => {
    ours = await deployGreen(params);
    return { address: ours.address, ...(ours.deployTx !== undefined ? { txHash: ours.deployTx } : {}) };
  });
  if (ours !== undefined) return ours;
  const address = getAddress(result.address);
  const recorded = await recordedGreenAt(params.store, params.chainId, address);
  if (recorded !== undefined) return { ...recorded, how: "reused" };
  let deployer = ZERO_ADDRESS;
  if (result.txHash !== undefined) {
    const tx = (await params.provider.request({ method: "eth_getTransactionByHash", params: [result.txHash] })) as { from?: string } | null;
    if (tx?.from) deployer = getAddress(tx.from);
  }
  return {
    address,
    codehash: keccak256(await getCode(params.provider, address)),
    deployer,
    ...(result.txHash !== undefined ? { deployTx: result.txHash } : {}),
    how: "manifest",
  };
}

async function recordedGreenAt(store: ReleaseStore, chainId: number, address: string): Promise<Omit<GreenDeployment, "how"> | undefined> {
  for (const id of await store.listIds(chainId)) {
    const record = await store.read(chainId, id).catch(() => undefined);
    if (record !== undefined && getAddress(record.green.address) === address) {
      return {
        address,
        codehash: record.green.codehash,
        deployer: record.green.deployer,
        ...(record.green.deployTx !== undefined ? { deployTx: record.green.deployTx } : {}),
      };
    }
  }
  return undefined;
}

/**
 * A record outlives the chain it describes when a local node is restarted or
 * a fork is re-created at another block: the record then names a green that
 * is not there, and "unchanged" would be a lie.
 */
async function assertGreenStillOnChain(provider: Eip1193Provider, record: ReleaseRecord, chainId: number, folder: string): Promise<void> {
  const code = await getCode(provider, record.green.address);
  const what = code === "0x" ? "has no code" : keccak256(code) !== record.green.codehash ? "holds other code" : undefined;
  if (what === undefined) return;
  throw new BlueGreenError(
    "BG_GREEN_NOT_ON_CHAIN",
    `Release "${record.id}" records green ${record.green.contract} at ${record.green.address}, but on chain ${chainId} that address ${what}. ` +
      "The chain was probably reset (a restarted local node) or forked at another block since the release was staged. " +
      `To stage again on this chain, pass another --release id, or delete the release's folder (${folder}) if it belonged to the old chain, and run bg:stage again.`,
  );
}
