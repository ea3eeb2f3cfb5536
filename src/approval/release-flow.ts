/**
 * What the release flows (a release's promote, a wave's promoteBatch, the
 * rollback window's calls) share on top of the approval pipeline: the
 * context they run in, the record update, and the checks of the switch and
 * of the proxies before and after a promote.
 */
import { type Interface, type LogDescription, type TransactionReceipt, getAddress } from "ethers";

import { BlueGreenError } from "../errors.js";
import type { GatesConfig } from "../gates/config.js";
import { type ReleaseRecord, recordKind } from "../release/record.js";
import type { ReleaseStore } from "../release/store.js";
import { IMPLEMENTATION_SLOT, type ProxyKindName, readTargetImplementation } from "../stage/read-proxy.js";
import { readProxyRelease } from "../switch/read-switch.js";
import type { ApproveOutcome } from "./approve.js";
import type { FactQuery } from "./facts.js";
import type { ApprovalEnv } from "./proposal-schema.js";
import { ethersProvider } from "./chain.js";

/** What the release steps need: the network, the records, and the switch of this chain. */
export interface ReleaseApprovalContext {
  env: ApprovalEnv & { errors: Interface };
  store: ReleaseStore;
  switchAddress: string;
  projectRoot: string;
  gatesConfig?: GatesConfig;
}

/**
 * Changes the stored record under the store's lock. `change` returns
 * undefined to leave it as it is (e.g. a step already recorded by a
 * concurrent run).
 */
export async function updateRelease(
  ctx: ReleaseApprovalContext,
  id: string,
  during: string,
  change: (current: ReleaseRecord) => ReleaseRecord | undefined,
): Promise<ReleaseRecord> {
  const updated = await ctx.store.update(ctx.env.chainId, id, (current) => {
    if (current === undefined) throw new BlueGreenError("BG_APPROVAL_RECORD_GONE", `Release "${id}" disappeared ${during}.`);
    return change(current);
  });
  return updated!;
}

/** The signatures of a proposal as a record step stores them. */
export function approvalStep(outcome: ApproveOutcome, at: Date): { signers: string[]; threshold: number; missing: number; at: string } {
  return { signers: outcome.signatures.map((s) => getAddress(s.owner)), threshold: outcome.threshold, missing: outcome.missing, at: at.toISOString() };
}

/** Green must be deployed on this chain before anyone signs its promote. */
export async function assertGreenDeployed(ctx: ReleaseApprovalContext, record: ReleaseRecord): Promise<void> {
  if ((await ethersProvider(ctx.env).getCode(record.green.address)) === "0x") {
    throw new BlueGreenError("BG_APPROVAL_GREEN_MISSING", `Green ${record.green.address} has no code on this chain. Stage the release again.`);
  }
}

/**
 * Every proxy a promote moves must be adopted by the switch and tracked
 * there with the release's blue: green's upgrade checks were made against it.
 * `wave` names the wave for a fleet, whose proxies all share one blue.
 */
export async function assertProxiesRunBlue(ctx: ReleaseApprovalContext, record: ReleaseRecord, proxies: readonly string[], wave?: string): Promise<void> {
  const blue = getAddress(record.blue.address);
  for (const proxy of proxies) {
    const tracked = await readProxyRelease(ethersProvider(ctx.env), ctx.switchAddress, proxy);
    if (!tracked.adopted) {
      throw new BlueGreenError(
        "BG_APPROVAL_NOT_ADOPTED",
        wave !== undefined
          ? `Proxy ${proxy} of wave "${wave}" is not adopted by the switch ${ctx.switchAddress}. Adopt it first: npx hardhat bg:adopt --proxy ${proxy}`
          : `${kindNoun(record)} ${record.proxy} is not adopted by the switch ${ctx.switchAddress}. ${adoptHint(record)}`,
      );
    }
    if (getAddress(tracked.implementation) !== blue) {
      throw new BlueGreenError(
        "BG_APPROVAL_BLUE_MISMATCH",
        wave !== undefined
          ? `Proxy ${proxy} of wave "${wave}" runs ${tracked.implementation} on the switch, not the release's blue ${blue}. ` +
              "A wave release moves proxies that all run the same blue to the same green. " +
              `Re-plan the fleet without it (bg:waves --release ${record.id} --proxies ...) and stage a separate release for that proxy.`
          : `The switch tracks ${tracked.implementation} as the implementation of proxy ${record.proxy}, but the release's blue is ${record.blue.address}. ` +
              "Another upgrade happened since the release was staged: stage the release again from the current implementation.",
      );
    }
  }
}

