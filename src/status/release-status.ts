/**
 * `bg:status`: every release of a chain, reconciled with the chain. Sits
 * above the record, the gates, the switch and the waves, and reads them all.
 */
import path from "node:path";

import { BrowserProvider, type ContractRunner, type Provider, getAddress } from "ethers";

import { type ApprovalStatus, approvalStatus } from "../approval/approval-status.js";
import { releaseProposalFolder } from "../approval/proposal-folder.js";
import type { Eip1193Provider } from "../chain/eip1193.js";
import { BlueGreenError } from "../errors.js";
import { checkEvidenceDrift } from "../gates/gates-step.js";
import type { ReleaseRecord } from "../release/record.js";
import { fileExists, type ReleaseEntry, type ReleaseStore } from "../release/store.js";
import { DEPLOY_JOURNAL } from "../stage/deploy-green.js";
import { IMPLEMENTATION_SLOT, getChainId, readSlotAddress } from "../stage/read-proxy.js";
import { listOrphanedDeployments, type OrphanedDeployment } from "../switch/orphans.js";
import { compareProxyWithRecord } from "../switch/proxy-drift.js";
import { type ProxyRelease, readProxyRelease } from "../switch/read-switch.js";
import { readSwitchFile } from "../switch/switch-file.js";
import { type WaveChainFacts, type WaveDecision, mayPromoteWave } from "../waves/may-promote-wave.js";
import { type WaveStatus, wavesStatus } from "../waves/waves-status.js";
import { type WavesStep, readWavesStep } from "../waves/waves-step.js";
import { canaryStatus } from "../waves/canary-step.js";
import { type ChainView, findDrift, readChainView, type Drift } from "./reconcile.js";
import { explainBySwitch, type StatusNote } from "./switch-explains.js";
import { type SwitchPromotion, promotionInTx, readSwitchPromotion, releasesProxy } from "./switch-promotion.js";
import { switchStateDrift } from "./switch-state.js";

export interface ReleaseStatus {
  record: ReleaseRecord;
  drift: Drift[];
  /** Evidence files (audits, reports, lcov) changed since bg:gates hashed them. */
  evidenceDrift: string[];
  /** For a release planned in waves: where each wave stands, and whether the next may go. */
  waves?: ReleaseWaves;
  /** For a canary of one proxy: where each step stands. */
  canary?: NonNullable<ReturnType<typeof canaryStatus>>;
  /**
   * What the switch explains and is not drift: a finished release superseded
   * by a later one, a staged release whose blue a later release replaced, a
   * promotion the record does not show yet.
   */
  notes: StatusNote[];
  /** A proposed or approved release: where its proposal stands on chain (executed outside the plugin, scheduled, stale…). */
  approval?: ApprovalStatus;
}

/** A wave as bg:status shows it: its progress on chain, and its proposal while one waits. */
export interface WaveStatusRow extends WaveStatus {
  proposal?: {
    safeTxHash?: string;
    nonce?: string;
    signatures: number;
    threshold?: number;
    missing?: number;
    override?: { by: string; reason: string };
  };
}

export interface ReleaseWaves {
  fleet: string[];
  waves: WaveStatusRow[];
  /** The decision for the first wave not yet live everywhere. */
  next?: WaveDecision;
}

export interface ChainStatus {
  chainId: number;
  releases: ReleaseStatus[];
  /** Release folders holding an interrupted stage and no record yet. */
  interrupted: string[];
  /** Records, or one part of them, that could not be read (corrupt or hand-edited), with the reason. */
  unreadable: Array<{ release: string; error: string; code: string; part: string }>;
  /** Contracts created at a journaled nonce that no record points at (a deploy sent twice, or abandoned). */
  orphans: OrphanedDeployment[];
}

