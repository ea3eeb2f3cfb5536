/**
 * The BlueGreenSwitch contract's compiled artifact (ABI and bytecode).
 *
 * The package ships it under `artifacts-dist/` (a Hardhat artifact file, so
 * other tools can use it too); inside this repository it comes from the
 * Hardhat build in `artifacts/`. Library code loads it from here rather than
 * through `hre.artifacts`, which only knows the user's own contracts.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";

import { Interface, type InterfaceAbi } from "ethers";

import { BlueGreenError } from "../errors.js";
import { packageRoot } from "../packaged-artifacts.js";

export { packageRoot };

export const SWITCH_CONTRACT_NAME = "BlueGreenSwitch";

const RELATIVE_ARTIFACT = path.join("contracts", "BlueGreenSwitch.sol", "BlueGreenSwitch.json");

/** The fields of a Hardhat artifact that deploying and calling the switch need. */
export interface SwitchArtifact {
  contractName: string;
  sourceName: string;
  abi: InterfaceAbi;
  bytecode: string;
  deployedBytecode: string;
}

let cached: Promise<SwitchArtifact> | undefined;

/**
 * Candidate artifact files, in order: the shipped copy first, then this
 * repository's build output.
 */
export function switchArtifactCandidates(root: string = packageRoot()): string[] {
  return [path.join(root, "artifacts-dist", RELATIVE_ARTIFACT), path.join(root, "artifacts", RELATIVE_ARTIFACT)];
}

/** Loads (once) and checks the switch artifact. */
export function loadSwitchArtifact(): Promise<SwitchArtifact> {
  cached ??= readSwitchArtifact(switchArtifactCandidates()).catch((error: unknown) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

/** Reads the first candidate that exists; exported for tests. */
export async function readSwitchArtifact(candidates: string[]): Promise<SwitchArtifact> {
  const file = candidates.find((f) => existsSync(f));
  if (file === undefined) {
    throw new BlueGreenError(
      "BG_SWITCH_ARTIFACT",
      `The ${SWITCH_CONTRACT_NAME} artifact is missing (looked in ${candidates.join(" and ")}). ` +
        "Reinstall hardhat-bluegreen; in its own repository, run `npx hardhat build` first.",
    );
  }
  const artifact = JSON.parse(await readFile(file, "utf8")) as Partial<SwitchArtifact>;
  if (
    artifact.contractName !== SWITCH_CONTRACT_NAME ||
    !Array.isArray(artifact.abi) ||
    typeof artifact.bytecode !== "string" ||
    !artifact.bytecode.startsWith("0x") ||
    artifact.bytecode.length <= 2
  ) {
    throw new BlueGreenError("BG_SWITCH_ARTIFACT", `${file} is not a ${SWITCH_CONTRACT_NAME} artifact with ABI and bytecode. Reinstall hardhat-bluegreen.`);
  }
  return artifact as SwitchArtifact;
}

/** The switch's ABI as an ethers Interface (for encoding calls and decoding logs and errors). */
export async function switchInterface(): Promise<Interface> {
  return new Interface((await loadSwitchArtifact()).abi);
}