/**
 * The promote must have done exactly what was proposed: a Promoted event of
 * green for each proxy, and green in each proxy's implementation slot.
 * Returns the events by proxy.
 */
export async function assertPromotedToGreen(
  ctx: ReleaseApprovalContext,
  record: ReleaseRecord,
  executed: { txHash: string; blockNumber: number; receipt: TransactionReceipt },
  proxies: readonly string[],
): Promise<Map<string, LogDescription>> {
  const green = getAddress(record.green.address);
  const promoted = new Map<string, LogDescription>();
  for (const log of executed.receipt.logs) {
    if (getAddress(log.address) !== getAddress(ctx.switchAddress)) continue;
    const event = ctx.env.errors.parseLog(log);
    if (event?.name === "Promoted") promoted.set(getAddress(event.args.proxy as string), event);
  }
  const kind = recordKind(record);
  for (const proxy of proxies) {
    const event = promoted.get(getAddress(proxy));
    if (event === undefined || getAddress(event.args.green as string) !== green) {
      throw new BlueGreenError("BG_APPROVAL_RESULT_MISMATCH", `Transaction ${executed.txHash} has no Promoted event of green for ${kindNounInText(record)} ${proxy}. Inspect it before going on.`);
    }
    const slot = await implementationAt(ctx, proxy, executed.blockNumber, kind);
    if (slot !== green) {
      throw new BlueGreenError(
        "BG_APPROVAL_RESULT_MISMATCH",
        `After transaction ${executed.txHash}, ${implementationWhere(kind, proxy)} holds ${slot}, not green ${green}. Inspect the ${kind === "beacon" ? "beacon" : "proxy"} before going on.`,
      );
    }
  }
  return promoted;
}

/** What a release target runs at a block: a proxy's ERC-1967 implementation slot, a beacon's implementation(). */
export async function implementationAt(ctx: ReleaseApprovalContext, proxy: string, blockNumber: number, kind: ProxyKindName = "transparent"): Promise<string> {
  return getAddress(await readTargetImplementation(ctx.env.provider, kind, proxy, blockNumber));
}

/** Where the implementation of a release target is read, in words. */
export function implementationWhere(kind: ProxyKindName, proxy: string): string {
  return kind === "beacon" ? `beacon ${proxy}'s implementation()` : `proxy ${proxy}'s implementation slot`;
}

/** The fact signers' tools re-read about what the target runs: the slot of a proxy, implementation() of a beacon. */
export function implementationFact(record: ReleaseRecord): FactQuery {
  return recordKind(record) === "beacon"
    ? { kind: "call", label: `implementation() of beacon ${record.proxy}`, to: record.proxy, data: BEACON_IMPLEMENTATION, returns: ["address"] }
    : { kind: "storage", label: `implementation slot of ${recordKind(record) === "uups" ? "UUPS " : ""}proxy ${record.proxy}`, address: record.proxy, slot: IMPLEMENTATION_SLOT };
}

/** implementation() */
const BEACON_IMPLEMENTATION = "0x5c60da1b";

/** "Transparent proxy", "UUPS proxy" or "Beacon": what `record.proxy` is, to start a sentence. */
export function kindNoun(record: Pick<ReleaseRecord, "kind">): string {
  return { transparent: "Transparent proxy", uups: "UUPS proxy", beacon: "Beacon" }[recordKind(record)];
}

