/** Every string a person reads about a release record. */
import { formatTable, type TableItem } from "@nomicfoundation/hardhat-utils/format";

import type { ReleaseRecord } from "../release/record.js";
import type { ChainStatus } from "../release/release-status.js";
import { style } from "./output.js";

export function short(hash: string): string {
  return hash.length > 14 ? `${hash.slice(0, 10)}…${hash.slice(-4)}` : hash;
}

/** The JSON document bg:stage prints (see README "bg:stage"). */
export function stageJson(record: ReleaseRecord, extra: { unchanged: boolean; greenDeployment: string }) {
  return {
    ok: true,
    release: record.id,
    chainId: record.chainId,
    state: record.state,
    proxy: record.proxy,
    admin: record.admin,
    blue: { address: record.blue.address, codehash: record.blue.codehash },
    green: { address: record.green.address, codehash: record.green.codehash, contract: record.green.contract },
    rollbackRisks: record.rollbackRisks.map(({ kind, message }) => ({ kind, message })),
    warnings: record.upgradeSafety.warnings,
    unchanged: extra.unchanged,
    greenDeployment: extra.greenDeployment,
  };
}

export function renderStaged(record: ReleaseRecord, unchanged: boolean, recordPath: string, showNext = true): string {
  const lines = [
    unchanged
      ? `${style.bold(`Release ${record.id}`)} is already ${record.state}; nothing changed.`
      : `${style.ok("✔")} ${style.bold(`Release ${record.id}`)} staged on chain ${record.chainId} (${record.network}).`,
    `  proxy   ${record.proxy}   admin ${record.admin}`,
    `  ${style.blue("blue")}    ${record.blue.address}   codehash ${short(record.blue.codehash)}`,
    `  ${style.green("green")}   ${record.green.address}   codehash ${short(record.green.codehash)}   ${record.green.contract}`,
    `  upgrade safety: OpenZeppelin checks passed (blue's layout from ${record.upgradeSafety.blueLayoutFrom}${record.upgradeSafety.reference ? ` ${record.upgradeSafety.reference}` : ""})`,
  ];
  if (record.rollbackRisks.length === 0) {
    lines.push("  rollback safety: blue can run on green's state (no findings)");
  } else {
    lines.push(style.warn(`  rollback risks (${record.rollbackRisks.length}): read before promoting`));
    for (const risk of record.rollbackRisks) lines.push(`    - [${risk.kind}] ${risk.message}`);
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
      status.unreadable.length === 0,
    chainId: status.chainId,
    network,
    releases: status.releases.map(({ record, drift, evidenceDrift }) => ({
      release: record.id,
      state: record.state,
      proxy: record.proxy,
      blue: { address: record.blue.address, codehash: record.blue.codehash },
      green: { address: record.green.address, codehash: record.green.codehash, contract: record.green.contract },
      updatedAt: record.updatedAt,
      drift,
      evidenceDrift,
    })),
    interrupted: status.interrupted,
    unreadable: status.unreadable,
  };
}

export function renderStatus(status: ChainStatus, network: string): string {
  if (status.releases.length === 0 && status.interrupted.length === 0 && status.unreadable.length === 0) {
    return `No releases on chain ${status.chainId} (${network}). Stage one with: npx hardhat bg:stage --network ${network} --proxy <address> --contract <Name>`;
  }
  const rows: TableItem[] = [
    { type: "header", cells: ["release", "state", "proxy", "blue", "green", "chain"] },
  ];
  for (const { record, drift, evidenceDrift } of status.releases) {
    const problems = drift.length + evidenceDrift.length;
    rows.push({
      type: "row",
      cells: [
        record.id,
        record.state,
        short(record.proxy),
        short(record.blue.address),
        `${short(record.green.address)} ${record.green.contract}`,
        problems === 0 ? style.ok("in sync") : style.bad(`${problems} drift`),
      ],
    });
  }
  const lines = [formatTable(rows)];
  for (const { record, drift, evidenceDrift } of status.releases) {
    for (const d of drift) lines.push(style.bad(`drift in ${record.id}: ${d.message}`));
    for (const p of evidenceDrift) lines.push(style.bad(`evidence of ${record.id}: ${p}; run bg:gates again`));
  }
  for (const id of status.interrupted) {
    lines.push(style.warn(`${id}: a stage was interrupted after sending green's deploy; run bg:stage again with the same arguments to resume.`));
  }
  for (const { error } of status.unreadable) lines.push(style.bad(error));
  return lines.join("\n");
}
