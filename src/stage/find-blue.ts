/**
 * Which contract blue is, so that its storage layout can be compared with
 * green's. A team that released before, or deployed with OpenZeppelin's
 * tools or with Ignition, should not have to name blue again: the sources
 * are tried in the order of how much they can be trusted, and every one but
 * the manifest is checked against blue's deployed code.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";

import type { StorageLayout } from "@openzeppelin/upgrades-core";
import { getAddress } from "ethers";

import { BlueGreenError, errorMessage } from "../errors.js";
import type { ReleaseStore } from "../release/store.js";
import { compilesTo, contractBuildFrom, loadContractBuild, type ArtifactSource, type BuildArtifact, type ContractBuild } from "./contract-build.js";
import type { Eip1193Provider } from "../chain/eip1193.js";
import { blueLayoutFromManifest, manifestFile } from "./oz-manifest.js";
import { layoutOf } from "./validate-upgrade.js";

export type BlueSource = "manifest" | "release" | "ignition" | "reference";

export interface FoundBlue {
  layout: StorageLayout;
  foundBy: BlueSource;
  /** Blue's contract, when it was not the manifest that knew it (it is then imported into the manifest). */
  build?: ContractBuild;
  /** The release or Ignition future blue was found through, for the record and the output. */
  via?: string;
  /** True when --allow-reference-mismatch let a reference that does not compile to blue's code through. */
  referenceMismatchAllowed?: boolean;
  warnings: string[];
}

/** Compiles a Hardhat build info; Hardhat's `hre.solidity.compileBuildInfo`. */
export type CompileBuildInfo = (buildInfo: any) => Promise<any>;

export interface FindBlueParams {
  provider: Eip1193Provider;
  artifacts: ArtifactSource;
  store: ReleaseStore;
  chainId: number;
  proxy: string;
  blue: string;
  blueCode: string;
  /** Ignition's deployments folder (`ignition/deployments`), when the project has one. */
  ignitionDeploymentsDir?: string;
  /** Rebuilds blue from Ignition's stored build info when the project's sources moved on. */
  compileBuildInfo?: CompileBuildInfo;
  reference?: string;
  allowReferenceMismatch?: boolean;
}

/**
 * Finds blue, in order: OpenZeppelin's manifest; the green of one of our
 * own releases that is now live; Ignition's deployment folder; --reference.
 * A --reference that does not compile to blue's code is refused unless
 * explicitly allowed, since its layout would be trusted as blue's.
 */
export async function findBlue(params: FindBlueParams): Promise<FoundBlue> {
  const warnings: string[] = [];
  const fromManifest = await blueLayoutFromManifest(params.provider, params.blue);
  if (fromManifest !== undefined) {
    if (params.reference) warnings.push(`--reference ${params.reference} was not used: blue's layout comes from OpenZeppelin's manifest.`);
    return { layout: fromManifest, foundBy: "manifest", warnings };
  }

  const fromRelease = await blueFromReleases(params, warnings);
  if (fromRelease !== undefined) return { ...fromRelease, warnings: withUnusedReference(params, warnings, fromRelease.via) };

  const fromIgnition = await blueFromIgnition(params, warnings);
  if (fromIgnition !== undefined) return { ...fromIgnition, warnings: withUnusedReference(params, warnings, fromIgnition.via) };

  if (!params.reference) {
    throw new BlueGreenError(
      "BG_BLUE_UNKNOWN",
      `Blue ${params.blue} (the implementation proxy ${params.proxy} runs) is not recorded in OpenZeppelin's manifest (${await manifestFile(params.provider)}), ` +
        `is not the green of a live release in this project's records, and is not in Ignition's deployments${params.ignitionDeploymentsDir ? ` (${path.join(params.ignitionDeploymentsDir, `chain-${params.chainId}`)})` : ""}, ` +
        "so its storage layout is unknown. Pass --reference <ContractName>, naming the contract of this project that blue was deployed from.",
    );
  }
  const build = await loadContractBuild(params.artifacts, params.reference);
  if (!compilesTo(params.blueCode, build)) {
    if (!params.allowReferenceMismatch) {
      throw new BlueGreenError(
        "BG_REFERENCE_MISMATCH",
        `The reference ${build.fullyQualifiedName} does not compile to the code of blue ${params.blue}, so its storage layout cannot be trusted as blue's. ` +
          "Check that --reference names the contract and version blue was deployed from, and that this build uses the same compiler settings " +
          "(bg:stage builds with the production profile; pass --build-profile <name> if blue was built with another). " +
          "If you have checked the layouts yourself, pass --allow-reference-mismatch; the override is recorded in the release.",
      );
    }
    warnings.push(
      `--allow-reference-mismatch: the reference ${build.fullyQualifiedName} does not compile to blue's deployed code; its layout is trusted as blue's on your word.`,
    );
    return { layout: layoutOf(build), foundBy: "reference", referenceMismatchAllowed: true, warnings };
  }
  return { layout: layoutOf(build), foundBy: "reference", build, warnings };
}

function withUnusedReference(params: FindBlueParams, warnings: string[], via: string | undefined): string[] {
  if (params.reference) warnings.push(`--reference ${params.reference} was not used: blue was found through ${via}.`);
  return warnings;
}

