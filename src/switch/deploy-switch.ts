/**
 * Deploys the BlueGreenSwitch from the shipped artifact and records it in
 * the chain's `switch.json`; reuses the recorded one when it is on chain
 * with the settings asked for.
 */
import path from "node:path";

import { ContractFactory, type Provider, type Signer, getAddress, isAddress } from "ethers";

import { iso } from "../common/format.js";
import { BlueGreenError } from "../errors.js";
import type { ReleaseStore } from "../release/store.js";
import { loadSwitchArtifact } from "./artifact.js";
import { checkChainOpcodes } from "./chain-opcodes.js";
import { SWITCH_BOUNDS } from "./config.js";
import { decodeSwitchRevert, isSwitchAt, readSwitchSettings } from "./read-switch.js";
import { explainSwitchRevert } from "./switch-errors.js";
import { SWITCH_FILE, SWITCH_FILE_SCHEMA_VERSION, type SwitchFile, readSwitchFile, writeSwitchFile } from "./switch-file.js";

export interface SwitchParameters {
  approver: string;
  guardians: string[];
  /** Seconds. */
  rollbackDelay: number;
  /** Seconds. */
  rollbackWindow: number;
}

export interface SwitchDeployment {
  address: string;
  deployTx: string;
  blockNumber: number;
  /** ISO 8601 time of the deployment block. */
  deployedAt: string;
}

/**
 * Normalizes and checks the constructor arguments against the contract's
 * rules, so that mistakes fail here with a message instead of as a revert.
 */
export function checkSwitchParameters(raw: SwitchParameters): SwitchParameters {
  const approver = parseSwitchAddress(raw.approver, "--approver");
  if (BigInt(approver) === 0n) throw new BlueGreenError("BG_SWITCH_OPTIONS", "--approver is the zero address. Pass the Safe (or account) that approves releases.");
  const guardians: string[] = [];
  for (const g of raw.guardians) {
    const guardian = parseSwitchAddress(g, "--guardians");
    if (BigInt(guardian) === 0n) throw new BlueGreenError("BG_SWITCH_OPTIONS", "--guardians lists the zero address. Remove it.");
    if (guardians.includes(guardian)) throw new BlueGreenError("BG_SWITCH_OPTIONS", `--guardians lists ${guardian} twice. List each guardian once.`);
    guardians.push(guardian);
  }
  const { rollbackDelay, rollbackWindow } = raw;
  const days = (s: number) => `${s / 86400} days`;
  if (!Number.isInteger(rollbackDelay) || rollbackDelay < SWITCH_BOUNDS.minRollbackDelay || rollbackDelay > SWITCH_BOUNDS.maxRollbackDelay) {
    throw new BlueGreenError(
      "BG_SWITCH_OPTIONS",
      `--rollback-delay ${rollbackDelay} is out of bounds. Pass whole seconds from ${SWITCH_BOUNDS.minRollbackDelay} (1 minute) to ${SWITCH_BOUNDS.maxRollbackDelay} (${days(SWITCH_BOUNDS.maxRollbackDelay)}).`,
    );
  }
  if (!Number.isInteger(rollbackWindow) || rollbackWindow < SWITCH_BOUNDS.minRollbackWindow || rollbackWindow > SWITCH_BOUNDS.maxRollbackWindow) {
    throw new BlueGreenError(
      "BG_SWITCH_OPTIONS",
      `--rollback-window ${rollbackWindow} is out of bounds. Pass whole seconds from ${SWITCH_BOUNDS.minRollbackWindow} (1 hour) to ${SWITCH_BOUNDS.maxRollbackWindow} (${days(SWITCH_BOUNDS.maxRollbackWindow)}).`,
    );
  }
  if (rollbackDelay >= rollbackWindow) {
    throw new BlueGreenError(
      "BG_SWITCH_OPTIONS",
      `--rollback-delay (${rollbackDelay}s) must be shorter than --rollback-window (${rollbackWindow}s): a scheduled rollback must be able to become executable inside the window.`,
    );
  }
  return { approver, guardians, rollbackDelay, rollbackWindow };
}

function parseSwitchAddress(value: string, option: string): string {
  const trimmed = value.trim();
  if (/^0x[0-9a-fA-F]{40}$/.test(trimmed) && !isAddress(trimmed)) {
    throw new BlueGreenError("BG_SWITCH_OPTIONS", `${option}: "${value}" has an invalid EIP-55 checksum. Copy it again, or write it all in lower case.`);
  }
  if (!isAddress(trimmed)) {
    throw new BlueGreenError("BG_SWITCH_OPTIONS", `${option}: "${value}" is not an address. Pass 0x-prefixed 20-byte hex addresses${option === "--guardians" ? ", separated by commas" : ""}.`);
  }
  return getAddress(trimmed);
}