export async function releaseStatus(
  provider: Eip1193Provider,
  store: ReleaseStore,
  projectRoot: string,
  only?: string,
  options: { ethers?: Provider & ContractRunner } = {},
): Promise<ChainStatus> {
  const chainId = await getChainId(provider);
  const releases: ReleaseStatus[] = [];
  const interrupted: string[] = [];
  const unreadable: ChainStatus["unreadable"] = [];
  let contracts = options.ethers;
  // One release asked for: its damage is the answer. All of them: one damaged file must not hide the others.
  const asked = only ? await intactEntry(store, chainId, only) : undefined;
  const listed = await store.list(chainId);
  const entries: ReleaseEntry[] = asked !== undefined ? [asked] : listed;
  // Every readable release of the chain: the switch's record of a proxy is matched to the one it belongs to.
  const peers = listed.flatMap((e) => (e.status === "ok" ? [e.record] : []));
  const switchFile = await readSwitchFile(store, chainId);
  contracts ??= switchFile !== undefined ? new BrowserProvider(provider) : undefined;
  const switchDeployed = switchFile !== undefined && (await contracts!.getCode(switchFile.address)) !== "0x";
  if (switchFile !== undefined && !switchDeployed) {
    // Nothing about the releases can be judged against a switch that is not there: most often another network of the same chain id.
    throw new BlueGreenError(
      "BG_SWITCH_NOT_A_SWITCH",
      `The switch recorded for chain ${chainId} (${switchFile.address}, in ${path.join(store.root, String(chainId), "switch.json")}) has no code on this network.`,
      {
        hint:
          "Pass the --network the releases were made on (Hardhat's in-process default network is chain 31337 too). " +
          "If the chain was restarted (a development node), its releases and switch are gone: remove that chain's folder and start again with bg:init.",
      },
    );
  }

  const approvals = new Map<string, Promise<ApprovalStatus | undefined>>();
  /** Where a proposed or approved release's proposal stands on chain (read once per run). */
  const approvalOf = (record: ReleaseRecord): Promise<ApprovalStatus | undefined> => {
    if (record.state !== "proposed" && record.state !== "approved") return Promise.resolve(undefined);
    if (!approvals.has(record.id)) approvals.set(record.id, approvalStatus({ provider, chainId }, releaseProposalFolder(store, chainId, record.id)));
    return approvals.get(record.id)!;
  };
  const promotions = new Map<string, Promise<SwitchPromotion>>();
  /** The switch's record of a proxy and the release it belongs to (read once per proxy). */
  const promotionOf = (proxy: string): Promise<SwitchPromotion> => {
    const key = getAddress(proxy);
    if (!promotions.has(key)) {
      promotions.set(
        key,
        (async () => {
          const executed = new Map<string, string>();
          for (const peer of peers.filter((r) => releasesProxy(r, key))) {
            const approval = await approvalOf(peer);
            if (approval?.status === "executed") executed.set(peer.id, approval.txHash);
          }
          const reader = { provider, contracts: contracts!, switchAddress: switchFile!.address, switchBlock: switchFile!.blockNumber };
          return readSwitchPromotion(reader, key, peers, executed);
        })(),
      );
    }
    return promotions.get(key)!;
  };

  for (const entry of entries) {
    const id = entry.id;
    if (entry.status === "unreadable") {
      unreadable.push({ release: id, error: entry.error.message, code: entry.error.code, part: entry.part });
      continue;
    }
    if (entry.status === "missing") {
      if (await fileExists(path.join(store.releaseDir(chainId, id), DEPLOY_JOURNAL))) interrupted.push(id);
      continue;
    }
    let record: ReleaseRecord = entry.record;
    const chainView = await readChainView(provider, record);
    let drift = findDrift(record, chainView);
    const notes: StatusNote[] = [];
    const approval = await approvalOf(record);
    let waves: ReleaseWaves | undefined;
    const plan = readWavesStep(record);
    if (plan !== undefined && switchFile !== undefined) {
      const fleet = await readFleet({ provider, contracts: contracts!, switchAddress: switchFile.address, store, promotionOf }, record, chainView, plan);
      // In a wave release, each proxy runs blue or green by its own wave: judged per proxy, not by the release's state.
      drift = [...drift.filter((d) => d.field !== "implementation"), ...fleet.drift];
      notes.push(...fleet.notes);
      waves = fleet.waves;
    }
    if (switchFile !== undefined) {
      drift.push(...(await switchRecordDrift(provider, contracts!, switchFile.address, plan?.fleet ?? [record.proxy], plan !== undefined)));
      if (plan === undefined && switchDeployed) {
        // A move the switch made, for another release or for this one unrecorded, is explained, not drift.
        const promotion = await promotionOf(record.proxy);
        const explained = explainBySwitch(record, chainView, promotion, approval);
        if (explained.implementationExplained) drift = drift.filter((d) => d.field !== "implementation");
        notes.push(...explained.notes);
        const state = await switchStateDrift(provider, store, record, promotion);
        record = state.record;
        drift.push(...state.drift);
      }
    }
    releases.push({
      record,
      drift,
      evidenceDrift: (await checkEvidenceDrift(record, projectRoot)).problems,
      notes,
      ...(approval !== undefined ? { approval } : {}),
      ...(waves !== undefined ? { waves } : {}),
      ...(canaryStatus(record) !== undefined ? { canary: canaryStatus(record)! } : {}),
    });
  }
  const orphans = await listOrphanedDeployments({ store, provider, chainId });
  return { chainId, releases, interrupted, unreadable, orphans };
}

