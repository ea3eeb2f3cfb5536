/**
 * Deploys green exactly once. An identical green already recorded on this
 * chain (same creation code, still on chain) is reused. A deploy that was
 * interrupted after its transaction was sent is resumed from a journal
 * written *before* sending: the deployer and nonce fix the CREATE address,
 * so the next run finds the contract instead of deploying a second one.
 */
import { getCreateAddress, keccak256, type Signer } from "ethers";
import { z } from "zod";

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
}

export async function deployGreen(params: DeployGreenParams): Promise<GreenDeployment> {
  const { provider, signer, store, chainId, releaseId, build } = params;
  const creationCodeHash = keccak256(build.bytecode);

  const reused = await findRecordedDeployment(params, creationCodeHash);
  if (reused !== undefined) return reused;

  const journal = await store.readReleaseFile(chainId, releaseId, DEPLOY_JOURNAL, journalSchema);
  if (journal !== undefined && journal.creationCodeHash === creationCodeHash) {
    const resumed = await resumeFromJournal(provider, journal, build);
    if (resumed !== undefined) {
      params.log?.(`Resumed an interrupted deploy: green is at ${resumed.address}`);
      return resumed;
    }
  }

  const deployer = await signer.getAddress();
  const nonce = await signer.getNonce("pending");
  const entry: DeployJournal = { creationCodeHash, deployer, nonce, sentAt: new Date().toISOString() };
  await store.writeReleaseFile(chainId, releaseId, DEPLOY_JOURNAL, entry);

  let tx;
  try {
    tx = await signer.sendTransaction({ data: build.bytecode, nonce });
  } catch (error) {
    await store.removeReleaseFile(chainId, releaseId, DEPLOY_JOURNAL);
    throw new BlueGreenError(
      "BG_STAGE_DEPLOY_FAILED",
      `Deploying green (${build.contractName}) from ${deployer} failed: ${(error as Error).message}. ` +
        "Check that the account has funds and the network is reachable, then run bg:stage again.",
    );
  }
  await store.writeReleaseFile(chainId, releaseId, DEPLOY_JOURNAL, { ...entry, txHash: tx.hash });
  const receipt = await tx.wait();
  if (receipt === null || receipt.status !== 1 || receipt.contractAddress === null) {
    await store.removeReleaseFile(chainId, releaseId, DEPLOY_JOURNAL);
    throw new BlueGreenError(
      "BG_STAGE_DEPLOY_REVERTED",
      `The deploy transaction of green ${tx.hash} reverted. Check the constructor of ${build.contractName} and the gas limit.`,
    );
  }
  const address = receipt.contractAddress;
  return { address, codehash: keccak256(await getCode(provider, address)), deployer, deployTx: tx.hash, how: "deployed" };
}

/** The journal is removed only once the release record holds the deployment. */
export async function clearDeployJournal(store: ReleaseStore, chainId: number, releaseId: string): Promise<void> {
  await store.removeReleaseFile(chainId, releaseId, DEPLOY_JOURNAL);
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

async function resumeFromJournal(
  provider: Eip1193Provider,
  journal: DeployJournal,
  build: ContractBuild,
): Promise<GreenDeployment | undefined> {
  const address = getCreateAddress({ from: journal.deployer, nonce: journal.nonce });
  const code = await getCode(provider, address);
  if (code === "0x") {
    // The journaled transaction never landed (dropped, or the chain was reset): deploy afresh.
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
