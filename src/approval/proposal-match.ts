/**
 * Whether a proposal is the call its flow makes.
 *
 * Every file of a proposal folder can be rewritten, and rewritten
 * consistently: call data, safeTxHash, EIP-712 hashes, typed data and
 * signatures that all agree with each other. So before anything is signed
 * or sent, the proposal is rebuilt the way propose.ts builds it, from what
 * the flow rests on (the release record, a wave's or a canary step's entry
 * in it, or for a standalone call the switch's own ABI), with the approver
 * read from the switch: the call, who acts on it, the timelock operation,
 * the Safe transaction, and its safeTxHash, recomputed from the rebuilt
 * transaction in the chain's domain (chain id, the approver's Safe). From
 * the file only the Safe nonce and a timelock's delay are taken: the Safe
 * and the timelock enforce those themselves. Any other difference is
 * refused, naming the field.
 *
 * What people read and nothing executes (the title, the rows of details,
 * the arguments as text, summary.md) is not rebuilt.
 */
import { type FunctionFragment, Interface, type ParamType, getAddress } from "ethers";
import { z } from "zod";

import { BlueGreenError } from "../errors.js";
import { resolveApprover } from "./approver.js";
import { builderFileSchema } from "./builder-file.js";
import { assertProposalChain } from "./check.js";
import type { FactQuery } from "./facts.js";
import { type Actor, type ApprovalEnv, type ApproverCallSpec, type Proposal, actorCall } from "./proposal-schema.js";
import { BUILDER_FILE, type ProposalFolder, TYPED_DATA_FILE } from "./proposal-folder.js";
import { argString } from "./revert.js";
import { type SafeTransaction, buildSafeTransaction, hashSafeTransaction, safeTxTypedData } from "./safe-transaction.js";
import { type TimelockOperation, timelockOperation } from "./timelock.js";

/** The approver call as proposal.json holds it. */
export function proposedCall(spec: Pick<ApproverCallSpec, "to" | "fragment" | "args">): Proposal["call"] {
  return {
    to: getAddress(spec.to),
    value: "0",
    data: new Interface([spec.fragment]).encodeFunctionData(spec.fragment, spec.args),
    function: spec.fragment.format("full").replace(/^function /, ""),
    functionName: spec.fragment.name,
    args: spec.args.map(argString),
  };
}

/** The Safe transaction of the actor's call at `nonce`, with its hashes in the Safe's domain on this chain. */
export function safeProposal(chainId: number, safe: string, outer: { to: string; data: string }, nonce: bigint): NonNullable<Proposal["safe"]> {
  const tx = buildSafeTransaction({ ...outer, nonce });
  return { tx, ...hashSafeTransaction(chainId, safe, tx) };
}

/** One field in which the proposal differs from the call rebuilt from the flow's records. */
export interface ProposalDifference {
  field: string;
  proposal: string;
  expected: string;
}

/**
 * The differences between `proposal` and the proposal `spec` makes, in
 * order of importance (what executes first); empty when it is that call.
 */
