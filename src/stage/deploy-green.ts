/**
 * Deploys green exactly once. An identical green already recorded on this
 * chain (same creation code, still on chain) is reused. A deploy that was
 * interrupted after its transaction was sent is resumed from a journal
 * written *before* sending: the deployer and nonce fix the CREATE address,
 * so the next run finds the contract instead of deploying a second one.
 */
import { getAddress, getCreateAddress, keccak256, type Signer } from "ethers";
import { z } from "zod";

import { type SendJournal, type SendOnceOptions, sendJournalSchema, sendOnce } from "../chain/send-once.js";
import { BlueGreenError } from "../errors.js";
import type { ReleaseStore } from "../release/store.js";
import type { ContractBuild } from "./contract-build.js";
import type { Eip1193Provider } from "../chain/eip1193.js";
import { getCode } from "./read-proxy.js";

export const DEPLOY_JOURNAL = "pending-deploy.json";

const journalSchema = z
  .object({
    creationCodeHash: z.string(),
    deployer: z.string(),
    nonce: z.number().int().nonnegative(),
    txHash: z.string().optional(),
    sentAt: z.string(),
    /** The send itself: nonce, every signed version and its hash, written before each broadcast. */
    send: sendJournalSchema.optional(),
  })
  .strict();
type DeployJournal = z.infer<typeof journalSchema>;

export interface GreenDeployment {
  address: string;
  codehash: string;
  deployer: string;
  deployTx?: string;
  /**
   * How we got it: a fresh deploy, an earlier release's, a resumed
   * interrupted deploy, or one OpenZeppelin's tools deployed (found in their manifest).
   */
  how: "deployed" | "reused" | "resumed" | "manifest";
}

export interface DeployGreenParams {
  provider: Eip1193Provider;
  signer: Signer;
  store: ReleaseStore;
  chainId: number;
  releaseId: string;
  build: ContractBuild;
  /** Called with a short line for people when something notable happens. */
  log?: (line: string) => void;
  /** Called right after the deploy is broadcast (tests use it to simulate a crash). */
  afterBroadcast?: (hash: string) => void | Promise<void>;
  /** How long to wait before speeding up a pending deploy, and the like (tests shorten them). */
  sending?: Pick<SendOnceOptions, "speedUpAfterMs" | "giveUpAfterMs" | "pollMs" | "maxSpeedUps">;
}

export async function deployGreen(params: DeployGreenParams): Promise<GreenDeployment> {
  const { provider, signer, store, chainId, releaseId, build } = params;
  const creationCodeHash = keccak256(build.bytecode);

  const reused = await findRecordedDeployment(params, creationCodeHash);
  if (reused !== undefined) return reused;

  const journal = await store.readReleaseFile(chainId, releaseId, DEPLOY_JOURNAL, journalSchema);
  let previous: SendJournal | undefined;
  if (journal !== undefined && journal.creationCodeHash === creationCodeHash) {
    if (journal.send !== undefined) {
      previous = journal.send;
      params.log?.(`Resuming the journaled deploy of green at nonce ${journal.nonce} of ${journal.deployer}.`);
    } else {
      // A journal of an older version, without the signed transaction: the CREATE address and the nonce tell.
      const resumed = await resumeFromLegacyJournal(provider, journal, build);
      if (resumed !== undefined) {
        params.log?.(`Resumed an interrupted deploy: green is at ${resumed.address}`);
        return resumed;
      }
    }
  }

  const save = (send: SendJournal) =>
    store
      .writeReleaseFile(chainId, releaseId, DEPLOY_JOURNAL, {
        creationCodeHash,
        deployer: send.from,
        nonce: send.nonce,
        ...(send.attempts.at(-1)?.hash !== undefined ? { txHash: send.attempts.at(-1)!.hash } : {}),
        sentAt: journal?.sentAt ?? new Date().toISOString(),
        send,
      } satisfies DeployJournal)
      .then(() => undefined);
  let outcome;
  try {
    outcome = await sendOnce({
      provider,
      signer,
      request: { data: build.bytecode },
      ...(previous !== undefined ? { previous } : {}),
      save,
      discard: () => store.removeReleaseFile(chainId, releaseId, DEPLOY_JOURNAL),
      ...(params.afterBroadcast !== undefined ? { afterBroadcast: params.afterBroadcast } : {}),
      ...(params.log !== undefined ? { log: params.log } : {}),
      ...params.sending,
    });
  } catch (error) {
    if (BlueGreenError.is(error, "BG_SEND_FAILED")) {
      throw new BlueGreenError("BG_STAGE_DEPLOY_FAILED", `Deploying green (${build.contractName}) failed. ${error.shortMessage}`, { cause: error });
    }
    throw error;
  }
  const deployer = getAddress(await signer.getAddress());
  if (outcome.kind === "taken") {
    const sent = (await store.readReleaseFile(chainId, releaseId, DEPLOY_JOURNAL, journalSchema))!;
    throw new BlueGreenError(
      "BG_STAGE_DEPLOY_NONCE_TAKEN",
      `The deploy of green (${build.contractName}) was journaled at nonce ${outcome.nonce} of ${sent.deployer}, but another transaction${outcome.by !== undefined ? ` (${outcome.by})` : ""} used that nonce, so green was never deployed by it. ` +
        `Check that nothing else sends from this account while bg:stage runs, then delete ${DEPLOY_JOURNAL} in the release folder (${store.releaseDir(chainId, releaseId)}) and run bg:stage again.`,
    );
  }
  const receipt = outcome.receipt;
  if (receipt.status !== 1 || receipt.contractAddress === null) {
    await store.removeReleaseFile(chainId, releaseId, DEPLOY_JOURNAL);
    throw new BlueGreenError(
      "BG_STAGE_DEPLOY_REVERTED",
      `The deploy transaction of green ${receipt.hash} reverted. Check the constructor of ${build.contractName} and the gas limit.`,
    );
  }
  const address = receipt.contractAddress;
  const code = await getCode(provider, address);
  if (!build.hasImmutables && code.toLowerCase() !== build.deployedBytecode.toLowerCase()) {
    throw new BlueGreenError(
      "BG_STAGE_DEPLOY_JOURNAL_CONFLICT",
      `The journaled deploy at nonce ${receipt.nonce} of ${receipt.from} created ${address}, which holds other code than ${build.contractName}. ` +
        `Delete ${DEPLOY_JOURNAL} in the release folder and run bg:stage again.`,
    );
  }
  if (outcome.resumed) params.log?.(`Resumed an interrupted deploy: green is at ${address}`);
  return {
    address,
    codehash: keccak256(code),
    deployer: receipt.from ?? deployer,
    deployTx: receipt.hash,
    how: outcome.resumed ? "resumed" : "deployed",
  };
}