/** The one release asked for, or the precise error of what in it is damaged (a missing one says which exist). */
async function intactEntry(store: ReleaseStore, chainId: number, id: string): Promise<ReleaseEntry> {
  await store.get(chainId, id);
  return { id, status: "ok", file: store.recordPath(chainId, id), record: (await store.readIntact(chainId, id))! };
}

/**
 * Compares each adopted proxy's ERC-1967 slots (and the code it runs) with the
 * switch's own record: a v5 proxy cannot be checked on chain, so this is where
 * a green that wrote the slots, or code that vanished, shows. Every finding is
 * critical. A wave release's implementation slots are already judged by
 * `readFleet`, so only the other findings are added there.
 */
async function switchRecordDrift(
  provider: Eip1193Provider,
  contracts: Provider & ContractRunner,
  switchAddress: string,
  proxies: string[],
  implementationJudgedElsewhere: boolean,
): Promise<Drift[]> {
  if ((await contracts.getCode(switchAddress)) === "0x") return [];
  const drift: Drift[] = [];
  for (const proxy of proxies) {
    const tracked = await readProxyRelease(contracts, switchAddress, proxy);
    if (!tracked.adopted) continue;
    const { findings } = await compareProxyWithRecord(provider, { proxy, proxyAdmin: tracked.proxyAdmin, implementation: tracked.implementation });
    for (const f of findings) {
      if (implementationJudgedElsewhere && f.kind === "implementation-drift") continue;
      drift.push({ field: "switch-record", recorded: f.recorded, onChain: f.onChain, message: f.message, severity: "critical" });
    }
  }
  return drift;
}

/**
 * Reads every proxy of a wave release from the switch and its ERC-1967
 * slot: the waves' progress, and where the chain and the record disagree
 * (a proxy upgraded outside the switch, a wave recorded live that the switch
 * does not show, or the reverse).
 *
 * The switch's record of a proxy is its latest release, matched to the
 * release it belongs to as for a single proxy (`readSwitchPromotion`). A
 * proxy this release promoted (its recorded promote transaction has the
 * switch's `Promoted` log of this green there) whose record now belongs to
 * a later release was superseded by it: a note (`explainBySwitch`), and its
 * wave counts as this release's promotion there. The switch promotes only
 * over a closed release, so this release was finalized there when the later
 * release's blue is this green, rolled back when it is this blue.
 */
