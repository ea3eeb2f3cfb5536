/**
 * Whose is the switch's record of a proxy? The switch keeps one record per
 * proxy (or beacon): its latest release. Several releases of one proxy share
 * it over time, and releases of the same code share one green deployment
 * (bg:stage reuses it), so a matching green address does not say which
 * release the record belongs to. The promote transaction does: the switch's
 * latest `Promoted` or `CanaryStepPromoted` log of the proxy, at the
 * record's `promotedAt`, is matched with the promote transactions the
 * releases recorded (their switch, canary and wave steps, their history), or
 * with the execution of a release's proposal that nobody recorded yet (the
 * Safe app, another owner).
 */
import { type ContractRunner, type Provider, getAddress, zeroPadValue } from "ethers";

import type { Eip1193Provider } from "../chain/eip1193.js";
import { quantity as hex } from "../common/format.js";
import { BlueGreenError } from "../errors.js";
import type { RpcLog } from "../monitor/block-digest.js";
import { blocksAt } from "../monitor/promotions.js";
import { RpcClient, RpcUnavailableError } from "../monitor/rpc-client.js";
import type { ReleaseRecord } from "../release/record.js";
import { isoFromUnix, readStep } from "../release/steps.js";
import { switchInterface } from "../switch/artifact.js";
import { type ProxyRelease, readProxyRelease } from "../switch/read-switch.js";
import { readCanaryStep } from "../waves/canary-step.js";
import { readWavesStep } from "../waves/waves-step.js";

export interface SwitchPromotion {
  proxy: string;
  /** The switch's record of the proxy (`proxyState`). */
  tracked: ProxyRelease;
  /** The transaction of the switch's latest promotion of the proxy, when there is one and its log was found. */
  txHash?: string;
  /** The release of this chain whose promotion it is; undefined when nothing was promoted, or no release records it. */
  release?: string;
  /** How `release` was matched. */
  matchedBy?: "promote-tx" | "executed-proposal" | "promoted-at" | "only-release-of-green";
}

export interface SwitchReader {
  provider: Eip1193Provider;
  contracts: Provider & ContractRunner;
  switchAddress: string;
  /** The block the switch was deployed in: no promotion is older. */
  switchBlock: number;
}

/** Every promote transaction a release recorded: its switch step, canary steps, waves, and its history's moves to live. */
export function recordedPromoteTxs(record: ReleaseRecord): Set<string> {
  const txs = new Set<string>();
  const add = (tx: string | undefined) => {
    if (tx !== undefined) txs.add(tx.toLowerCase());
  };
  add(readStep(record, "switch")?.txHash);
  for (const p of readCanaryStep(record)?.promotions ?? []) add(p.txHash);
  for (const p of readWavesStep(record)?.promotions ?? []) add(p.txHash);
  for (const h of record.history) if (h.state === "live") add(h.txHash);
  return txs;
}

/** True when `record` releases `proxy`: its own proxy (or beacon), or a proxy of its wave plan. */
export function releasesProxy(record: ReleaseRecord, proxy: string): boolean {
  if (getAddress(record.proxy) === getAddress(proxy)) return true;
  return (readWavesStep(record)?.fleet ?? []).some((p) => getAddress(p) === getAddress(proxy));
}

/**
 * Reads the switch's record of `proxy` and finds the release it belongs to
 * among `records`. `executed` maps a release id to the transaction that
 * executed its proposal (bg:status's approval status), for a promotion made
 * outside this tool and not recorded yet.
 */
