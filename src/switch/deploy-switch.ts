/**
 * Deploys the BlueGreenSwitch from the shipped artifact and records it in
 * the chain's `switch.json`; reuses the recorded one when it is on chain
 * with the settings asked for.
 */
import { rm } from "node:fs/promises";
import path from "node:path";

import { ContractFactory, type Provider, type Signer, getAddress, getCreateAddress, isAddress } from "ethers";
import { z } from "zod";

import { type SendJournal, type SendOnceOptions, eip1193Of, sendJournalSchema, sendOnce, withSenderLock } from "../chain/send-once.js";
import type { Eip1193Provider } from "../chain/eip1193.js";
import { addressSchema } from "../common/schema.js";
import { iso } from "../common/format.js";
import { BlueGreenError } from "../errors.js";
import type { ReleaseStore } from "../release/store.js";
import { checkInitApprover } from "./approver-check.js";
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

/**
 * Deploys a switch with `signer` and waits for it to be mined, without a
 * journal (tests and fixtures). `bg:init` goes through `initSwitch`, which
 * journals the send and deploys exactly once.
 */
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
  /** The same connection as EIP-1193 (default: adapted from `provider`). */
  eip1193?: Eip1193Provider;
  /** Called right after the deploy is broadcast (tests use it to simulate a crash). */
  afterBroadcast?: (hash: string) => void | Promise<void>;
  sending?: Pick<SendOnceOptions, "speedUpAfterMs" | "giveUpAfterMs" | "pollMs" | "maxSpeedUps">;
  senderLockTimeoutMs?: number;
}

/** `.bluegreen/<chainId>/pending-switch.json`: the switch deploy in flight, written before it is broadcast. */
export const SWITCH_DEPLOY_JOURNAL = "pending-switch.json";

export const switchDeployJournalSchema = z
  .object({
    approver: addressSchema,
    guardians: z.array(addressSchema),
    rollbackDelay: z.number().int().positive(),
    rollbackWindow: z.number().int().positive(),
    send: sendJournalSchema,
  })
  .strict();
export type SwitchDeployJournal = z.infer<typeof switchDeployJournalSchema>;

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
  const parameters = checkSwitchParameters(options.parameters);
  // An approver the plugin cannot drive would govern a switch no one can use: refused before anything is deployed or written.
  await checkInitApprover(options.provider, parameters.approver);
  const deployer = await options.signer.getAddress();
  // One run at a time per deploying account: a second bg:init waits, then finds the recorded switch.
  return withSenderLock(options.store.chainDir(options.chainId), deployer, () => initSwitchLocked(options, parameters), {
    ...(options.senderLockTimeoutMs !== undefined ? { timeoutMs: options.senderLockTimeoutMs } : {}),
    ...(options.log !== undefined ? { log: options.log } : {}),
  });
}

async function initSwitchLocked(options: InitSwitchOptions, parameters: SwitchParameters): Promise<InitSwitchResult> {
  const { store, chainId, provider, networkName } = options;
  const log = options.log ?? (() => {});
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
      // A run that died between writing switch.json and removing its journal: that journal is done with.
      const journal = await store.readChainFile(chainId, SWITCH_DEPLOY_JOURNAL, switchDeployJournalSchema);
      if (journal !== undefined && getCreateAddress({ from: journal.send.from, nonce: journal.send.nonce }) === getAddress(recorded.address)) {
        await store.withLock(chainId, () => rm(path.join(store.chainDir(chainId), SWITCH_DEPLOY_JOURNAL), { force: true }));
      }
      return { reused: true, file: recorded, path: filePath };
    }
    log(
      `The switch recorded at ${recorded.address} has no code on chain ${chainId} (a restarted development node?). Deploying a new one.`,
    );
  }
  const journal = await store.readChainFile(chainId, SWITCH_DEPLOY_JOURNAL, switchDeployJournalSchema);
  if (journal !== undefined && compareSettings(parameters, journal).length > 0) {
    throw new BlueGreenError(
      "BG_SWITCH_DEPLOY_JOURNALED",
      `An interrupted bg:init journaled a switch deploy with other settings (${compareSettings(parameters, journal).join("; ")}) in ` +
        `${path.relative(process.cwd(), path.join(store.chainDir(chainId), SWITCH_DEPLOY_JOURNAL))}, at nonce ${journal.send.nonce} of ${journal.send.from}. ` +
        "Run bg:init again with those settings to finish that deploy (it may still land), or, if it never reached the chain, delete that file.",
    );
  }
  if (journal === undefined) await checkChainOpcodes(provider, networkName);
  log(
    journal !== undefined
      ? `Resuming the journaled deploy of the switch at nonce ${journal.send.nonce} of ${journal.send.from}...`
      : `Deploying BlueGreenSwitch on network "${networkName}" (chain ${chainId}) from ${await options.signer.getAddress()}...`,
  );
  const deployment = await deploySwitchOnce(options, parameters, journal?.send);
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
  // switch.json now holds the deployment the journal was for: the journal is done with.
  await store.withLock(chainId, () => rm(path.join(store.chainDir(chainId), SWITCH_DEPLOY_JOURNAL), { force: true }));
  return { reused: false, file, path: filePath };
}