/** Deploys a switch with `signer` and waits for it to be mined. */
export async function deploySwitch(signer: Signer, parameters: SwitchParameters): Promise<SwitchDeployment> {
  const artifact = await loadSwitchArtifact();
  const factory = new ContractFactory(artifact.abi, artifact.bytecode, signer);
  let contract;
  try {
    contract = await factory.deploy(parameters.approver, parameters.guardians, parameters.rollbackDelay, parameters.rollbackWindow);
  } catch (error) {
    const revert = await decodeSwitchRevert(error);
    if (revert !== undefined) throw new BlueGreenError("BG_SWITCH_REVERT", `Deploying the switch failed. ${explainSwitchRevert(revert)}`, { cause: error as Error });
    throw error;
  }
  const tx = contract.deploymentTransaction();
  const receipt = await tx?.wait();
  if (tx === null || receipt === null || receipt === undefined || receipt.status !== 1) {
    throw new BlueGreenError("BG_SWITCH_DEPLOY_FAILED", `The switch deployment transaction ${tx?.hash ?? "(unknown)"} failed. Check the deployer's balance and the network, then run bg:init again.`);
  }
  const block = await receipt.getBlock();
  return {
    address: getAddress(await contract.getAddress()),
    deployTx: receipt.hash,
    blockNumber: receipt.blockNumber,
    deployedAt: iso(block.timestamp),
  };
}

export interface InitSwitchOptions {
  store: ReleaseStore;
  chainId: number;
  networkName: string;
  provider: Provider;
  /** Deploys, when a deployment is needed. */
  signer: Signer;
  parameters: SwitchParameters;
  log?: (line: string) => void;
}

export interface InitSwitchResult {
  /** True when the recorded switch was on chain with these settings and nothing was deployed. */
  reused: boolean;
  file: SwitchFile;
  /** Path of switch.json. */
  path: string;
}

/**
 * Makes sure the chain has a switch with `parameters`. Idempotent: a
 * recorded switch that is on chain with the same settings is reused; one
 * with other settings is an error (deploying a second switch silently would
 * split releases between two switches). A recorded switch whose code is gone
 * (a restarted development node) is replaced.
 */
export async function initSwitch(options: InitSwitchOptions): Promise<InitSwitchResult> {
  const { store, chainId, provider, networkName } = options;
  const log = options.log ?? (() => {});
  const parameters = checkSwitchParameters(options.parameters);
  const filePath = path.join(store.chainDir(chainId), SWITCH_FILE);
  const recorded = await readSwitchFile(store, chainId);
  if (recorded !== undefined) {
    const code = await provider.getCode(recorded.address);
    if (code !== "0x" && (await isSwitchAt(provider, recorded.address))) {
      const onChain = await readSwitchSettings(provider, recorded.address);
      const differences = compareSettings(parameters, onChain);
      if (differences.length > 0) {
        throw new BlueGreenError(
          "BG_SWITCH_EXISTS",
          `A switch is already deployed on network "${networkName}" at ${recorded.address} (recorded in ${path.relative(process.cwd(), filePath)}), ` +
            `but with other settings: ${differences.join("; ")}. Use that switch (rotate the approver or guardians on it), ` +
            `or, to deploy a new switch, move that file away first.`,
        );
      }
      log(`Reusing the switch at ${recorded.address} recorded in ${path.relative(process.cwd(), filePath)}.`);
      return { reused: true, file: recorded, path: filePath };
    }
    log(
      `The switch recorded at ${recorded.address} has no code on chain ${chainId} (a restarted development node?). Deploying a new one.`,
    );
  }
  await checkChainOpcodes(provider, networkName);
  log(`Deploying BlueGreenSwitch on network "${networkName}" (chain ${chainId}) from ${await options.signer.getAddress()}...`);
  const deployment = await deploySwitch(options.signer, parameters);
  const file: SwitchFile = {
    schemaVersion: SWITCH_FILE_SCHEMA_VERSION,
    chainId,
    address: deployment.address,
    approver: parameters.approver,
    guardians: parameters.guardians,
    rollbackDelay: parameters.rollbackDelay,
    rollbackWindow: parameters.rollbackWindow,
    deployTx: deployment.deployTx,
    blockNumber: deployment.blockNumber,
    deployedAt: deployment.deployedAt,
  };
  await writeSwitchFile(store, file);
  return { reused: false, file, path: filePath };
}

function compareSettings(wanted: SwitchParameters, onChain: SwitchParameters): string[] {
  const differences: string[] = [];
  if (wanted.approver !== getAddress(onChain.approver)) differences.push(`approver ${onChain.approver}, not ${wanted.approver}`);
  const have = new Set(onChain.guardians.map((g) => getAddress(g)));
  const want = new Set(wanted.guardians);
  if (have.size !== want.size || [...want].some((g) => !have.has(g))) {
    differences.push(`guardians [${[...have].join(", ")}], not [${[...want].join(", ")}]`);
  }
  if (wanted.rollbackDelay !== onChain.rollbackDelay) differences.push(`rollback delay ${onChain.rollbackDelay}s, not ${wanted.rollbackDelay}s`);
  if (wanted.rollbackWindow !== onChain.rollbackWindow) differences.push(`rollback window ${onChain.rollbackWindow}s, not ${wanted.rollbackWindow}s`);
  return differences;
}

/**
 * Parses a duration option: whole seconds ("3600") or a number with a unit
 * s, m, h or d ("90m", "7d"). Empty gives `fallback`.
 */
export function parseDurationOption(value: string, option: string, fallback: number): number {
  const trimmed = value.trim();
  if (trimmed === "") return fallback;
  const match = /^(\d+)\s*([smhd]?)$/.exec(trimmed);
  if (match === null) {
    throw new BlueGreenError("BG_SWITCH_OPTIONS", `${option} "${value}" is not a duration. Pass whole seconds (3600) or a number with s, m, h or d (1h, 7d).`);
  }
  const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as "" | "s" | "m" | "h" | "d"];
  return Number(match[1]) * unit;
}

/** Splits a comma-separated address list; empty entries are ignored. */
export function parseAddressList(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}