/** "transparent proxy", "UUPS proxy" or "beacon", within a sentence. */
export function kindNounInText(record: Pick<ReleaseRecord, "kind">): string {
  return { transparent: "transparent proxy", uups: "UUPS proxy", beacon: "beacon" }[recordKind(record)];
}

/**
 * What the switch holds for this kind, and what moves when it promotes: the
 * row every signer reads before the hashes.
 */
export function upgradePathWords(record: ReleaseRecord): string {
  switch (recordKind(record)) {
    case "transparent":
      return `transparent proxy: the switch upgrades it through its ProxyAdmin ${record.admin}`;
    case "uups": {
      const authority = record.uupsAuthority;
      const who = authority?.kind === "ownable" ? "owner()" : authority?.kind === "access-control" ? "holder of the upgrader role" : "upgrade authority";
      return `UUPS proxy: the switch is its upgrade authority (${who}) and calls upgradeToAndCall on the proxy; green's _authorizeUpgrade must keep accepting the switch for the rollback`;
    }
    case "beacon": {
      const known = record.beacon?.proxies ?? [];
      return `beacon: the switch owns beacon ${record.proxy} and calls upgradeTo on it, so EVERY BeaconProxy of the beacon moves at once${known.length > 0 ? ` (known: ${known.join(", ")})` : ""}`;
    }
  }
}

/** How to put the release's target under the switch, per kind. */
export function adoptHint(record: ReleaseRecord): string {
  switch (recordKind(record)) {
    case "transparent":
      return (
        `Transfer its ProxyAdmin ${record.admin} to the switch, then propose the adoption: npx hardhat bg:adopt --proxy ${record.proxy} ` +
        `(or npx hardhat bg:call propose --function adopt --args '["${record.proxy}","${record.admin}","${record.blue.address}"]').`
      );
    case "uups":
      return record.uupsAuthority?.kind === "access-control"
        ? `Make the switch its upgrade authority: a holder of the role's admin grants the upgrader role to the switch, then the approver calls adoptUups: npx hardhat bg:adopt --proxy ${record.proxy} --role UPGRADER_ROLE.`
        : `Make the switch its upgrade authority: the owner transfers ownership of the proxy to the switch, then the approver calls adoptUups: npx hardhat bg:adopt --proxy ${record.proxy}.`;
    case "beacon":
      return `The beacon's owner transfers ownership of the beacon to the switch (every proxy of the beacon then moves only through the switch), then the approver calls adoptBeacon: npx hardhat bg:adopt --proxy ${record.proxy}.`;
  }
}

/** What signers see of any promote of a release: blue, green, the evidence, the gates and the rollback risks. */
export function releaseRows(record: ReleaseRecord, evidenceHash: string): Array<{ label: string; value: string }> {
  return [
    { label: "proxy kind", value: upgradePathWords(record) },
    { label: "blue (now)", value: record.blue.address },
    { label: "blue codehash", value: record.blue.codehash },
    { label: "green (next)", value: `${record.green.address} (${record.green.contract})` },
    { label: "green codehash", value: record.green.codehash },
    { label: "evidence hash", value: evidenceHash },
    ...gatesRows(record),
    ...record.rollbackRisks.map((r) => ({ label: `rollback risk: ${r.kind}`, value: r.message })),
  ];
}

/** The gate rows signers see: a waiver first (no gate was checked, and why that is fine), then each gate. */
export function gatesRows(record: ReleaseRecord): Array<{ label: string; value: string }> {
  const gates = record.steps.gates as { results?: Array<{ name: string; status: string; required: boolean }>; waiver?: { reason: string } } | undefined;
  const waiver = gates?.waiver !== undefined ? [{ label: "gates WAIVED", value: gates.waiver.reason }] : [];
  return [...waiver, ...(gates?.results ?? []).map((g) => ({ label: `gate ${g.name}`, value: `${g.status}${g.required ? " (required)" : ""}` }))];
}