/**
 * The journal is removed only once the release record holds the deployment
 * it journals: a journal of another deployment (an orphan) stays, for
 * bg:status to report.
 */
export async function clearDeployJournal(store: ReleaseStore, chainId: number, releaseId: string, recordedGreen: string): Promise<boolean> {
  const journal = await store.readReleaseFile(chainId, releaseId, DEPLOY_JOURNAL, journalSchema);
  if (journal === undefined) return false;
  if (getCreateAddress({ from: journal.deployer, nonce: journal.nonce }) !== getAddress(recordedGreen)) return false;
  await store.removeReleaseFile(chainId, releaseId, DEPLOY_JOURNAL);
  return true;
}

/** Reads a release's deploy journal (for the orphan report). */
export async function readDeployJournal(store: ReleaseStore, chainId: number, releaseId: string): Promise<DeployJournal | undefined> {
  return store.readReleaseFile(chainId, releaseId, DEPLOY_JOURNAL, journalSchema);
}

async function findRecordedDeployment(
  { provider, store, chainId }: DeployGreenParams,
  creationCodeHash: string,
): Promise<GreenDeployment | undefined> {
  for (const id of await store.listIds(chainId)) {
    const record = await store.read(chainId, id);
    if (record === undefined || record.green.creationCodeHash !== creationCodeHash) continue;
    const code = await getCode(provider, record.green.address);
    if (code !== "0x" && keccak256(code) === record.green.codehash) {
      return {
        address: record.green.address,
        codehash: record.green.codehash,
        deployer: record.green.deployer,
        ...(record.green.deployTx !== undefined ? { deployTx: record.green.deployTx } : {}),
        how: "reused",
      };
    }
  }
  return undefined;
}

async function resumeFromLegacyJournal(
  provider: Eip1193Provider,
  journal: DeployJournal,
  build: ContractBuild,
): Promise<GreenDeployment | undefined> {
  const address = getCreateAddress({ from: journal.deployer, nonce: journal.nonce });
  const code = await getCode(provider, address);
  if (code === "0x") {
    const latest = Number(await provider.request({ method: "eth_getTransactionCount", params: [journal.deployer, "latest"] }));
    const pending = Number(await provider.request({ method: "eth_getTransactionCount", params: [journal.deployer, "pending"] }));
    if (latest > journal.nonce) {
      throw new BlueGreenError(
        "BG_STAGE_DEPLOY_NONCE_TAKEN",
        `The deploy of green (${build.contractName}) was journaled at nonce ${journal.nonce} of ${journal.deployer}, but another transaction used that nonce, so green was never deployed by it. ` +
          `Check that nothing else sends from this account while bg:stage runs, then delete ${DEPLOY_JOURNAL} in the release folder and run bg:stage again.`,
      );
    }
    if (pending > journal.nonce) {
      throw new BlueGreenError(
        "BG_SEND_PENDING",
        `The transaction at nonce ${journal.nonce} of ${journal.deployer} (the journaled deploy of green) is still pending. ` +
          "It is journaled: run the command again later to keep waiting for it (it is never sent at another nonce).",
      );
    }
    // The nonce is still free: nothing of the journaled deploy reached the chain, so it may be sent (at that nonce).
    return undefined;
  }
  if (!build.hasImmutables && code.toLowerCase() !== build.deployedBytecode.toLowerCase()) {
    throw new BlueGreenError(
      "BG_STAGE_DEPLOY_JOURNAL_CONFLICT",
      `An interrupted deploy was journaled for nonce ${journal.nonce} of ${journal.deployer}, but ${address} holds other code than ${build.contractName}. ` +
        `Something else used that nonce. Delete ${DEPLOY_JOURNAL} in the release folder and run bg:stage again.`,
    );
  }
  return {
    address,
    codehash: keccak256(code),
    deployer: journal.deployer,
    ...(journal.txHash !== undefined ? { deployTx: journal.txHash } : {}),
    how: "resumed",
  };
}
