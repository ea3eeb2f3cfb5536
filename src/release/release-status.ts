/** `bg:status`: every release of a chain, reconciled with the chain. */
import path from "node:path";

import { isUserFacingError } from "../errors.js";
import { checkEvidenceDrift } from "../gates/gates-step.js";
import { fileExists, type ReleaseStore } from "./store.js";
import type { ReleaseRecord } from "./record.js";
import { findDrift, readChainView, type Drift } from "./reconcile.js";
import type { Eip1193Provider } from "../stage/eip1193.js";
import { DEPLOY_JOURNAL } from "../stage/deploy-green.js";
import { getChainId } from "../stage/read-proxy.js";

export interface ReleaseStatus {
  record: ReleaseRecord;
  drift: Drift[];
  /** Evidence files (audits, reports, lcov) changed since bg:gates hashed them. */
  evidenceDrift: string[];
}

export interface ChainStatus {
  chainId: number;
  releases: ReleaseStatus[];
  /** Release folders holding an interrupted stage and no record yet. */
  interrupted: string[];
  /** Records that could not be read (corrupt or hand-edited), with the reason. */
  unreadable: Array<{ release: string; error: string }>;
}

export async function releaseStatus(
  provider: Eip1193Provider,
  store: ReleaseStore,
  projectRoot: string,
  only?: string,
): Promise<ChainStatus> {
  const chainId = await getChainId(provider);
  const ids = only ? [only] : await store.listIds(chainId);
  const releases: ReleaseStatus[] = [];
  const interrupted: string[] = [];
  const unreadable: ChainStatus["unreadable"] = [];
  for (const id of ids) {
    let record: ReleaseRecord | undefined;
    try {
      record = only ? await store.get(chainId, id) : await store.read(chainId, id);
    } catch (error) {
      // One bad file must not hide the other releases when listing them all.
      if (only || !isUserFacingError(error)) throw error;
      unreadable.push({ release: id, error: error.message });
      continue;
    }
    if (record === undefined) {
      if (await fileExists(path.join(store.releaseDir(chainId, id), DEPLOY_JOURNAL))) interrupted.push(id);
      continue;
    }
    releases.push({
      record,
      drift: findDrift(record, await readChainView(provider, record)),
      evidenceDrift: (await checkEvidenceDrift(record, projectRoot)).problems,
    });
  }
  return { chainId, releases, interrupted, unreadable };
}