export async function readSwitchPromotion(
  reader: SwitchReader,
  proxy: string,
  records: readonly ReleaseRecord[],
  executed: ReadonlyMap<string, string>,
): Promise<SwitchPromotion> {
  const address = getAddress(proxy);
  const tracked = await readProxyRelease(reader.contracts, reader.switchAddress, address);
  if (!tracked.adopted || tracked.promotedAt === 0) return { proxy: address, tracked };
  const txHash = await latestPromotionTx(reader, address, tracked.promotedAt);
  const green = getAddress(tracked.green);
  const candidates = records.filter(
    (r) => releasesProxy(r, address) && getAddress(r.green.address) === green && r.green.codehash.toLowerCase() === tracked.greenCodehash.toLowerCase(),
  );
  const found = (release: ReleaseRecord | undefined, matchedBy: NonNullable<SwitchPromotion["matchedBy"]>): SwitchPromotion => ({
    proxy: address,
    tracked,
    ...(txHash !== undefined ? { txHash } : {}),
    ...(release !== undefined ? { release: release.id, matchedBy } : {}),
  });
  // A release that recorded no promote transaction at all (moved to live by hand, or by an older version) has nothing to contradict.
  const unrecorded = candidates.filter((r) => recordedPromoteTxs(r).size === 0 && !executed.has(r.id));
  const onlyUnrecorded = unrecorded.length === 1 ? unrecorded[0] : undefined;
  if (txHash !== undefined) {
    const tx = txHash.toLowerCase();
    const byTx = candidates.find((r) => recordedPromoteTxs(r).has(tx));
    if (byTx !== undefined) return found(byTx, "promote-tx");
    const byExecution = candidates.find((r) => executed.get(r.id)?.toLowerCase() === tx);
    if (byExecution !== undefined) return found(byExecution, "executed-proposal");
    return found(onlyUnrecorded, "only-release-of-green");
  }
  // No log to go by (a node that prunes logs): the recorded promotion time, else the only release of that green.
  const at = isoFromUnix(tracked.promotedAt);
  const byTime = candidates.find((r) => readStep(r, "switch")?.promotedAt === at);
  if (byTime !== undefined) return found(byTime, "promoted-at");
  return found(candidates.length === 1 ? candidates[0] : onlyUnrecorded, "only-release-of-green");
}

/** The transaction of the switch's latest `Promoted` or `CanaryStepPromoted` log of `proxy` at `promotedAt`; undefined when it cannot be read. */
async function latestPromotionTx(reader: SwitchReader, proxy: string, promotedAt: number): Promise<string | undefined> {
  const rpc = new RpcClient(reader.provider, { timeout: 60, attempts: 1, backoff: 1, maxBackoff: 1 });
  try {
    const iface = await switchInterface();
    const topics = [[iface.getEvent("Promoted")!.topicHash, iface.getEvent("CanaryStepPromoted")!.topicHash], zeroPadValue(proxy, 32)];
    const { first, last } = await blocksAt(rpc, promotedAt, reader.switchBlock);
    const logs = await rpc.request<RpcLog[]>("eth_getLogs", [{ address: reader.switchAddress, fromBlock: hex(first), toBlock: hex(last), topics }]);
    return logs.filter((l) => l.removed !== true).at(-1)?.transactionHash;
  } catch (error) {
    // The node out of reach fails bg:status as every read does, naming the node; a node that refuses the log query (a pruned range) leaves the fallbacks.
    const cause = error instanceof RpcUnavailableError ? error.cause : error;
    if (BlueGreenError.is(cause)) throw cause;
    return undefined;
  } finally {
    rpc.stop();
  }
}

/**
 * The switch's `Promoted` log of `proxy` to `green` in `txHash`, when that
 * transaction is on chain, succeeded and has one: proof that the switch
 * promoted that green there (its record of the proxy may since belong to a
 * later release). Undefined otherwise: never mined, reorged out, or a
 * transaction that promoted something else.
 */
export async function promotionInTx(
  reader: Pick<SwitchReader, "provider" | "switchAddress">,
  txHash: string,
  proxy: string,
  green: string,
): Promise<{ promotedAt: number; blockNumber: number } | undefined> {
  const receipt = (await reader.provider.request({ method: "eth_getTransactionReceipt", params: [txHash] })) as
    | { status?: string; blockNumber: string; logs: Array<{ address: string; topics: string[]; data: string }> }
    | null;
  if (receipt === null || receipt === undefined || BigInt(receipt.status ?? "0x1") !== 1n) return undefined;
  const iface = await switchInterface();
  for (const log of receipt.logs) {
    if (getAddress(log.address) !== getAddress(reader.switchAddress)) continue;
    const parsed = iface.parseLog({ topics: [...log.topics], data: log.data });
    if (parsed?.name !== "Promoted") continue;
    if (getAddress(parsed.args.proxy as string) !== getAddress(proxy) || getAddress(parsed.args.green as string) !== getAddress(green)) continue;
    return { promotedAt: Number(parsed.args.promotedAt), blockNumber: Number(receipt.blockNumber) };
  }
  return undefined;
}
