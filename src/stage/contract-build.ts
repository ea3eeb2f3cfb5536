/**
 * A compiled contract together with the solc input and output it came from:
 * what OpenZeppelin's validation needs, and what the release records as
 * green's provenance (compiler, settings, source hash).
 */
import { readFile } from "node:fs/promises";

import { keccak256, toUtf8Bytes } from "ethers";

import { BlueGreenError, errorMessage } from "../errors.js";

/** The part of Hardhat's ArtifactManager this module uses; Hardhat's own satisfies it. */
export interface ArtifactSource {
  readArtifact(name: string): Promise<{
    contractName: string;
    sourceName: string;
    inputSourceName?: string;
    abi: readonly unknown[];
    bytecode: string;
    deployedBytecode: string;
    linkReferences: Record<string, unknown>;
    buildInfoId?: string;
  }>;
  getBuildInfoPath(buildInfoId: string): Promise<string | undefined>;
  getBuildInfoOutputPath(buildInfoId: string): Promise<string | undefined>;
}

export interface ContractBuild {
  contractName: string;
  /** `sourceName:contractName`, as the user's project names it. */
  fullyQualifiedName: string;
  /** `inputSourceName:contractName`, as solc (and so OpenZeppelin's validation) names it. */
  solcName: string;
  abi: readonly unknown[];
  bytecode: string;
  deployedBytecode: string;
  solcVersion: string;
  solcLongVersion: string;
  solcInput: any;
  solcOutput: any;
  settings: Record<string, unknown>;
  /** keccak256 of the contract's own source file, as compiled. */
  sourceHash: string;
  /** Immutables are filled in at deploy time, so runtime code differs from the artifact's. */
  hasImmutables: boolean;
}

export async function loadContractBuild(artifacts: ArtifactSource, name: string): Promise<ContractBuild> {
  if (name === "") {
    throw new BlueGreenError("BG_STAGE_CONTRACT_MISSING", "Missing --contract. Pass the name of green's contract in this project, e.g. --contract VaultV2.");
  }
  let artifact: Awaited<ReturnType<ArtifactSource["readArtifact"]>>;
  try {
    artifact = await artifacts.readArtifact(name);
  } catch (error) {
    throw new BlueGreenError(
      "BG_STAGE_CONTRACT_NOT_FOUND",
      `No compiled contract "${name}" in this project: ${errorMessage(error)} ` +
        "Check the name (it is case-sensitive; use sourceName:ContractName if two contracts share it) and that its file is under contracts/.",
    );
  }
  if (Object.keys(artifact.linkReferences).length > 0) {
    throw new BlueGreenError(
      "BG_STAGE_LINKED_LIBRARIES",
      `${name} needs linked libraries, which bg:stage does not deploy. Make the library functions internal, or deploy green yourself.`,
    );
  }
  const buildInfoId = artifact.buildInfoId;
  const inputPath = buildInfoId && (await artifacts.getBuildInfoPath(buildInfoId));
  const outputPath = buildInfoId && (await artifacts.getBuildInfoOutputPath(buildInfoId));
  if (!inputPath || !outputPath) {
    throw new BlueGreenError(
      "BG_STAGE_BUILD_INFO_MISSING",
      `The build info of ${name} is missing from artifacts/build-info. Run \`npx hardhat build --force\` and try again.`,
    );
  }
  const buildInfo = JSON.parse(await readFile(inputPath, "utf8"));
  const { output } = JSON.parse(await readFile(outputPath, "utf8"));
  return contractBuildFrom(artifact, buildInfo, output, name);
}

/** The artifact fields a ContractBuild is made from: Hardhat's, and Ignition's copies of them. */
export type BuildArtifact = Awaited<ReturnType<ArtifactSource["readArtifact"]>>;

/**
 * Joins an artifact with the solc input (a Hardhat build info) and output it
 * came from. Ignition keeps the same artifact and build info beside each
 * deployment, so blue can be rebuilt from them too.
 */
export function contractBuildFrom(artifact: BuildArtifact, buildInfo: any, output: any, name = artifact.contractName): ContractBuild {
  const inputSourceName = artifact.inputSourceName ?? artifact.sourceName;
  const source: string | undefined = buildInfo.input.sources[inputSourceName]?.content;
  if (source === undefined) {
    throw new BlueGreenError("BG_STAGE_BUILD_INFO_MISSING", `The build info of ${name} does not contain its source. Run \`npx hardhat build --force\`.`);
  }
  return {
    contractName: artifact.contractName,
    fullyQualifiedName: `${artifact.sourceName}:${artifact.contractName}`,
    solcName: `${inputSourceName}:${artifact.contractName}`,
    abi: artifact.abi,
    bytecode: artifact.bytecode,
    deployedBytecode: artifact.deployedBytecode,
    solcVersion: buildInfo.solcVersion,
    solcLongVersion: buildInfo.solcLongVersion,
    solcInput: buildInfo.input,
    solcOutput: output,
    settings: buildInfo.input.settings,
    sourceHash: keccak256(toUtf8Bytes(source)),
    hasImmutables:
      Object.keys(output.contracts?.[inputSourceName]?.[artifact.contractName]?.evm?.deployedBytecode?.immutableReferences ?? {}).length > 0,
  };
}

/**
 * True when deployed runtime code is what the build compiles to, ignoring the
 * CBOR metadata tail (paths and comments change it without changing
 * behaviour). Code with immutables is filled in at deploy time and cannot be
 * compared this way, so it is taken as matching.
 */
export function compilesTo(deployed: string, build: Pick<ContractBuild, "deployedBytecode" | "hasImmutables">): boolean {
  if (build.hasImmutables) return true;
  return stripMetadata(deployed) === stripMetadata(build.deployedBytecode);
}

function stripMetadata(code: string): string {
  const hex = code.toLowerCase().replace(/^0x/, "");
  if (hex.length < 4) return hex;
  const metadataLength = parseInt(hex.slice(-4), 16) * 2 + 4;
  return metadataLength < hex.length ? hex.slice(0, hex.length - metadataLength) : hex;
}
