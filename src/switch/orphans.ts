/**
 * Orphaned deployments: contracts our own journaled sends created that no
 * record points at. A deploy journal names the deployer and the nonce, so the
 * CREATE address is known; when that address holds code and neither a
 * release record (green) nor switch.json (the switch) points at it, the
 * contract is an orphan: paid for, on chain, and used by nothing. `bg:status`
 * lists them so that nobody mistakes one for the release's green.
 */
import path from "node:path";

import { getAddress, getCreateAddress } from "ethers";

import type { Eip1193Provider } from "../chain/eip1193.js";
import type { ReleaseStore } from "../release/store.js";
import { DEPLOY_JOURNAL, readDeployJournal } from "../stage/deploy-green.js";
import { getCode } from "../stage/read-proxy.js";
import { SWITCH_DEPLOY_JOURNAL, switchDeployJournalSchema } from "./deploy-switch.js";
import { readSwitchFile } from "./switch-file.js";

export interface OrphanedDeployment {
  /** What the journaled deploy was for. */
  kind: "green" | "switch";
  /** The release whose deploy journal it is (for a green). */
  release?: string;
  address: string;
  deployer: string;
  nonce: number;
  /** The journal that names it. */
  journal: string;
  reason: string;
}

/**
 * The orphaned deployments this chain's journals reveal. Read-only: it never
 * changes a file; a journal of a deploy that is still pending or never landed
 * (no code at its address) is not an orphan.
 */
export async function listOrphanedDeployments({
  store,
  provider,
  chainId,
}: {
  store: ReleaseStore;
  provider: Eip1193Provider;
  chainId: number;
}): Promise<OrphanedDeployment[]> {
  const orphans: OrphanedDeployment[] = [];
  const recordedGreens = new Set<string>();
  const journals: Array<{ release: string; deployer: string; nonce: number }> = [];
  for (const id of await store.listIds(chainId)) {
    const record = await store.read(chainId, id).catch(() => undefined);
    if (record !== undefined) recordedGreens.add(getAddress(record.green.address));
    const journal = await readDeployJournal(store, chainId, id).catch(() => undefined);
    if (journal !== undefined) journals.push({ release: id, deployer: getAddress(journal.deployer), nonce: journal.nonce });
  }
  for (const j of journals) {
    const address = getCreateAddress({ from: j.deployer, nonce: j.nonce });
    if (recordedGreens.has(address) || (await getCode(provider, address)) === "0x") continue;
    orphans.push({
      kind: "green",
      release: j.release,
      address,
      deployer: j.deployer,
      nonce: j.nonce,
      journal: path.join(store.releaseDir(chainId, j.release), DEPLOY_JOURNAL),
      reason: `a deploy journaled for release "${j.release}" created this contract, but no release record points at it`,
    });
  }
  const switchJournal = await store.readChainFile(chainId, SWITCH_DEPLOY_JOURNAL, switchDeployJournalSchema).catch(() => undefined);
  if (switchJournal !== undefined) {
    const deployer = getAddress(switchJournal.send.from);
    const address = getCreateAddress({ from: deployer, nonce: switchJournal.send.nonce });
    const recorded = await readSwitchFile(store, chainId).catch(() => undefined);
    if ((recorded === undefined || getAddress(recorded.address) !== address) && (await getCode(provider, address)) !== "0x") {
      orphans.push({
        kind: "switch",
        address,
        deployer,
        nonce: switchJournal.send.nonce,
        journal: path.join(store.chainDir(chainId), SWITCH_DEPLOY_JOURNAL),
        reason: "a switch deploy journaled by bg:init created this contract, but switch.json does not point at it",
      });
    }
  }
  return orphans;
}