export async function proposalDifferences(env: ApprovalEnv, proposal: Proposal, spec: ApproverCallSpec): Promise<ProposalDifference[]> {
  assertProposalChain(env, proposal);
  const out: ProposalDifference[] = [];
  const differ = (field: string, found: unknown, expected: unknown) => {
    const a = show(found);
    const b = show(expected);
    if (a !== b) out.push({ field, proposal: a, expected: b });
  };

  const call = proposedCall(spec);
  differ("call.to (the contract called)", getAddress(proposal.call.to), call.to);
  differ("call.value", proposal.call.value, call.value);
  const callDiffers = proposal.call.data.toLowerCase() !== call.data.toLowerCase();
  if (callDiffers) out.push(...dataDifferences(proposal.call.data, spec));
  differ("call.function", proposal.call.function, call.function);
  differ("id", proposal.id, spec.id);

  // The approver as the switch has it now, and the timelock between, if any: the same resolution as propose.
  const resolved = await resolveApprover(env, spec.actor, spec.id, call);
  const timelock =
    resolved.timelock !== undefined && proposal.timelock !== undefined
      ? timelockOperation(resolved.timelock.address, call, spec.id, BigInt(proposal.timelock.delay))
      : resolved.timelock;
  differ("actor (who makes the call)", actorWords(proposal.actor), actorWords(resolved.actor));
  if (timelock === undefined || proposal.timelock === undefined) {
    differ("timelock", proposal.timelock?.address ?? "none", timelock?.address ?? "none");
  } else {
    for (const key of Object.keys(timelock) as Array<keyof TimelockOperation>) differ(`timelock.${key}`, proposal.timelock[key], timelock[key]);
  }

  if (resolved.actor.kind === "safe") {
    if (proposal.safe === undefined) {
      differ("safe (the Safe transaction)", "none", `a transaction of the Safe ${resolved.actor.address}`);
    } else {
      const rebuilt = safeProposal(env.chainId, resolved.actor.address, actorCall({ call, timelock }), BigInt(proposal.safe.tx.nonce));
      for (const key of Object.keys(rebuilt.tx) as Array<keyof SafeTransaction>) {
        // A call that differs is named above, argument by argument; its encoding in the Safe transaction follows from it.
        if (key === "data" && callDiffers) continue;
        differ(`safe.tx.${key}`, proposal.safe.tx[key], rebuilt.tx[key]);
      }
      differ("safe.safeTxHash", proposal.safe.safeTxHash, rebuilt.safeTxHash);
      differ("safe.domainHash", proposal.safe.domainHash, rebuilt.domainHash);
      differ("safe.messageHash", proposal.safe.messageHash, rebuilt.messageHash);
    }
  } else if (proposal.safe !== undefined) {
    differ("safe (the Safe transaction)", `a transaction of the Safe ${proposal.actor.address}`, `none: the approver ${resolved.actor.address} is a plain account`);
  }

  // The facts the call rests on are re-read before signing and sending; none of them may be missing.
  for (const fact of spec.facts) {
    if (!proposal.facts.some((f) => sameQuery(f, fact))) differ(`facts (${fact.label})`, "not re-checked", "re-checked before signing and sending");
  }
  const pinned = spec.pinned ?? {};
  for (const key of new Set([...Object.keys(pinned), ...Object.keys(proposal.pinned)])) {
    if (!sameJson(proposal.pinned[key], pinned[key])) differ(`pinned.${key}`, proposal.pinned[key] ?? "none", pinned[key] ?? "none");
  }
  return out;
}

/**
 * Refuses a proposal that is not the call `spec` makes, and proposal files
 * signers sign from outside the CLI (the typed data, the Transaction Builder
 * file) that are not its Safe transaction.
 */
export async function assertProposalIsCall(
  env: ApprovalEnv,
  folder: ProposalFolder,
  proposal: Proposal,
  spec: ApproverCallSpec,
  source: string,
  again: string,
): Promise<void> {
  const differences = await proposalDifferences(env, proposal, spec);
  if (differences.length === 0 && proposal.safe !== undefined) differences.push(...(await fileDifferences(env, folder, proposal)));
  if (differences.length === 0) return;
  throw new BlueGreenError(
    "BG_APPROVAL_PROPOSAL_MISMATCH",
    `The proposal in ${folder.where} is not the call ${source} makes (it was changed after it was made, or made for something else):\n` +
      differences.map((d) => `  - ${d.field}: the proposal has ${d.proposal}; ${source} says ${d.expected}`).join("\n") +
      "\nNothing was signed or sent.",
    { hint: `Do not sign it. Propose again (${again}) and have the owners sign the new proposal.` },
  );
}

/** Which argument of the call differs, decoded with the expected function. */
function dataDifferences(data: string, spec: ApproverCallSpec): ProposalDifference[] {
  const iface = new Interface([spec.fragment]);
  let found: readonly unknown[];
  try {
    found = iface.decodeFunctionData(spec.fragment, data);
  } catch {
    return [{ field: "call.data", proposal: `a call of selector ${data.slice(0, 10)}`, expected: `${spec.fragment.format("sighash")} (selector ${spec.fragment.selector})` }];
  }
  const out: ProposalDifference[] = [];
  argDifferences(spec.fragment, found, spec.args, out);
  return out.length > 0 ? out : [{ field: "call.data", proposal: data, expected: iface.encodeFunctionData(spec.fragment, spec.args) }];
}