async function readFleet(
  ctx: {
    provider: Eip1193Provider;
    contracts: Provider & ContractRunner;
    switchAddress: string;
    store: ReleaseStore;
    promotionOf: (proxy: string) => Promise<SwitchPromotion>;
  },
  record: ReleaseRecord,
  chain: ChainView,
  plan: WavesStep,
): Promise<{ waves: ReleaseWaves; drift: Drift[]; notes: StatusNote[] }> {
  const { provider, contracts, switchAddress } = ctx;
  const green = getAddress(record.green.address);
  const [latest, tracked, slots] = await Promise.all([
    contracts.getBlock("latest"),
    Promise.all(plan.fleet.map((p) => readProxyRelease(contracts, switchAddress, p))),
    Promise.all(plan.fleet.map((p) => readSlotAddress(provider, p, IMPLEMENTATION_SLOT))),
  ]);
  const facts: WaveChainFacts = {
    now: latest!.timestamp,
    proxies: Object.fromEntries(tracked.map((t) => [getAddress(t.proxy), { status: t.status, green: t.green, promotedAt: t.promotedAt }])),
  };
  const waveOf = (p: string) => plan.waves.find((w) => w.proxies.some((x) => getAddress(x) === getAddress(p)))?.name ?? "?";
  const recordedLive = new Set(plan.promotions.flatMap((p) => p.proxies.map((x) => getAddress(x))));

  const drift: Drift[] = [];
  const notes: StatusNote[] = [];
  for (const [i, t] of tracked.entries()) {
    const proxy = getAddress(t.proxy);
    const slot = slots[i]!;
    const wave = waveOf(proxy);
    if (!t.adopted) {
      drift.push({ field: "implementation", recorded: "adopted by the switch", onChain: "not adopted", message: `Proxy ${proxy} (wave ${wave}) is no longer managed by the switch.` });
      continue;
    }
    if (slot !== getAddress(t.implementation)) {
      drift.push({
        field: "implementation",
        recorded: getAddress(t.implementation),
        onChain: slot,
        message: `Proxy ${proxy} (wave ${wave}) runs ${slot}, but the switch tracks ${getAddress(t.implementation)}. Someone upgraded it outside the switch.`,
      });
    }
    // Whose is the switch's record of the proxy? Another release's (matched by its promote transaction) is never this one's, whatever its green.
    const promotion = t.promotedAt > 0 ? await ctx.promotionOf(proxy) : undefined;
    const byOther = promotion?.release !== undefined && promotion.release !== record.id;
    const onSwitch = !byOther && getAddress(t.green) === green && t.promotedAt > 0;
    if (recordedLive.has(proxy) && !onSwitch) {
      const superseded = byOther ? await supersededOn(ctx, record, plan, t) : undefined;
      if (superseded === undefined) {
        drift.push({
          field: "implementation",
          recorded: green,
          onChain: getAddress(t.implementation),
          message: `Wave ${wave} is recorded live on proxy ${proxy}, but the switch has no promotion of green there.`,
        });
        continue;
      }
      // This release's wave was there until the later release: its progress is what it was then.
      facts.proxies[proxy] = { status: superseded.state, green, promotedAt: superseded.promotedAt };
      const own = proxy === getAddress(record.proxy);
      // The release's own proxy keeps the record's state (bg:rollback and bg:finalize act on it); another proxy, what the switch did there.
      const view: ReleaseRecord = own ? record : { ...record, proxy, state: superseded.state };
      notes.push(...explainBySwitch(view, { ...chain, implementation: slot }, promotion).notes);
      // A record still live or rolling back whose own proxy a later release moved: its promotion ended without this tool (state drift).
      if (own) drift.push(...(await switchStateDrift(provider, ctx.store, record, promotion!)).drift);
    } else if (!recordedLive.has(proxy) && onSwitch) {
      drift.push({
        field: "implementation",
        recorded: getAddress(record.blue.address),
        onChain: green,
        message:
          `Proxy ${proxy} (wave ${wave}) was promoted to this release's green on the switch, but the release does not record it. ` +
          `If its wave proposal was executed elsewhere, record it: npx hardhat bg:switch --release ${record.id} --wave ${wave}.`,
      });
    }
  }

  const statuses = wavesStatus(record, facts);
  const rows: WaveStatusRow[] = statuses.map((s) => {
    const entry = plan.proposals?.[s.name];
    const open = entry !== undefined && !entry.proxies.every((p) => plan.promotions.some((x) => x.wave === s.name && x.proxies.some((y) => getAddress(y) === getAddress(p))));
    if (!open) return s;
    return {
      ...s,
      proposal: {
        ...(entry.safeTxHash !== undefined ? { safeTxHash: entry.safeTxHash } : {}),
        ...(entry.nonce !== undefined ? { nonce: entry.nonce } : {}),
        signatures: entry.approval?.signers.length ?? 0,
        ...(entry.approval !== undefined ? { threshold: entry.approval.threshold, missing: entry.approval.missing } : {}),
        ...(entry.override !== undefined ? { override: { by: entry.override.by, reason: entry.override.reason } } : {}),
      },
    };
  });
  const pending = statuses.find((s) => s.live < s.proxies.length);
  const next = pending !== undefined ? mayPromoteWave(record, facts, { wave: pending.name }) : undefined;
  return { waves: { fleet: plan.fleet, waves: rows, ...(next !== undefined ? { next } : {}) }, drift, notes };
}

/**
 * When this release's recorded wave promotion of `tracked.proxy` is on
 * chain (the switch's `Promoted` log of this green there) and the switch
 * has promoted another release there since: how this release ended there,
 * and when it was promoted. Undefined when no such promotion is on chain.
 */
async function supersededOn(
  ctx: { provider: Eip1193Provider; switchAddress: string },
  record: ReleaseRecord,
  plan: WavesStep,
  tracked: ProxyRelease,
): Promise<{ state: "finalized" | "rolled-back"; promotedAt: number } | undefined> {
  const proxy = getAddress(tracked.proxy);
  const recorded = plan.promotions.filter((p) => p.txHash !== undefined && p.proxies.some((x) => getAddress(x) === proxy)).at(-1);
  if (recorded === undefined) return undefined;
  const ours = await promotionInTx(ctx, recorded.txHash!, proxy, record.green.address);
  if (ours === undefined || ours.promotedAt > tracked.promotedAt) return undefined;
  const later = getAddress(tracked.blue);
  const state =
    later === getAddress(record.green.address)
      ? "finalized"
      : later === getAddress(record.blue.address)
        ? "rolled-back"
        : // Several releases since: how this one ended there is not on the switch any more; the record's word, when it is closed.
          record.state === "rolled-back"
          ? "rolled-back"
          : "finalized";
  return { state, promotedAt: ours.promotedAt };
}