/** The journaled, exactly-once deploy of the switch (resumed from `previous` when a run died mid-send). */
async function deploySwitchOnce(options: InitSwitchOptions, parameters: SwitchParameters, previous: SendJournal | undefined): Promise<SwitchDeployment> {
  const { store, chainId } = options;
  const artifact = await loadSwitchArtifact();
  const factory = new ContractFactory(artifact.abi, artifact.bytecode, options.signer);
  const { data } = await factory.getDeployTransaction(parameters.approver, parameters.guardians, parameters.rollbackDelay, parameters.rollbackWindow);
  const provider = options.eip1193 ?? eip1193Of(options.provider);
  const journalFile = path.join(store.chainDir(chainId), SWITCH_DEPLOY_JOURNAL);
  let outcome;
  try {
    outcome = await sendOnce({
      provider,
      signer: options.signer,
      request: { data },
      ...(previous !== undefined ? { previous } : {}),
      save: (send) => store.writeChainFile(chainId, SWITCH_DEPLOY_JOURNAL, { ...parameters, send } satisfies SwitchDeployJournal).then(() => undefined),
      discard: () => store.withLock(chainId, () => rm(journalFile, { force: true })),
      ...(options.afterBroadcast !== undefined ? { afterBroadcast: options.afterBroadcast } : {}),
      ...(options.log !== undefined ? { log: options.log } : {}),
      ...options.sending,
    });
  } catch (error) {
    const revert = await decodeSwitchRevert(error);
    if (revert !== undefined) throw new BlueGreenError("BG_SWITCH_REVERT", `Deploying the switch failed. ${explainSwitchRevert(revert)}`, { cause: error as Error });
    if (BlueGreenError.is(error, "BG_SEND_FAILED")) {
      throw new BlueGreenError("BG_SWITCH_DEPLOY_FAILED", `Deploying the switch failed. ${error.shortMessage}`, { cause: error });
    }
    throw error;
  }
  if (outcome.kind === "taken") {
    throw new BlueGreenError(
      "BG_SWITCH_DEPLOY_NONCE_TAKEN",
      `The switch deploy was journaled at nonce ${outcome.nonce}, but another transaction${outcome.by !== undefined ? ` (${outcome.by})` : ""} used that nonce, so the switch was never deployed by it. ` +
        `Check that nothing else sends from this account while bg:init runs, then delete ${path.relative(process.cwd(), journalFile)} and run bg:init again.`,
    );
  }
  const receipt = outcome.receipt;
  if (receipt.status !== 1 || receipt.contractAddress === null) {
    await store.withLock(chainId, () => rm(journalFile, { force: true }));
    throw new BlueGreenError("BG_SWITCH_DEPLOY_FAILED", `The switch deployment transaction ${receipt.hash} failed. Check the deployer's balance and the network, then run bg:init again.`);
  }
  const block = (await provider.request({ method: "eth_getBlockByNumber", params: ["0x" + receipt.blockNumber.toString(16), false] })) as { timestamp: string };
  return { address: receipt.contractAddress, deployTx: receipt.hash, blockNumber: receipt.blockNumber, deployedAt: iso(Number(block.timestamp)) };
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

/**
 * bg:init needs at least one guardian (the monitor's automatic rollback is a
 * guardian's), unless --no-guardians says, on purpose, to deploy without:
 * then the warning to print (and to put in --json) is returned.
 */
export function checkGuardiansChoice(guardians: string[], noGuardians: boolean): string | undefined {
  if (noGuardians && guardians.length > 0) {
    throw new BlueGreenError("BG_SWITCH_OPTIONS", "--guardians and --no-guardians contradict each other. Pass guardians, or --no-guardians to deploy without any.");
  }
  if (noGuardians) return NO_GUARDIANS_WARNING;
  if (guardians.length === 0) {
    throw new BlueGreenError(
      "BG_SWITCH_NO_GUARDIANS",
      "Missing --guardians. Pass at least one guardian, who may schedule a rollback: --guardians 0x…,0x…. " +
        "Without one only the approver can start a rollback, and bg:monitor cannot roll back automatically; to deploy so anyway, pass --no-guardians.",
    );
  }
  return undefined;
}

export const NO_GUARDIANS_WARNING =
  "The switch has no guardian (--no-guardians): only the approver can start a rollback, and bg:monitor cannot roll back automatically. " +
  "Add one later through the approver: npx hardhat bg:call propose --function addGuardian --args '[\"<guardian>\"]'.";

/** Splits a comma-separated address list; empty entries are ignored. */
export function parseAddressList(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}
