/** Every string a person reads about a release record. */
import { formatTable, type TableItem } from "@nomicfoundation/hardhat-utils/format";

import { short } from "../common/format.js";
import { recordKind, type ReleaseRecord } from "../release/record.js";
import type { ChainStatus, ReleaseWaves } from "../status/release-status.js";
import type { StatusNote } from "../status/switch-explains.js";
import { explainWaveDecision } from "../waves/may-promote-wave.js";
import { style } from "./output.js";

/** The JSON document bg:stage prints (see README "bg:stage"). */
export function stageJson(record: ReleaseRecord, extra: { unchanged: boolean; greenDeployment: string; target?: { viaBeaconProxy?: string; target: string } }) {
  return {
    ok: true,
    release: record.id,
    chainId: record.chainId,
    state: record.state,
    kind: recordKind(record),
    proxy: record.proxy,
    admin: record.admin,
    ...(record.uupsAuthority !== undefined ? { uupsAuthority: record.uupsAuthority } : {}),
    // For a beacon, `proxy` is the beacon; `beacon.proxies` names the beacon proxy it was found through.
    ...(record.beacon !== undefined ? { beacon: record.beacon } : {}),
    blue: {
      address: record.blue.address,
      codehash: record.blue.codehash,
      ...(record.upgradeSafety.blueFoundBy !== undefined ? { foundBy: record.upgradeSafety.blueFoundBy } : {}),
    },
    green: {
      address: record.green.address,
      codehash: record.green.codehash,
      contract: record.green.contract,
      ...(record.green.buildProfile !== undefined ? { buildProfile: record.green.buildProfile } : {}),
    },
    rollbackRisks: record.rollbackRisks.map(({ kind, message }) => ({ kind, message })),
    // UUPS: the rollback-path proof bg:stage ran on a fork before deploying green.
    ...(record.steps.rollbackPath !== undefined ? { rollbackPath: record.steps.rollbackPath } : {}),
    warnings: record.upgradeSafety.warnings,
    unchanged: extra.unchanged,
    greenDeployment: extra.greenDeployment,
    // This run's --proxy was a beacon proxy: which beacon it led to (the record keeps the first one named).
    ...(extra.target?.viaBeaconProxy !== undefined ? { foundBeacon: { beaconProxy: extra.target.viaBeaconProxy, beacon: extra.target.target } } : {}),
  };
}

const BLUE_FOUND_BY: Record<string, string> = {
  manifest: "OpenZeppelin's manifest",
  release: "an earlier release's green",
  ignition: "Ignition's deployment",
  reference: "--reference",
};

function blueLayoutSource(record: ReleaseRecord): string {
  const safety = record.upgradeSafety;
  const how = safety.blueFoundBy !== undefined ? BLUE_FOUND_BY[safety.blueFoundBy] : safety.blueLayoutFrom;
  const mismatch = safety.referenceMismatchAllowed ? ", mismatch allowed by --allow-reference-mismatch" : "";
  return `${how}${safety.reference && safety.blueFoundBy !== "manifest" ? ` ${safety.reference}` : ""}${mismatch}`;
}

/** The proxy line: the kind, and what upgrades it (ProxyAdmin, UUPS authority, or the beacon a beacon proxy led to). */
export function proxyLine(record: ReleaseRecord): string {
  switch (recordKind(record)) {
    case "transparent":
      return `  proxy   ${record.proxy}   admin ${record.admin}`;
    case "uups":
      return `  proxy   ${record.proxy}   UUPS, ${record.uupsAuthority?.kind === "ownable" ? `Ownable (owner ${record.uupsAuthority.owner})` : "AccessControl"}`;
    case "beacon": {
      const via = record.beacon?.proxies ?? [];
      return `  beacon  ${record.proxy}   upgrades every proxy of the beacon${via.length > 0 ? ` (found through beacon proxy ${via.join(", ")})` : ""}`;
    }
  }
}