/** States in which a release's green is what the proxy runs. */
const GREEN_RUNS = new Set(["live", "rollback-scheduled", "finalized"]);

async function blueFromReleases(params: FindBlueParams, warnings: string[]): Promise<Omit<FoundBlue, "warnings"> | undefined> {
  const candidates: { name: string; via: string }[] = [];
  for (const id of await params.store.listIds(params.chainId)) {
    let record;
    try {
      record = await params.store.read(params.chainId, id);
    } catch {
      continue; // An unreadable record is bg:status's to report, not a reason to refuse staging.
    }
    if (record === undefined) continue;
    if (GREEN_RUNS.has(record.state) && getAddress(record.green.address) === params.blue) {
      candidates.push({ name: record.green.fullyQualifiedName, via: `release ${record.id} (its green)` });
    } else if (record.state === "rolled-back" && getAddress(record.blue.address) === params.blue && record.upgradeSafety.reference) {
      candidates.push({ name: record.upgradeSafety.reference, via: `release ${record.id} (its blue, rolled back to)` });
    }
  }
  for (const candidate of candidates) {
    let build: ContractBuild;
    try {
      build = await loadContractBuild(params.artifacts, candidate.name);
    } catch (error) {
      warnings.push(`${candidate.via} names ${candidate.name} as blue's contract, but it is not in this build: ${errorMessage(error)}`);
      continue;
    }
    if (compilesTo(params.blueCode, build)) return { layout: layoutOf(build), foundBy: "release", build, via: candidate.via };
    warnings.push(`${candidate.via} names ${candidate.name} as blue's contract, but this build of it no longer compiles to blue's code.`);
  }
  return undefined;
}

const ignitionArtifactFields = ["contractName", "sourceName", "abi", "bytecode", "deployedBytecode"] as const;

async function blueFromIgnition(params: FindBlueParams, warnings: string[]): Promise<Omit<FoundBlue, "warnings"> | undefined> {
  if (params.ignitionDeploymentsDir === undefined) return undefined;
  const folder = path.join(params.ignitionDeploymentsDir, `chain-${params.chainId}`);
  const addresses = await readJsonIfPresent(path.join(folder, "deployed_addresses.json"));
  if (addresses === undefined) return undefined;
  const futureIds = Object.entries(addresses as Record<string, string>)
    .filter(([, address]) => typeof address === "string" && address.toLowerCase() === params.blue.toLowerCase())
    .map(([futureId]) => futureId);
  for (const futureId of futureIds) {
    const via = `Ignition's deployment ${path.basename(folder)} (future ${futureId})`;
    const artifact = (await readJsonIfPresent(path.join(folder, "artifacts", `${futureId}.json`))) as BuildArtifact | undefined;
    if (artifact === undefined || ignitionArtifactFields.some((field) => artifact[field] === undefined)) {
      warnings.push(`${via} records blue, but its artifact is missing or incomplete.`);
      continue;
    }
    // The project's own build of that contract is the cheapest source of its layout.
    try {
      const build = await loadContractBuild(params.artifacts, `${artifact.sourceName}:${artifact.contractName}`);
      if (compilesTo(params.blueCode, build)) return { layout: layoutOf(build), foundBy: "ignition", build, via };
    } catch {
      // Renamed or removed since the deployment: rebuild it from Ignition's own copy below.
    }
    const build = await rebuildFromIgnition(params, folder, artifact, via, warnings);
    if (build !== undefined) return { layout: layoutOf(build), foundBy: "ignition", build, via };
  }
  return undefined;
}

/** Compiles the solc input Ignition stored with the deployment, for a blue whose source the project changed since. */
async function rebuildFromIgnition(
  params: FindBlueParams,
  folder: string,
  artifact: BuildArtifact,
  via: string,
  warnings: string[],
): Promise<ContractBuild | undefined> {
  if (!compilesTo(params.blueCode, { deployedBytecode: artifact.deployedBytecode, hasImmutables: false })) {
    warnings.push(`${via} records blue, but its artifact does not match blue's code on chain.`);
    return undefined;
  }
  const buildInfo = artifact.buildInfoId && (await readJsonIfPresent(path.join(folder, "build-info", `${artifact.buildInfoId}.json`)));
  if (!buildInfo || params.compileBuildInfo === undefined) {
    warnings.push(`${via} records blue as ${artifact.contractName}, but this project's build of it differs and Ignition's build info cannot be compiled here.`);
    return undefined;
  }
  try {
    const output = await params.compileBuildInfo(buildInfo);
    const build = contractBuildFrom(artifact, buildInfo, output);
    return compilesTo(params.blueCode, build) ? build : undefined;
  } catch (error) {
    warnings.push(`${via}: compiling Ignition's build info of ${artifact.contractName} failed: ${errorMessage(error)}`);
    return undefined;
  }
}

async function readJsonIfPresent(file: string): Promise<any | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BlueGreenError("BG_STAGE_IGNITION_FILE_INVALID", `${file} is not valid JSON (${errorMessage(error)}). Restore it from git, or remove the folder if that deployment is gone.`);
  }
}
