/**
 * Compares a proxy's ERC-1967 slots with what the switch records for it.
 *
 * The switch cannot read a v5 proxy's slots on chain, so code running in the
 * proxy (a green that writes the implementation or admin slot, an
 * implementation that loses its code) can leave the switch's record stale
 * without any event. Off chain the slots are plain storage, so bg:status and
 * bg:monitor read them here; any difference is critical, because the next
 * `expectedBlue` check and any rollback then rest on a record the proxy no
 * longer follows.
 */
import { getAddress } from "ethers";

import type { Eip1193Provider } from "../chain/eip1193.js";
import { ADMIN_SLOT, IMPLEMENTATION_SLOT, readBeaconImplementation, readSlotAddress } from "../stage/read-proxy.js";

/** The switch's record of one adopted proxy (from `proxyState`). */
export interface SwitchRecordOfProxy {
  proxy: string;
  /** The ProxyAdmin the switch upgrades the proxy through. */
  proxyAdmin: string;
  /** The implementation the switch says the proxy runs. */
  implementation: string;
  /**
   * How the switch upgrades it. When absent it is inferred: the switch records
   * a UUPS proxy or a beacon as its own "proxyAdmin", and a beacon has no
   * implementation slot (its `implementation()` is read instead).
   */
  kind?: "transparent" | "uups" | "beacon";
}

export type SlotMismatchKind = "implementation-drift" | "admin-drift" | "implementation-without-code" | "implementation-delegated";

export interface SlotMismatch {
  kind: SlotMismatchKind;
  /** Every mismatch is critical: the rollback path rests on the record. */
  severity: "critical";
  slot: "implementation" | "admin";
  recorded: string;
  onChain: string;
  /** What is wrong and what to do, for a person. */
  message: string;
}

export interface SlotComparison {
  ok: boolean;
  findings: SlotMismatch[];
}

/** EIP-7702 delegation code: 0xef0100 followed by the 20-byte address delegated to. */
const DELEGATION = /^0xef0100[0-9a-f]{40}$/i;

/** Reads the proxy's ERC-1967 slots and its implementation's code, and names every way they differ from the switch's record. */
export async function compareProxyWithRecord(provider: Eip1193Provider, record: SwitchRecordOfProxy, block = "latest"): Promise<SlotComparison> {
  const proxy = getAddress(record.proxy);
  const recordedImplementation = getAddress(record.implementation);
  const recordedAdmin = getAddress(record.proxyAdmin);
  const kind = record.kind ?? (await inferKind(provider, proxy, recordedAdmin, block));
  // UUPS proxies and beacons have no admin slot: the switch's authority is owner() or a role, checked by adoption.
  const [implementation, admin] = await Promise.all([
    kind === "beacon" ? readBeaconImplementation(provider, proxy, block) : readSlotAddress(provider, proxy, IMPLEMENTATION_SLOT, block),
    kind === "transparent" ? readSlotAddress(provider, proxy, ADMIN_SLOT, block) : Promise.resolve(recordedAdmin),
  ]);
  const findings: SlotMismatch[] = [];
  if (implementation !== recordedImplementation) {
    findings.push({
      kind: "implementation-drift",
      severity: "critical",
      slot: "implementation",
      recorded: recordedImplementation,
      onChain: implementation,
      message:
        kind === "beacon"
          ? `Critical: beacon ${proxy} points at ${implementation}, but the switch records ${recordedImplementation}: the beacon was upgraded without the switch ` +
            "(every proxy of it runs that code). Do not promote over it; roll back (bg:rollback) or find out who upgraded it."
          : `Critical: proxy ${proxy} runs ${implementation}, but the switch records ${recordedImplementation}. ` +
            "Code inside the proxy (green's, most likely) wrote its implementation slot without the switch. Do not promote over it; " +
            "roll the release back to blue (bg:rollback), which rewrites the slot, then find out what green did.",
    });
  }
  if (kind === "transparent" && admin !== recordedAdmin) {
    findings.push({
      kind: "admin-drift",
      severity: "critical",
      slot: "admin",
      recorded: recordedAdmin,
      onChain: admin,
      message:
        `Critical: proxy ${proxy}'s admin slot holds ${admin}, but the switch upgrades it through ProxyAdmin ${recordedAdmin}. ` +
        "Code inside the proxy wrote its admin slot; on an OpenZeppelin v4 proxy the switch has then lost control of it. " +
        "Roll back now if the switch still can (bg:rollback); otherwise release the ProxyAdmin and repair the proxy by hand.",
    });
  }
  if (implementation === recordedImplementation) {
    const code = ((await provider.request({ method: "eth_getCode", params: [implementation, block] })) as string).toLowerCase();
    if (code === "0x") {
      findings.push({
        kind: "implementation-without-code",
        severity: "critical",
        slot: "implementation",
        recorded: recordedImplementation,
        onChain: implementation,
        message:
          `Critical: proxy ${proxy} runs ${implementation}, which has no code: every call to the proxy succeeds and does nothing. ` +
          "Roll back to blue at once (bg:rollback).",
      });
    } else if (DELEGATION.test(code)) {
      findings.push({
        kind: "implementation-delegated",
        severity: "critical",
        slot: "implementation",
        recorded: recordedImplementation,
        onChain: implementation,
        message:
          `Critical: proxy ${proxy} runs ${implementation}, an EIP-7702 delegated account (delegating to 0x${code.slice(8)}): its key holder can change the code at will. ` +
          "Roll back to blue (bg:rollback).",
      });
    }
  }
  return { ok: findings.length === 0, findings };
}

async function inferKind(provider: Eip1193Provider, proxy: string, recordedAdmin: string, block: string): Promise<"transparent" | "uups" | "beacon"> {
  if (recordedAdmin !== proxy) return "transparent";
  const slot = await readSlotAddress(provider, proxy, IMPLEMENTATION_SLOT, block);
  return BigInt(slot) === 0n ? "beacon" : "uups";
}