export function renderStaged(record: ReleaseRecord, unchanged: boolean, recordPath: string, showNext = true): string {
  const lines = [
    unchanged
      ? `${style.bold(`Release ${record.id}`)} is already ${record.state}; nothing changed.`
      : `${style.ok("✔")} ${style.bold(`Release ${record.id}`)} staged on chain ${record.chainId} (${record.network}).`,
    proxyLine(record),
    `  ${style.blue("blue")}    ${record.blue.address}   codehash ${short(record.blue.codehash)}`,
    `  ${style.green("green")}   ${record.green.address}   codehash ${short(record.green.codehash)}   ${record.green.contract}${record.green.buildProfile !== undefined ? `   (build profile ${record.green.buildProfile})` : ""}`,
    `  upgrade safety: OpenZeppelin checks passed (blue's layout from ${blueLayoutSource(record)})`,
  ];
  if (record.rollbackRisks.length === 0) {
    lines.push("  rollback safety: blue can run on green's state (no findings)");
  } else {
    lines.push(style.warn(`  rollback risks (${record.rollbackRisks.length}): read before promoting`));
    for (const risk of record.rollbackRisks) lines.push(`    - [${risk.kind}] ${risk.message}`);
  }
  const proof = record.steps.rollbackPath as { ok?: boolean; actor?: string; as?: string; blockNumber?: number } | undefined;
  if (proof?.ok === true) {
    lines.push(
      `  rollback path: proven on a fork at block ${proof.blockNumber} (green in, back to blue, green again, as ${proof.as === "switch" ? "the switch" : "the future upgrade authority"} ${proof.actor})`,
    );
  }
  for (const w of record.upgradeSafety.warnings) lines.push(style.warn(`  warning: ${w}`));
  lines.push(`  record  ${recordPath}`);
  if (showNext) {
    lines.push(style.dim(`  next    npx hardhat bg:replay --network ${record.network} --release ${record.id} --last-blocks 100`));
  }
  return lines.join("\n");
}

export function statusJson(status: ChainStatus, network: string) {
  return {
    ok:
      status.releases.every((r) => r.drift.length === 0 && r.evidenceDrift.length === 0) &&
      status.interrupted.length === 0 &&
      status.unreadable.length === 0 &&
      status.orphans.length === 0,
    chainId: status.chainId,
    network,
    releases: status.releases.map(({ record, drift, evidenceDrift, notes, waves, canary }) => ({
      release: record.id,
      state: record.state,
      kind: recordKind(record),
      proxy: record.proxy,
      ...(record.beacon !== undefined ? { beacon: record.beacon } : {}),
      blue: { address: record.blue.address, codehash: record.blue.codehash },
      green: { address: record.green.address, codehash: record.green.codehash, contract: record.green.contract },
      updatedAt: record.updatedAt,
      drift,
      evidenceDrift,
      // What the switch explains (superseded, blue moved, a promotion not recorded yet): not drift.
      ...(notes.length > 0 ? { notes } : {}),
      ...(waves !== undefined ? { waves: wavesJson(waves) } : {}),
      ...(canary !== undefined ? { canary } : {}),
    })),
    interrupted: status.interrupted,
    unreadable: status.unreadable,
    orphans: status.orphans,
  };
}

/** The chain column of a release whose differences the switch explains. */
const NOTE_LABEL: Record<StatusNote["kind"], string> = {
  superseded: "superseded",
  "blue-moved": "blue moved: re-stage",
  "promoted-unrecorded": "promoted: run bg:switch",
};

export function renderStatus(status: ChainStatus, network: string): string {
  if (status.releases.length === 0 && status.interrupted.length === 0 && status.unreadable.length === 0 && status.orphans.length === 0) {
    return `No releases on chain ${status.chainId} (${network}). Stage one with: npx hardhat bg:stage --network ${network} --proxy <address> --contract <Name>`;
  }
  const rows: TableItem[] = [
    { type: "header", cells: ["release", "state", "kind", "proxy", "blue", "green", "chain"] },
  ];
  for (const { record, drift, evidenceDrift, notes } of status.releases) {
    const problems = drift.length + evidenceDrift.length;
    const explained = [...new Set(notes.map((n) => NOTE_LABEL[n.kind]))].join(", ");
    rows.push({
      type: "row",
      cells: [
        record.id,
        record.state,
        recordKind(record),
        short(record.proxy),
        short(record.blue.address),
        `${short(record.green.address)} ${record.green.contract}`,
        problems > 0 ? style.bad(`${problems} drift`) : explained !== "" ? style.warn(explained) : style.ok("in sync"),
      ],
    });
  }
  const lines = [formatTable(rows)];
  for (const { record, drift, evidenceDrift, notes } of status.releases) {
    for (const n of notes) lines.push(style.warn(`${record.id}: ${n.message}`));
    for (const d of drift) lines.push(style.bad(`drift in ${record.id}: ${d.message}`));
    for (const p of evidenceDrift) lines.push(style.bad(`evidence of ${record.id}: ${p}; run bg:gates again`));
  }
  for (const { record, waves, canary } of status.releases) {
    if (waves !== undefined) lines.push("", renderReleaseWaves(record, waves));
    if (canary !== undefined) {
      lines.push("", style.bold(`Canary of ${record.id}`) + style.dim(` (cohort by ${canary.cohort === "origin" ? "tx.origin" : "msg.sender"}, release ${record.state})`));
      for (const step of canary.steps) {
        const line = `  ${step.name.padEnd(8)} ${String(step.bps).padStart(5)} bps  ${step.state}${step.router !== undefined ? ` (router ${step.router})` : ""}`;
        lines.push(step.state === "live" ? style.ok(line) : line);
      }
    }
  }
  for (const id of status.interrupted) {
    lines.push(style.warn(`${id}: a stage was interrupted after sending green's deploy; run bg:stage again with the same arguments to resume.`));
  }
  for (const { error } of status.unreadable) lines.push(style.bad(error));
  for (const o of status.orphans) {
    lines.push(style.warn(`orphaned ${o.kind} ${o.address}${o.release !== undefined ? ` of ${o.release}` : ""} (deployer ${o.deployer}, nonce ${o.nonce}): ${o.reason}`));
  }
  return lines.join("\n");
}