function argDifferences(fragment: FunctionFragment, found: readonly unknown[], expected: readonly unknown[], out: ProposalDifference[]): void {
  fragment.inputs.forEach((input, i) => paramDifferences(input, input.name || `arg${i}`, found[i], expected[i], out));
}

/** Down into tuples (by component name) and arrays (by index), so that the message names e.g. `promotions[1].green`. */
function paramDifferences(param: ParamType, path: string, found: unknown, expected: unknown, out: ProposalDifference[]): void {
  if (param.isTuple() && Array.isArray(found) && Array.isArray(expected)) {
    param.components.forEach((c, i) => paramDifferences(c, `${path}.${c.name || i}`, found[i], expected[i], out));
    return;
  }
  if (param.isArray() && Array.isArray(found) && Array.isArray(expected) && found.length === expected.length) {
    found.forEach((item, i) => paramDifferences(param.arrayChildren, `${path}[${i}]`, item, expected[i], out));
    return;
  }
  const a = argString(Array.isArray(found) ? [...found] : found);
  const b = argString(Array.isArray(expected) ? [...expected] : expected);
  if (a.toLowerCase() !== b.toLowerCase()) out.push({ field: `call.data, argument ${path} (${param.format("sighash")})`, proposal: a, expected: b });
}

/** The typed data and the Transaction Builder file must carry the proposal's (now checked) Safe transaction. */
async function fileDifferences(env: ApprovalEnv, folder: ProposalFolder, proposal: Proposal): Promise<ProposalDifference[]> {
  const out: ProposalDifference[] = [];
  const safe = proposal.actor.address;
  const typed = await folder.read(TYPED_DATA_FILE, z.unknown());
  if (typed !== undefined && !sameJson(JSON.stringify(typed), JSON.stringify(safeTxTypedData(env.chainId, safe, proposal.safe!.tx)))) {
    out.push({ field: TYPED_DATA_FILE, proposal: "another transaction or domain", expected: `the Safe transaction with safeTxHash ${proposal.safe!.safeTxHash}, Safe ${safe} on chain ${env.chainId}` });
  }
  const builder = await folder.read(BUILDER_FILE, builderFileSchema);
  if (builder !== undefined) {
    const outer = { to: proposal.safe!.tx.to, data: proposal.safe!.tx.data };
    const tx = builder.transactions;
    const same =
      builder.chainId === String(env.chainId) &&
      (builder.meta.createdFromSafeAddress === undefined || sameAddress(builder.meta.createdFromSafeAddress, safe)) &&
      tx.length === 1 &&
      sameAddress(tx[0]!.to, outer.to) &&
      tx[0]!.value === "0" &&
      (tx[0]!.data ?? "").toLowerCase() === outer.data.toLowerCase();
    if (!same) out.push({ field: BUILDER_FILE, proposal: "other transactions, another Safe or another chain", expected: `one call of ${outer.to} with the proposal's data, from the Safe ${safe} on chain ${env.chainId}` });
  }
  return out;
}

function sameAddress(a: string, b: string): boolean {
  try {
    return getAddress(a) === getAddress(b);
  } catch {
    return false;
  }
}

function actorWords(actor: Actor): string {
  return actor.kind === "safe" ? `the Safe ${getAddress(actor.address)}` : `the account ${getAddress(actor.address)}`;
}

function sameQuery(fact: Proposal["facts"][number], query: FactQuery): boolean {
  const { expected: _value, ...rest } = fact;
  return canonical(rest) === canonical(query);
}

/** Equal strings, or JSON documents equal whatever their key order. */
function sameJson(a: string | undefined, b: string | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  try {
    return canonical(JSON.parse(a)) === canonical(JSON.parse(b));
  } catch {
    return false;
  }
}

/** JSON with sorted keys and lower-case hex, so that only meaning is compared. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "string" && /^0x[0-9a-fA-F]*$/.test(v)) return v.toLowerCase();
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]));
    }
    return v;
  });
}

function show(value: unknown): string {
  if (typeof value === "string") return /^0x[0-9a-fA-F]{40}$/.test(value) ? getAddress(value) : /^0x[0-9a-fA-F]*$/.test(value) ? value.toLowerCase() : value;
  return String(value);
}
