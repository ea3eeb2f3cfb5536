/**
 * The batches of a release as the switch has them. A single-proxy release is
 * one batch (its promote); a wave release is one batch per wave (each wave is
 * its own `promoteBatch`, with its own release id, window, rollback and
 * finalize on the switch). The window steps act per batch: finalizing or
 * rolling back one proxy acts on its batch only.
 */
import { Contract, getAddress } from "ethers";

import type { ReleaseRecord } from "../release/record.js";
import { SWITCH_STATUSES, type SwitchStatus } from "../switch/read-switch.js";
import { readWavesStep } from "../waves/waves-step.js";
import type { ReleaseApprovalContext } from "./release-flow.js";
import { ethersProvider } from "./chain.js";

export interface ReleaseBatch {
  /** The switch's release id of the batch. */
  switchReleaseId: bigint;
  /** The wave it promoted, for a wave release (undefined when the record does not know it). */
  wave?: string;
  /** Its proxies the switch still manages, in promote order. */
  proxies: string[];
  status: SwitchStatus;
  promotedAt: number;
  windowEnd: number;
  rollbackReadyAt: number;
}

/** True while the switch keeps the batch's rollback path open (live, or a rollback scheduled). */
export function isOpen(batch: ReleaseBatch): boolean {
  return batch.status === "live" || batch.status === "rollback-scheduled";
}

/**
 * Every batch of the release the switch knows: the fleet's proxies (or the
 * release's one proxy) whose latest promote on the switch is this release's
 * blue → green, grouped by the switch's release id. In promote order.
 */
export async function readReleaseBatches(ctx: ReleaseApprovalContext, record: ReleaseRecord): Promise<ReleaseBatch[]> {
  const plan = readWavesStep(record);
  const proxies = [...new Set([getAddress(record.proxy), ...(plan?.fleet ?? []).map((p) => getAddress(p))])];
  const sw = new Contract(ctx.switchAddress, ctx.env.errors, ethersProvider(ctx.env));
  const states = await Promise.all(proxies.map(async (proxy) => ({ proxy, state: await sw.getFunction("proxyState")(proxy) })));
  const green = getAddress(record.green.address);
  const blue = getAddress(record.blue.address);
  const batches = new Map<bigint, ReleaseBatch>();
  for (const { proxy, state } of states) {
    const releaseId = BigInt(state.releaseId as bigint);
    if (releaseId === 0n || BigInt(state.proxyAdmin as string) === 0n) continue;
    if (getAddress(state.green as string) !== green || getAddress(state.blue as string) !== blue) continue;
    const existing = batches.get(releaseId);
    if (existing !== undefined) {
      existing.proxies.push(proxy);
      continue;
    }
    const wave = plan?.promotions.find((p) => p.proxies.some((x) => getAddress(x) === proxy))?.wave;
    batches.set(releaseId, {
      switchReleaseId: releaseId,
      ...(wave !== undefined ? { wave } : {}),
      proxies: [proxy],
      status: SWITCH_STATUSES[Number(state.status)] ?? "none",
      promotedAt: Number(state.promotedAt),
      windowEnd: Number(state.windowEnd),
      rollbackReadyAt: Number(state.rollbackReadyAt),
    });
  }
  return [...batches.values()].sort((a, b) => (a.switchReleaseId < b.switchReleaseId ? -1 : 1));
}

/** A batch for people: `wave "rest" (0xA…, 0xB…)` or `proxy 0xA…`. */
export function batchWords(batch: ReleaseBatch): string {
  const list = batch.proxies.join(", ");
  return batch.wave !== undefined ? `wave "${batch.wave}" (${list})` : `${batch.proxies.length === 1 ? "proxy" : "proxies"} ${list}`;
}
