/**
 * Approver-only calls of the switch, as proposals: what each one pins as
 * facts and how it reads for a signer. Promote, adopt, cancelRollback,
 * rollbackNow, an early finalize, release, approver and guardian changes all
 * go through here and through the one pipeline (pipeline.ts).
 */
import { Interface, ZeroAddress, getAddress, id as keccakText } from "ethers";

import { BlueGreenError } from "../errors.js";
import { IMPLEMENTATION_SLOT } from "../stage/read-proxy.js";
import type { FactQuery } from "./facts.js";
import type { ApprovalEnv, ApproverCallSpec } from "./proposal-schema.js";
import { argString } from "./revert.js";
import { ethersProvider } from "./chain.js";

/** Switch functions only the approver (or, for acceptApprover, the pending approver) may call. */
export const APPROVER_FUNCTIONS = [
  "adopt",
  "adoptUups",
  "adoptBeacon",
  "promote",
  "promoteBatch",
  "promoteCanary",
  "scheduleRollback",
  "cancelRollback",
  "rollbackNow",
  "finalize",
  "release",
  "proposeApprover",
  "acceptApprover",
  "addGuardian",
  "removeGuardian",
  "addCanceller",
  "removeCanceller",
] as const;
export type ApproverFunction = (typeof APPROVER_FUNCTIONS)[number];

const OWNER_ABI = new Interface(["function owner() view returns (address)"]);

export interface SwitchRef {
  address: string;
  iface: Interface;
}

/**
 * Builds the proposal spec of an approver call on the switch: the actor it
 * needs, a title and rows for people, and the facts that must not change
 * before it executes.
 */
export async function switchCallSpec(
  env: ApprovalEnv,
  sw: SwitchRef,
  functionName: string,
  args: readonly unknown[],
  options: { id: string; title?: string; details?: ApproverCallSpec["details"]; facts?: FactQuery[]; pinned?: Record<string, string> },
): Promise<ApproverCallSpec> {
  if (!(APPROVER_FUNCTIONS as readonly string[]).includes(functionName)) {
    throw new BlueGreenError(
      "BG_APPROVAL_CALL_INVALID",
      `${functionName} is not an approver call of the switch. Approver calls: ${APPROVER_FUNCTIONS.join(", ")}. ` +
        (functionName === "executeRollback" ? "executeRollback is open to anyone: use `bg:rollback --execute`." : ""),
    );
  }
  const fragment = sw.iface.getFunction(functionName);
  if (fragment === null) throw new BlueGreenError("BG_APPROVAL_CALL_INVALID", `The switch has no function ${functionName}. Is its artifact up to date?`);
  if (args.length !== fragment.inputs.length) {
    throw new BlueGreenError(
      "BG_APPROVAL_CALL_INVALID",
      `${fragment.format("sighash")} takes ${fragment.inputs.length} argument(s) (${fragment.inputs.map((i) => `${i.type} ${i.name}`).join(", ")}); got ${args.length}.`,
    );
  }
  // By the argument's name without Solidity's trailing underscore (`currentImplementation_` is `currentImplementation`).
  const byName = Object.fromEntries(fragment.inputs.map((input, i) => [input.name.replace(/_+$/, ""), args[i]]));
  const role = functionName === "acceptApprover" ? "pendingApprover" : "approver";
  const actor = await readRole(env, sw, role);
  if (actor === ZeroAddress) {
    throw new BlueGreenError("BG_APPROVAL_NO_PENDING_APPROVER", "The switch has no pending approver. The current approver proposes one first (proposeApprover).");
  }

  const facts: FactQuery[] = [switchView(sw, role, [], `switch ${role}`, ["address"])];
  const proxy = typeof byName.proxy === "string" ? getAddress(byName.proxy) : undefined;
  if (proxy !== undefined) {
    facts.push(switchView(sw, "proxyState", [proxy], `switch's record of proxy ${proxy}`, [proxyStateType(sw.iface)]));
  }
  const proxyAdmin = typeof byName.proxyAdmin === "string" ? getAddress(byName.proxyAdmin) : undefined;
  // `release` hands back a ProxyAdmin, a UUPS proxy's authority or a beacon: name it as what it is.
  const authority = functionName === "release" && proxyAdmin !== undefined ? await authorityKind(env, sw, proxyAdmin) : undefined;
  if (proxyAdmin !== undefined && authority !== "UUPS proxy") {
    facts.push({ kind: "call", label: `owner of ${authority ?? "ProxyAdmin"} ${proxyAdmin}`, to: proxyAdmin, data: OWNER_ABI.encodeFunctionData("owner"), returns: ["address"] });
  }
  if ((functionName === "adopt" || functionName === "adoptUups") && proxy !== undefined) {
    facts.push({ kind: "storage", label: `implementation slot of ${functionName === "adoptUups" ? "UUPS " : ""}proxy ${proxy}`, address: proxy, slot: IMPLEMENTATION_SLOT });
  }
  const beacon = functionName === "adoptBeacon" && typeof byName.beacon === "string" ? getAddress(byName.beacon) : undefined;
  if (beacon !== undefined) {
    facts.push({ kind: "call", label: `owner of beacon ${beacon}`, to: beacon, data: OWNER_ABI.encodeFunctionData("owner"), returns: ["address"] });
  }
  if (functionName === "release" && proxyAdmin !== undefined) {
    facts.push(switchView(sw, "proxiesOf", [proxyAdmin], `proxies of ${authority ?? "ProxyAdmin"} ${proxyAdmin}`, ["address[]"]));
  }
  if (functionName === "addGuardian" || functionName === "removeGuardian") {
    facts.push(switchView(sw, "guardians", [], "switch guardians", ["address[]"]));
  }
  if (functionName === "addCanceller" || functionName === "removeCanceller") {
    facts.push(switchView(sw, "cancellers", [], "switch cancellers", ["address[]"]));
  }
  if (functionName === "proposeApprover") {
    facts.push(switchView(sw, "pendingApprover", [], "switch pending approver", ["address"]));
  }
  facts.push(...(options.facts ?? []));

  return {
    id: options.id,
    to: sw.address,
    fragment,
    args,
    actor,
    title: options.title ?? defaultTitle(functionName, byName, authority),
    details: options.details ?? [
      { label: "switch", value: getAddress(sw.address) },
      ...fragment.inputs.map((input, i) => ({
        // release(proxyAdmin, …) of a UUPS proxy or a beacon: the argument is that proxy or beacon, its own authority.
        label: input.name === "proxyAdmin" && authority !== undefined && authority !== "ProxyAdmin" ? `proxyAdmin (here the ${authority} itself)` : input.name || `arg${i}`,
        value: argString(args[i]),
      })),
    ],
    facts,
    ...(options.pinned !== undefined ? { pinned: options.pinned } : {}),
  };
}

