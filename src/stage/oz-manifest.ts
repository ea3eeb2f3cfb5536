/**
 * OpenZeppelin's network manifest, kept in step with what bg:stage deploys.
 *
 * Teams keep using `@openzeppelin/hardhat-upgrades` next to bg:*. Its
 * `validateUpgrade`, `prepareUpgrade` and `upgradeProxy` look the proxy's
 * implementation up in the manifest, and `prepareUpgrade` reuses an
 * implementation the manifest already records. So green is deployed through
 * upgrades-core's own `fetchOrDeployGetDeployment` (OZ's version key, its
 * lock, its file: `.openzeppelin/<network>.json`, or a temporary file for a
 * development node), and a blue found elsewhere is imported the way
 * `forceImport` does it. Nothing here reimplements where the file lives.
 */
import {
  DeploymentNotFound,
  Manifest,
  addProxyToManifest,
  fetchOrDeploy,
  fetchOrDeployGetDeployment,
  getVersion,
  type StorageLayout,
} from "@openzeppelin/upgrades-core";
import { Interface } from "ethers";

import { BlueGreenError, errorMessage } from "../errors.js";
import type { ContractBuild } from "./contract-build.js";
import { toSendProvider, type Eip1193Provider } from "../chain/eip1193.js";

/** OpenZeppelin's key for an implementation: the creation code's hash without metadata, constructor arguments appended. */
export function manifestVersionKey(build: ContractBuild): string {
  // bg:stage deploys with no constructor arguments, which OZ encodes as "0x".
  return getVersion(build.bytecode, build.bytecode, "0x").linkedWithoutMetadata;
}

/** The file OpenZeppelin's tools read and write for this chain (for messages). */
export async function manifestFile(provider: Eip1193Provider): Promise<string> {
  return (await Manifest.forNetwork(toSendProvider(provider))).file;
}

/**
 * OpenZeppelin locks its manifest with proper-lockfile, which gives up after
 * three quick tries; a lock left by a killed run is only taken over once it
 * is 10 s stale. So a run right after a killed one waits for that (bounded),
 * and then says plainly who holds the lock.
 */
const MANIFEST_LOCK_WAIT_MS = 15_000;

async function whileManifestLocked<T>(provider: Eip1193Provider, fn: () => Promise<T>): Promise<T> {
  const until = Date.now() + MANIFEST_LOCK_WAIT_MS;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if ((error as { code?: unknown }).code !== "ELOCKED") throw error;
      if (Date.now() >= until) {
        throw new BlueGreenError(
          "BG_STAGE_MANIFEST_LOCKED",
          `OpenZeppelin's manifest (${await manifestFile(provider)}) stayed locked for ${MANIFEST_LOCK_WAIT_MS / 1000} s: another deploy (bg:stage, upgrades.deployProxy, Ignition) is writing it.`,
          { hint: "Wait for it to finish and run bg:stage again.", cause: error as Error },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/** Blue's layout from OpenZeppelin's manifest, if it records that address; undefined otherwise. */
export async function blueLayoutFromManifest(provider: Eip1193Provider, blue: string): Promise<StorageLayout | undefined> {
  try {
    const manifest = await Manifest.forNetwork(toSendProvider(provider));
    return (await manifest.getDeploymentFromAddress(blue)).layout;
  } catch (error) {
    // A missing file surfaces as DeploymentNotFound too; anything else is a real problem.
    if (error instanceof DeploymentNotFound) return undefined;
    throw error;
  }
}

export interface ManifestGreen {
  address: string;
  txHash?: string;
  /** True when OpenZeppelin's manifest already held green and `deploy` was not called. */
  fromManifest: boolean;
}

/**
 * Deploys green the way `prepareUpgrade` does: under OpenZeppelin's manifest
 * lock, keyed by OZ's version, reusing an implementation the manifest already
 * records. `deploy` runs only when the manifest has none, so our own
 * crash-safe deploy (journal, reuse of recorded greens) stays the one that
 * sends the transaction.
 */
export async function deployGreenThroughManifest(
  provider: Eip1193Provider,
  build: ContractBuild,
  layout: StorageLayout,
  deploy: () => Promise<{ address: string; txHash?: string }>,
): Promise<ManifestGreen> {
  let called = false;
  let deployment: { address: string; txHash?: string };
  try {
    deployment = await whileManifestLocked(provider, () => fetchOrDeployGetDeployment(getVersion(build.bytecode, build.bytecode, "0x"), toSendProvider(provider), async () => {
      called = true;
      const deployed = await deploy();
      return {
        abi: new Interface(build.abi as never).format(true),
        address: deployed.address,
        ...(deployed.txHash !== undefined ? { txHash: deployed.txHash } : {}),
        layout,
      };
    }));
  } catch (error) {
    if (error instanceof BlueGreenError) throw error;
    throw new BlueGreenError(
      "BG_STAGE_MANIFEST_WRITE",
      `OpenZeppelin's manifest (${await manifestFile(provider)}) could not record green ${build.contractName}: ${errorMessage(error)} ` +
        "If the manifest names an implementation that is not on this chain, the chain was probably reset or forked: remove that entry (or the file, for a local node) and run bg:stage again.",
      { cause: error as Error },
    );
  }
  return {
    address: deployment.address,
    ...(deployment.txHash !== undefined ? { txHash: deployment.txHash } : {}),
    fromManifest: !called,
  };
}

/**
 * Records blue, found elsewhere than in the manifest and checked against its
 * deployed code, as `forceImport(proxy, Blue)` would: the implementation,
 * merged under its version key, and the proxy as one of its kind. After
 * this OpenZeppelin's tools know the proxy without a forceImport.
 */
export async function importBlueIntoManifest(
  provider: Eip1193Provider,
  build: ContractBuild,
  layout: StorageLayout,
  blue: string,
  /** The proxy to record; none for a beacon named by its own address (OpenZeppelin records beacon proxies, not beacons). */
  proxy: string | undefined,
  kind: "transparent" | "uups" | "beacon" = "transparent",
): Promise<void> {
  const send = toSendProvider(provider);
  await whileManifestLocked(provider, () =>
    fetchOrDeploy(
      getVersion(build.bytecode, build.bytecode, "0x"),
      send,
      async () => ({ abi: new Interface(build.abi as never).format(true), address: blue, layout }),
      undefined,
      true,
    ),
  );
  if (proxy === undefined) return;
  const manifest = await Manifest.forNetwork(send);
  const known = await manifest.getProxyFromAddress(proxy).then(
    () => true,
    () => false,
  );
  if (!known) await addProxyToManifest(kind, proxy, manifest);
}
