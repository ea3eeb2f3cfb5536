/**
 * `bg:stage`: put green beside blue, after checking the upgrade both ways.
 *
 * Order matters for "nothing is lost": everything that can be refused
 * (addresses, contract names, proxy shape, OpenZeppelin validations) is
 * checked before anything is written or sent. Only then is green deployed
 * (idempotently) and the record written, atomically, in state `staged`.
 */
import { keccak256, solidityPacked, type Signer } from "ethers";

import type { StageConfig } from "../config.js";
import { BlueGreenError } from "../errors.js";
import { RECORD_SCHEMA_VERSION, type ReleaseRecord } from "../release/record.js";
import { assertReleaseId, type ReleaseStore } from "../release/store.js";
import { loadContractBuild, type ArtifactSource, type ContractBuild } from "./contract-build.js";
import { clearDeployJournal, deployGreen } from "./deploy-green.js";
import type { Eip1193Provider } from "./eip1193.js";
import { getChainId, getCode, parseAddress, readTransparentProxy } from "./read-proxy.js";
import { blueLayoutFromManifest, compareLayouts, layoutOf, validateImplementation } from "./validate-upgrade.js";

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
  releaseId?: string;
  log?: (line: string) => void;
}

export interface StageResult {
  record: ReleaseRecord;
  /** True when the run found everything already staged and changed nothing. */
  unchanged: boolean;
  greenDeployment: "deployed" | "reused" | "resumed" | "recorded";
}

export async function stageRelease(params: StageParams): Promise<StageResult> {
  const { provider, signer, artifacts, store, networkName } = params;
  const log = params.log ?? (() => {});
  const proxy = parseAddress(params.proxy, "--proxy");
  const green = await loadContractBuild(artifacts, params.contract);
  const creationCodeHash = keccak256(green.bytecode);
  const chainId = await getChainId(provider);
  const releaseId = params.releaseId || defaultReleaseId(green, proxy);
  assertReleaseId(releaseId);

  const existing = await store.read(chainId, releaseId);
  if (existing !== undefined) {
    if (existing.proxy !== proxy || existing.green.creationCodeHash !== creationCodeHash) {
      throw new BlueGreenError(
        `Release "${releaseId}" already exists on chain ${chainId} for proxy ${existing.proxy} with green ${existing.green.contract} (different inputs). ` +
          "Choose another --release id for this upgrade.",
      );
    }
  }

  const onChain = await readTransparentProxy(provider, proxy, networkName);

  if (existing !== undefined) {
    // Same inputs: nothing to do, unless the proxy moved under a staged release.
    const moved = onChain.implementation !== existing.blue.address && onChain.implementation !== existing.green.address;
    if (existing.state === "staged" && moved) {
      throw new BlueGreenError(
        `Release "${releaseId}" was staged against blue ${existing.blue.address}, but proxy ${proxy} now runs ${onChain.implementation}. ` +
          "The proxy was upgraded outside this release; stage a new release (another --release id) against what it runs now.",
      );
    }
    return { record: existing, unchanged: true, greenDeployment: "recorded" };
  }

  log(`Blue: ${onChain.implementation} (admin ${onChain.admin})`);

  const greenValidated = validateImplementation(green, params.config);
  const warnings: string[] = [];
  let blueLayout = await blueLayoutFromManifest(provider, onChain.implementation);
  let blueLayoutFrom: "manifest" | "reference" = "manifest";
  let reference: string | undefined;
  if (blueLayout !== undefined) {
    if (params.reference) warnings.push(`--reference ${params.reference} was not used: blue's layout comes from the OpenZeppelin manifest.`);
  } else {
    if (!params.reference) {
      throw new BlueGreenError(
        `OpenZeppelin's manifest (.openzeppelin/) has no record of blue ${onChain.implementation}, so its storage layout is unknown. ` +
          "Pass --reference <ContractName> naming blue's contract in this project (e.g. --reference VaultV1).",
      );
    }
    const referenceBuild = await loadContractBuild(artifacts, params.reference);
    blueLayout = layoutOf(referenceBuild);
    blueLayoutFrom = "reference";
    reference = referenceBuild.fullyQualifiedName;
    if (!sameRuntimeCode(await getCode(provider, onChain.implementation), referenceBuild)) {
      warnings.push(
        `The reference ${reference} does not compile to blue's deployed bytecode; its layout is trusted as blue's. Check that it is the version deployed.`,
      );
    }
  }
  for (const w of warnings) log(`warning: ${w}`);
  const rollbackRisks = compareLayouts(blueLayout, greenValidated, params.config);
  if (sameRuntimeCode(await getCode(provider, onChain.implementation), green) && !green.hasImmutables) {
    throw new BlueGreenError(
      `${green.contractName} compiles to the code blue already runs (${onChain.implementation}): there is nothing to release. Check --contract.`,
    );
  }

  const deployment = await deployGreen({ provider, signer, store, chainId, releaseId, build: green, log });
  log(`Green: ${deployment.address} (${deployment.how})`);
  if (deployment.address === onChain.implementation) {
    throw new BlueGreenError(
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
    proxy,
    admin: onChain.admin,
    blue: { address: onChain.implementation, codehash: onChain.implementationCodehash },
    green: {
      address: deployment.address,
      codehash: deployment.codehash,
      contract: green.contractName,
      fullyQualifiedName: green.fullyQualifiedName,
      creationCodeHash,
      sourceHash: green.sourceHash,
      compiler: { version: green.solcLongVersion, settings: green.settings },
      ...(deployment.deployTx !== undefined ? { deployTx: deployment.deployTx } : {}),
      deployer: deployment.deployer,
    },
    upgradeSafety: { ok: true, blueLayoutFrom, ...(reference !== undefined ? { reference } : {}), warnings },
    rollbackRisks,
    steps: {},
    history: [
      {
        at: now,
        state: "staged",
        actor: await signer.getAddress(),
        ...(deployment.how !== "reused" && deployment.deployTx !== undefined ? { txHash: deployment.deployTx } : {}),
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
  await clearDeployJournal(store, chainId, releaseId);
  return { record: written!, unchanged: !wroteIt, greenDeployment: deployment.how };
}

/** Same inputs give the same id, so a re-run finds its own record. */
export function defaultReleaseId(green: ContractBuild, proxy: string): string {
  const digest = keccak256(solidityPacked(["address", "bytes32"], [proxy, keccak256(green.bytecode)]));
  return `${green.contractName.toLowerCase().slice(0, 48)}-${digest.slice(2, 10)}`;
}

/**
 * Compares deployed code with an artifact, ignoring the CBOR metadata tail
 * (paths and comments change it without changing behaviour).
 */
function sameRuntimeCode(deployed: string, build: ContractBuild): boolean {
  if (build.hasImmutables) return true;
  return stripMetadata(deployed) === stripMetadata(build.deployedBytecode);
}

function stripMetadata(code: string): string {
  const hex = code.toLowerCase().replace(/^0x/, "");
  if (hex.length < 4) return hex;
  const metadataLength = parseInt(hex.slice(-4), 16) * 2 + 4;
  return metadataLength < hex.length ? hex.slice(0, hex.length - metadataLength) : hex;
}
