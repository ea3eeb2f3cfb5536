/**
 * The switch is the source of truth for a live release: before a window step
 * acts, the record is brought in line with the switch's state (a guardian bot
 * may have scheduled a rollback, a crash may have cut a run short, a call may
 * have been executed from the Safe web app), so re-running is always safe.
 */
import { type Log, type LogDescription, getAddress } from "ethers";

import { type ReleaseRecord, type ReleaseState, canTransition, transition } from "../release/record.js";
import { isoFromUnix, readStep, withStep } from "../release/steps.js";
import { type ProxyRelease, readProxyRelease } from "../switch/read-switch.js";
import { type ReleaseApprovalContext, updateRelease } from "./release-flow.js";
import { ethersProvider } from "./chain.js";
import { readWavesStep } from "../waves/waves-step.js";
import { isOpen, readReleaseBatches } from "./release-batches.js";

const STATUS_TO_STATE: Partial<Record<ProxyRelease["status"], ReleaseState>> = {
  live: "live",
  "rollback-scheduled": "rollback-scheduled",
  "rolled-back": "rolled-back",
  finalized: "finalized",
};

const STATE_EVENT: Partial<Record<ReleaseState, string>> = {
  "rollback-scheduled": "RollbackScheduled",
  live: "RollbackCancelled",
  "rolled-back": "RolledBack",
  finalized: "Finalized",
};

/**
 * Reads the switch's view of the release's proxy and moves the record to
 * match it when the switch moved on without us (a guardian bot, a crash
 * after sending, a call executed from the Safe web app).
 */
export async function reconcileWithSwitch(ctx: ReleaseApprovalContext, releaseId: string): Promise<{ record: ReleaseRecord; chain: ProxyRelease }> {
  let record = await ctx.store.get(ctx.env.chainId, releaseId);
  const chain = await readProxyRelease(ethersProvider(ctx.env), ctx.switchAddress, record.proxy);
  const sameRelease =
    chain.adopted &&
    getAddress(chain.green) === getAddress(record.green.address) &&
    getAddress(chain.blue) === getAddress(record.blue.address) &&
    readStep(record, "switch") !== undefined;
  const target = STATUS_TO_STATE[chain.status];
  if (!sameRelease || target === undefined || target === record.state || !canTransition(record.state, target)) return { record, chain };
  // A wave release is one batch per wave: its own proxy's batch finalized says nothing of the others'.
  // Nor does its rollback: the release is rolled back only once no batch is open, and live again only once none has a rollback scheduled.
  if (readWavesStep(record) !== undefined && (target === "finalized" || target === "rolled-back" || target === "live")) {
    const batches = await readReleaseBatches(ctx, record);
    if (target !== "live" ? batches.some(isOpen) : batches.some((b) => b.status === "rollback-scheduled")) return { record, chain };
  }

  const eventName = STATE_EVENT[target]!;
  const log = await latestSwitchEvent(ctx, eventName, record.proxy, readStep(record, "switch")!.blockNumber);
  const actor = log?.args.by !== undefined ? getAddress(log.args.by as string) : "chain";
  record = await updateRelease(ctx, record.id, "from the store", (current) => {
    const moved = transition(current, target, {
      actor,
      ...(log?.txHash !== undefined ? { txHash: log.txHash } : {}),
      note: `reconciled from the switch (${eventName})`,
    });
    if (target === "rollback-scheduled") {
      return withStep(moved, "rollback", {
        ...(actor !== "chain" ? { scheduledBy: actor } : {}),
        ...(log?.txHash !== undefined ? { scheduleTx: log.txHash } : {}),
        readyAt: isoFromUnix(chain.rollbackReadyAt),
        at: new Date().toISOString(),
      });
    }
    if (target === "rolled-back") {
      return withStep(moved, "rollback", {
        ...(readStep(current, "rollback") ?? {}),
        ...(log?.txHash !== undefined ? { rolledBackTx: log.txHash } : {}),
        ...(actor !== "chain" ? { rolledBackBy: actor } : {}),
        immediate: log?.args.immediate === true,
        implementation: getAddress(chain.implementation),
        at: new Date().toISOString(),
      });
    }
    if (target === "finalized" && log?.txHash !== undefined) {
      return withStep(moved, "finalize", { txHash: log.txHash, by: actor === "chain" ? getAddress(ctx.switchAddress) : actor, early: false, at: new Date().toISOString() });
    }
    if (target === "live") {
      return withStep(moved, "rollback", {
        ...(readStep(current, "rollback") ?? {}),
        ...(log?.txHash !== undefined ? { cancelledTx: log.txHash } : {}),
        at: new Date().toISOString(),
      });
    }
    return moved;
  });
  return { record, chain };
}

async function latestSwitchEvent(
  ctx: ReleaseApprovalContext,
  name: string,
  proxy: string,
  fromBlock: number,
): Promise<{ args: LogDescription["args"]; txHash: string } | undefined> {
  const event = ctx.env.errors.getEvent(name)!;
  const logs: Log[] = await ethersProvider(ctx.env).getLogs({
    address: ctx.switchAddress,
    topics: [event.topicHash, "0x" + getAddress(proxy).slice(2).toLowerCase().padStart(64, "0")],
    fromBlock,
    toBlock: "latest",
  });
  const last = logs[logs.length - 1];
  if (last === undefined) return undefined;
  const parsed = ctx.env.errors.parseLog(last);
  return parsed === null ? undefined : { args: parsed.args, txHash: last.transactionHash };
}