/** The waves of a release in bg:status --json: each wave's progress, and whether the next may go. */
export function wavesJson(waves: ReleaseWaves) {
  return {
    fleet: waves.fleet,
    waves: waves.waves.map((w) => ({
      name: w.name,
      proxies: w.proxies,
      live: w.live,
      state: w.state,
      bakeSeconds: w.bakeSeconds,
      promotedAt: w.promotedAt ?? null,
      bakeEndsAt: w.bakeEndsAt ?? null,
      analysis: w.analysis ?? null,
      override: w.override ?? null,
      proposal: w.proposal ?? null,
    })),
    next:
      waves.next === undefined
        ? null
        : {
            wave: waves.next.wave,
            allowed: waves.next.allowed,
            refusals: waves.next.refusals.map(({ kind, message, overridable }) => ({ kind, message, overridable })),
          },
  };
}

/** The waves of a release for people: one line per wave, its proposal while one waits, and the next step. */
export function renderReleaseWaves(record: ReleaseRecord, waves: ReleaseWaves): string {
  const lines = [style.bold(`Waves of ${record.id}`) + style.dim(` (${waves.fleet.length} proxies, release ${record.state})`)];
  waves.waves.forEach((w, i) => {
    const bake = w.bakeEndsAt !== undefined ? `bake until ${w.bakeEndsAt}` : `bake ${w.bakeSeconds}s`;
    const analysis = w.analysis !== undefined ? `analysis ${w.analysis}` : "not analysed";
    const state = w.state === "baked" ? style.ok(w.state.padEnd(11)) : w.state === "rolled-back" ? style.bad(w.state.padEnd(11)) : w.state.padEnd(11);
    lines.push(`  ${i + 1}. ${w.name.padEnd(12)} ${String(w.live).padStart(3)}/${w.proxies.length} live   ${state} ${bake}   ${analysis}`);
    if (w.override !== undefined) lines.push(style.warn(`     promoted on the override of ${w.override.by} at ${w.override.at}: ${w.override.reason}`));
    if (w.proposal !== undefined) {
      const signed = w.proposal.threshold !== undefined ? `${w.proposal.signatures} of ${w.proposal.threshold} signatures` : `${w.proposal.signatures} signatures`;
      const hash = w.proposal.safeTxHash !== undefined ? `, safeTxHash ${short(w.proposal.safeTxHash)}` : "";
      lines.push(`     proposed (${signed}${hash}); execute with npx hardhat bg:switch --release ${record.id} --wave ${w.name}`);
      if (w.proposal.override !== undefined) lines.push(style.warn(`     its proposal overrides the bake rule (${w.proposal.override.by}): ${w.proposal.override.reason}`));
    }
  });
  if (waves.next !== undefined) {
    const text = explainWaveDecision(waves.next);
    lines.push(waves.next.allowed && !waves.next.overridden ? style.ok(`  ${text}`) : style.warn(`  ${text}`));
  } else {
    lines.push(style.ok("  Every wave is live."));
  }
  return lines.join("\n");
}
