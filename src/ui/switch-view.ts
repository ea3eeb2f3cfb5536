/**
 * What bg:init and bg:adopt print, for people and for --json. Kept beside
 * the switch domain; pure functions from results to text.
 */
import path from "node:path";

import { style } from "./output.js";
import type { AdoptResult, PendingCall } from "../switch/adopt-proxy.js";
import type { InitSwitchResult } from "../switch/deploy-switch.js";

export interface InitJson {
  ok: true;
  switch: string;
  approver: string;
  guardians: string[];
  rollbackDelay: number;
  rollbackWindow: number;
  chainId: number;
  reused: boolean;
  deployTx: string;
  blockNumber: number;
  file: string;
}

export function initJson(result: InitSwitchResult): InitJson {
  const f = result.file;
  return {
    ok: true,
    switch: f.address,
    approver: f.approver,
    guardians: f.guardians,
    rollbackDelay: f.rollbackDelay,
    rollbackWindow: f.rollbackWindow,
    chainId: f.chainId,
    reused: result.reused,
    deployTx: f.deployTx,
    blockNumber: f.blockNumber,
    file: path.relative(process.cwd(), result.path),
  };
}

/** `network`: the --network the command ran on (none: the default network), for the next command's line. */
export function renderInit(result: InitJson, network: string | undefined): string {
  const head = result.reused
    ? `${style.ok("✓")} Reusing the BlueGreenSwitch at ${style.bold(result.switch)} (chain ${result.chainId}); nothing deployed.`
    : `${style.ok("✓")} Deployed the BlueGreenSwitch at ${style.bold(result.switch)} (chain ${result.chainId}, tx ${result.deployTx}).`;
  return [
    head,
    `  approver         ${result.approver}`,
    `  guardians        ${result.guardians.length > 0 ? result.guardians.join(", ") : style.warn("none (only the approver can start a rollback)")}`,
    `  rollback delay   ${duration(result.rollbackDelay)}`,
    `  rollback window  ${duration(result.rollbackWindow)}`,
    `  recorded in      ${result.file}`,
    style.dim(`Next: npx hardhat bg:adopt${network !== undefined ? ` --network ${network}` : ""} --proxy <the proxy or beacon to adopt>`),
  ].join("\n");
}

export function renderAdopt(result: AdoptResult): string {
  const lines: string[] = [];
  if (result.ok) {
    lines.push(
      result.alreadyAdopted
        ? `${style.ok("✓")} ${result.proxy} is already managed by the switch ${result.switch}.`
        : `${style.ok("✓")} ${result.proxy} is now managed by the switch ${result.switch}.`,
    );
  } else {
    lines.push(`${style.bad("✗")} ${result.proxy} is not adopted yet.`);
  }
  if (result.kind === undefined || result.kind === "transparent") {
    lines.push(`  ProxyAdmin       ${result.proxyAdmin} (OpenZeppelin v${result.adminVersion})`);
  } else {
    const kinds = { "uups-ownable": "UUPS, Ownable", "uups-access-control": `UUPS, AccessControl (role ${result.role})`, beacon: "beacon (every proxy of it switches together)" };
    lines.push(`  kind             ${kinds[result.kind]}`);
    if (result.viaBeaconProxy !== undefined) lines.push(`  found through    beacon proxy ${result.viaBeaconProxy}`);
  }
  lines.push(`  implementation   ${result.implementation}`);
  if (result.ownershipTransferTx !== undefined) lines.push(`  ownership moved  tx ${result.ownershipTransferTx}`);
  if (result.adoptTx !== undefined) lines.push(`  adopted          tx ${result.adoptTx}`);
  if (result.pending.length > 0) {
    lines.push("", style.bold("Calls still to be made, in this order:"));
    result.pending.forEach((call, i) => lines.push(...renderPending(call, i + 1)));
  }
  if (result.error !== undefined) lines.push("", result.error);
  if (result.ok && result.remainsElsewhere !== undefined) lines.push("", `What remains in other hands: ${result.remainsElsewhere}`);
  return lines.join("\n");
}

function renderPending(call: PendingCall, n: number): string[] {
  const who = { approver: "the approver", "proxy-admin-owner": "the ProxyAdmin owner", "upgrade-owner": "the owner", "role-admin": "" }[call.role];
  return [
    `  ${n}. from ${who ? `${who} ` : ""}${call.from}`,
    `     to     ${call.to}`,
    `     value  ${call.value}`,
    `     data   ${call.data}`,
    `     ${call.description}`,
  ];
}

/** Seconds as a short human duration: "1h", "7d", "90s", "1d 2h". */
export function duration(seconds: number): string {
  const parts: string[] = [];
  let rest = seconds;
  for (const [unit, size] of [
    ["d", 86400],
    ["h", 3600],
    ["m", 60],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0 || parts.length === 0) parts.push(`${rest}s`);
  return `${parts.join(" ")} (${seconds}s)`;
}