/** A fact that reads a view of the switch. */
export function switchView(sw: SwitchRef, fn: string, args: unknown[], label: string, returns: string[]): FactQuery {
  return { kind: "call", label, to: getAddress(sw.address), data: sw.iface.encodeFunctionData(fn, args), returns };
}

function proxyStateType(iface: Interface): string {
  return iface.getFunction("proxyState")!.outputs[0]!.format("sighash");
}

async function readRole(env: ApprovalEnv, sw: SwitchRef, role: "approver" | "pendingApprover"): Promise<string> {
  const raw = await ethersProvider(env).call({ to: sw.address, data: sw.iface.encodeFunctionData(role) });
  return getAddress(sw.iface.decodeFunctionResult(role, raw)[0] as string);
}

/**
 * What `release(proxyAdmin, …)` hands back, read from the switch: a UUPS
 * proxy or a beacon is its own authority (the switch's kind of it); a
 * ProxyAdmin is not a proxy the switch tracks (kind None).
 */
async function authorityKind(env: ApprovalEnv, sw: SwitchRef, authority: string): Promise<"ProxyAdmin" | "UUPS proxy" | "beacon"> {
  if (sw.iface.getFunction("proxyKind") === null) return "ProxyAdmin";
  try {
    const raw = await ethersProvider(env).call({ to: sw.address, data: sw.iface.encodeFunctionData("proxyKind", [authority]) });
    const kind = Number(sw.iface.decodeFunctionResult("proxyKind", raw)[0]);
    return kind === 3 || kind === 4 ? "UUPS proxy" : kind === 5 ? "beacon" : "ProxyAdmin";
  } catch {
    return "ProxyAdmin";
  }
}

function defaultTitle(fn: string, a: Record<string, unknown>, authority?: string): string {
  const s = (v: unknown) => argString(v);
  switch (fn) {
    case "adopt":
      return `Adopt transparent proxy ${s(a.proxy)} (ProxyAdmin ${s(a.proxyAdmin)}, running ${s(a.currentImplementation)}) into the switch`;
    case "adoptUups":
      return (
        `Adopt UUPS proxy ${s(a.proxy)} (running ${s(a.currentImplementation)}) into the switch, its upgrade authority ` +
        (String(a.authority) === "0" ? "as owner()" : `through AccessControl role ${s(a.role)}`)
      );
    case "adoptBeacon":
      return `Adopt beacon ${s(a.beacon)} (running ${s(a.currentImplementation)}) into the switch: every BeaconProxy of it then moves only through the switch`;
    case "cancelRollback":
      return `Veto the scheduled rollback of proxy ${s(a.proxy)}`;
    case "rollbackNow":
      return `Roll proxy ${s(a.proxy)} back to blue now`;
    case "finalize":
      return `Finalize the release of proxy ${s(a.proxy)} before its window ends`;
    case "scheduleRollback":
      return `Schedule a rollback of proxy ${s(a.proxy)}`;
    case "release":
      return authority === "ProxyAdmin" || authority === undefined
        ? `Hand ProxyAdmin ${s(a.proxyAdmin)} back to ${s(a.newOwner)}`
        : `Hand the upgrade authority of ${authority} ${s(a.proxyAdmin)} back to ${s(a.newOwner)}${authority === "UUPS proxy" && /^0x0+$/.test(s(a.newOwner)) ? " (the switch renounces its upgrader role)" : ""}`;
    case "proposeApprover":
      return `Propose ${s(a.newApprover)} as the switch's next approver`;
    case "acceptApprover":
      return "Accept the switch's approver role";
    case "addGuardian":
      return `Add guardian ${s(a.guardian)}`;
    case "removeGuardian":
      return `Remove guardian ${s(a.guardian)} (cancelling the rollbacks it scheduled)`;
    case "addCanceller":
      return `Add canceller ${s(a.canceller)} (may veto scheduled rollbacks during their delay)`;
    case "removeCanceller":
      return `Remove canceller ${s(a.canceller)}`;
    default:
      return `${fn}(${Object.values(a).map(s).join(", ")})`;
  }
}

/** A short, stable id for a call outside releases: function name and a hash of its calldata. */
export function defaultCallId(spec: Pick<ApproverCallSpec, "fragment" | "args">): string {
  const data = new Interface([spec.fragment]).encodeFunctionData(spec.fragment, spec.args);
  const kebab = spec.fragment.name.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
  return `${kebab}-${keccakText(data).slice(2, 10)}`;
}
