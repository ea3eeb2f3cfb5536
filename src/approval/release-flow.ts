/**
 * What the release flows (a release's promote, a wave's promoteBatch, the
 * rollback window's calls) share on top of the approval pipeline: the
 * context they run in, the record update, and the checks of the switch and
 * of the proxies before and after a promote.
 */
import { type Interface, type LogDescription, type TransactionReceipt, getAddress } from "ethers";

import { BlueGreenError } from "../errors.js";
import type { GatesConfig } from "../gates/config.js";
import type { ReleaseRecord } from "../release/record.js";
import type { ReleaseStore } from "../release/store.js";
import { IMPLEMENTATION_SLOT } from "../stage/read-proxy.js";
import { readProxyRelease } from "../switch/read-switch.js";
import type { ApproveOutcome } from "./approve.js";
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
          : `Proxy ${record.proxy} is not adopted by the switch ${ctx.switchAddress}. Transfer its ProxyAdmin ${record.admin} to the switch, then propose ` +
              `the adoption: npx hardhat bg:call propose --function adopt --args '["${record.proxy}","${record.admin}","${record.blue.address}"]'.`,
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
  for (const proxy of proxies) {
    const event = promoted.get(getAddress(proxy));
    if (event === undefined || getAddress(event.args.green as string) !== green) {
      throw new BlueGreenError("BG_APPROVAL_RESULT_MISMATCH", `Transaction ${executed.txHash} has no Promoted event of green for proxy ${proxy}. Inspect it before going on.`);
    }
    const slot = await implementationAt(ctx, proxy, executed.blockNumber);
    if (slot !== green) {
      throw new BlueGreenError(
        "BG_APPROVAL_RESULT_MISMATCH",
        `After transaction ${executed.txHash}, proxy ${proxy}'s implementation slot holds ${slot}, not green ${green}. Inspect the proxy before going on.`,
      );
    }
  }
  return promoted;
}

/** A proxy's ERC-1967 implementation slot at a block. */
export async function implementationAt(ctx: ReleaseApprovalContext, proxy: string, blockNumber: number): Promise<string> {
  return getAddress("0x" + (await ethersProvider(ctx.env).getStorage(proxy, IMPLEMENTATION_SLOT, blockNumber)).slice(-40));
}

/** What signers see of any promote of a release: blue, green, the evidence, the gates and the rollback risks. */
export function releaseRows(record: ReleaseRecord, evidenceHash: string): Array<{ label: string; value: string }> {
  return [
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
