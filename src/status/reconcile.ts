/**
 * The chain is the source of truth. Reconciling a record means reading what
 * the chain says now (ERC-1967 slots, code hashes) and naming every way it
 * differs from what the record expects in its current state.
 */
import type { Eip1193Provider } from "../chain/eip1193.js";
import { recordKind, type ReleaseRecord, type ReleaseState } from "../release/record.js";
import { getCode, getCodehash, readBeaconImplementation, readSlotAddress, ADMIN_SLOT, BEACON_SLOT, IMPLEMENTATION_SLOT } from "../stage/read-proxy.js";
import { identifyCanaryRouter } from "../switch/canary-router.js";
import { liveCanaryRouter } from "../waves/canary-step.js";

export interface Drift {
  field: "implementation" | "admin" | "beacon-proxy" | "blue.codehash" | "green.codehash" | "switch-record" | "state";
  recorded: string;
  onChain: string;
  message: string;
  /** Set when the proxy no longer follows the switch's own record: its rollback path is in doubt. */
  severity?: "critical";
  /** Set when bg:status brought the record in line with the chain (it says what it did in `message`). */
  reconciled?: { from: ReleaseState; to: ReleaseState };
}

export interface ChainView {
  implementation: string;
  admin: string;
  blueCodehash: string;
  greenCodehash: string;
  /** Beacon releases: each known beacon proxy and the beacon its slot points at now. */
  beaconProxies?: { proxy: string; beacon: string }[];
  /** Set when the proxy runs one of our CanaryRouters between this release's blue and green. */
  canaryRouter?: { address: string; bps: number };
}

/** Which implementation the proxy must run in each state: during a canary step, the step's router. */
export function expectedImplementation(record: Pick<ReleaseRecord, "id" | "blue" | "green" | "steps">, state: ReleaseState): string {
  switch (state) {
    case "live":
    case "rollback-scheduled":
      return liveCanaryRouter(record as ReleaseRecord) ?? record.green.address;
    case "finalized":
      return record.green.address;
    default:
      return record.blue.address;
  }
}

/**
 * A UUPS proxy has no admin slot (it reads as the zero address the record
 * holds); a beacon's implementation is what `implementation()` answers, and
 * each beacon proxy the record knows must still point at the beacon.
 */
export async function readChainView(provider: Eip1193Provider, record: ReleaseRecord): Promise<ChainView> {
  const beacon = recordKind(record) === "beacon";
  const [implementation, admin, blueCodehash, greenCodehash] = await Promise.all([
    beacon ? readBeaconImplementation(provider, record.proxy) : readSlotAddress(provider, record.proxy, IMPLEMENTATION_SLOT),
    readSlotAddress(provider, record.proxy, ADMIN_SLOT),
    getCodehash(provider, record.blue.address),
    getCodehash(provider, record.green.address),
  ]);
  const view: ChainView = { implementation, admin, blueCodehash, greenCodehash };
  if (implementation !== record.blue.address && implementation !== record.green.address) {
    // A canary step runs a router: recognised only when its code is exactly ours, between this release's blue and green.
    const router = await identifyCanaryRouter(await getCode(provider, implementation));
    if (router !== undefined && router.blue === record.blue.address && router.green === record.green.address) {
      view.canaryRouter = { address: implementation, bps: router.bps };
    }
  }
  if (beacon) {
    view.beaconProxies = await Promise.all(
      (record.beacon?.proxies ?? []).map(async (proxy) => ({ proxy, beacon: await readSlotAddress(provider, proxy, BEACON_SLOT) })),
    );
  }
  return view;
}

export function findDrift(record: ReleaseRecord, chain: ChainView): Drift[] {
  const drift: Drift[] = [];
  const expected = expectedImplementation(record, record.state);
  if (chain.implementation !== expected) {
    const which =
      chain.implementation === record.green.address
        ? "green"
        : chain.implementation === record.blue.address
          ? "blue"
          : chain.canaryRouter !== undefined
            ? `this release's canary router at ${chain.canaryRouter.bps} bps, a step the record does not show (record it with bg:switch --release ${record.id} --step <name>)`
            : "an unknown implementation";
    drift.push({
      field: "implementation",
      recorded: expected,
      onChain: chain.implementation,
      message:
        recordKind(record) === "beacon"
          ? `The beacon points at ${which} (${chain.implementation}), but a ${record.state} release expects ${expected}. Someone upgraded the beacon outside the switch, or a step was not recorded.`
          : `The proxy runs ${which} (${chain.implementation}), but a ${record.state} release expects ${expected}. Someone upgraded it outside this release, or a step was not recorded.`,
    });
  }
  if (chain.admin !== record.admin) {
    drift.push({
      field: "admin",
      recorded: record.admin,
      onChain: chain.admin,
      message: `The proxy's admin changed from ${record.admin} to ${chain.admin}.`,
    });
  }
  for (const { proxy, beacon } of chain.beaconProxies ?? []) {
    if (beacon !== record.proxy) {
      drift.push({
        field: "beacon-proxy",
        recorded: record.proxy,
        onChain: beacon,
        message: `Beacon proxy ${proxy} no longer follows beacon ${record.proxy} (its beacon slot holds ${beacon}): the release does not switch it.`,
      });
    }
  }
  if (chain.blueCodehash !== record.blue.codehash) {
    drift.push({
      field: "blue.codehash",
      recorded: record.blue.codehash,
      onChain: chain.blueCodehash,
      message: `Blue's code at ${record.blue.address} is not the recorded code (selfdestructed, or a different chain).`,
    });
  }
  if (chain.greenCodehash !== record.green.codehash) {
    drift.push({
      field: "green.codehash",
      recorded: record.green.codehash,
      onChain: chain.greenCodehash,
      message: `Green's code at ${record.green.address} is not the staged code. Do not promote it; stage again.`,
    });
  }
  return drift;
}
