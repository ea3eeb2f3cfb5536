/**
 * The one approval path for every approver-only call of the switch: promote,
 * adopt, cancelRollback, rollbackNow, an early finalize, release, approver
 * and guardian changes.
 *
 * 1. propose: the call is built, simulated from the approver, the facts it
 *    rests on are pinned, and (for a Safe) the Safe transaction, its
 *    safeTxHash, the EIP-712 domain and message hashes and a Transaction
 *    Builder file are written with a summary for people;
 * 2. approve: owners add signatures, each checked against the Safe's owners
 *    and refused if the proposal went stale;
 * 3. execute (execute.ts): drift re-checks, simulation, execTransaction.
 *
 * The approver is whatever account the switch names: a Safe (1.3.0 or
 * 1.4.1), a plain account on development networks, which needs no signatures
 * and executes the call itself, or a TimelockController, whose proposer (a
 * Safe or an account) makes the call `schedule(...)` through the same path
 * (timelock.ts).
 */
import { FunctionFragment, Interface, getAddress, type Provider, type Signer } from "ethers";
import { z } from "zod";

import { BlueGreenError } from "../errors.js";
import { buildBuilderFile } from "./builder-file.js";
import { type Fact, type FactDrift, type FactQuery, checkFacts, factSchema, pinFacts } from "./facts.js";
import {
  BUILDER_FILE,
  EXECUTION_FILE,
  PROPOSAL_FILE,
  type ProposalFolder,
  SIGNATURES_FILE,
  SUMMARY_FILE,
  TYPED_DATA_FILE,
} from "./proposal-folder.js";
import {
  type SafeState,
  assertSafeAgreesOnHash,
  buildSafeTransaction,
  hashSafeTransaction,
  readSafeState,
  safeTransactionSchema,
  safeTxTypedData,
} from "./safe-transaction.js";
import {
  type OwnerSignature,
  type SignatureSet,
  addOwnerSignature,
  signSafeTransaction,
  signatureSetSchema,
  validSignatures,
} from "./signatures.js";
import { renderProposalSummary } from "./summary.js";
import { findRevertData } from "../switch/read-switch.js";
import { executionJournalSchema } from "./journal.js";
import { APPROVAL_ERROR_CODES, ApprovalError } from "./approval-error.js";
import {
  type TimelockOperation,
  assertCanPropose,
  readOperationState,
  readTimelockDelay,
  timelockOperation,
  timelockOperationSchema,
} from "./timelock.js";
import type { SafeServiceLink } from "./safe-service.js";

export const PROPOSAL_SCHEMA_VERSION = 1;

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/);
const bytes32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/);

export const actorSchema = z.discriminatedUnion("kind", [
  z
    .object({
      kind: z.literal("safe"),
      address,
      version: z.string(),
      threshold: z.number().int().positive(),
      owners: z.array(address),
    })
    .strict(),
  z.object({ kind: z.literal("account"), address }).strict(),
]);

export type Actor = z.infer<typeof actorSchema>;

export const proposalSchema = z
  .object({
    schemaVersion: z.literal(PROPOSAL_SCHEMA_VERSION),
    id: z.string(),
    chainId: z.number().int().positive(),
    createdAt: z.string().datetime({ offset: true }),
    /** Block the proposal was made at: where searches for its execution start. */
    blockNumber: z.number().int().nonnegative(),
    title: z.string(),
    /** What people check, row by row (proxy, blue, green, codehashes, evidence...). */
    details: z.array(z.object({ label: z.string(), value: z.string() }).strict()),
    call: z
      .object({
        to: address,
        value: z.literal("0"),
        data: z.string().regex(/^0x[0-9a-fA-F]*$/),
        /** Full signature, e.g. `promote(address proxy, ...)`. */
        function: z.string(),
        functionName: z.string(),
        args: z.array(z.string()),
      })
      .strict(),
    actor: actorSchema,
    safe: z
      .object({
        tx: safeTransactionSchema,
        safeTxHash: bytes32,
        domainHash: bytes32,
        messageHash: bytes32,
      })
      .strict()
      .optional(),
    facts: z.array(factSchema),
    /** Off-chain values the proposal rests on (e.g. the evidence hash); the caller re-checks them. */
    pinned: z.record(z.string()),
    builderFile: z.string().optional(),
    /**
     * Set when the switch's approver is a TimelockController: `call` is what the
     * timelock will make, and the actor (its proposer) calls `schedule(...)`.
     */
    timelock: timelockOperationSchema.optional(),
  })
  .strict();

export type Proposal = z.infer<typeof proposalSchema>;

/** What the approval path needs from the network. */
export interface ApprovalEnv {
  provider: Provider;
  chainId: number;
  /** The called contract's ABI, to name its custom errors when a simulation reverts. */
  errors?: Interface;
  /** For a TimelockController approver: who proposes on it (blueGreen.approval.timelockProposer). */
  timelockProposer?: string;
  /** The Safe Transaction Service, when blueGreen.approval.safeService is set. */
  safeService?: SafeServiceLink;
}

/**
 * What the actor itself calls: the approver call, or for a timelock approver
 * the timelock's `schedule(...)` of it. The Safe transaction, the journal and
 * the simulation are all about this call.
 */
export function actorCall(proposal: Pick<Proposal, "call" | "timelock">): { to: string; data: string } {
  if (proposal.timelock !== undefined) return { to: proposal.timelock.address, data: proposal.timelock.scheduleData };
  return { to: proposal.call.to, data: proposal.call.data };
}

/** An approver call to propose. */
export interface ApproverCallSpec {
  /** The release id, or the call id for calls outside releases. */
  id: string;
  to: string;
  fragment: FunctionFragment;
  args: readonly unknown[];
  /** The account that must make the call (the switch's approver, or its pending approver). */
  actor: string;
  title: string;
  details: Array<{ label: string; value: string }>;
  /** On-chain facts the call rests on; re-checked before signing and executing. */
  facts: readonly FactQuery[];
  pinned?: Record<string, string>;
}

export interface ProposeOutcome {
  proposal: Proposal;
  proposalFile: string;
  summaryFile: string;
  builderFile?: string;
  /** Signatures still valid from an identical earlier proposal. */
  signaturesKept: number;
  /** Signatures dropped because the proposal changed (new nonce, new values). */
  signaturesDropped: number;
  /** The Safe Transaction Service, when one is configured. */
  service?: ServicePosting;
}

/**
 * Proposes an approver call: simulates it from the approver, pins its facts,
 * and writes the proposal files. Re-proposing the same call at the same Safe
 * nonce gives the same safeTxHash and keeps the signatures collected so far.
 */
export async function proposeApproverCall(
  env: ApprovalEnv,
  folder: ProposalFolder,
  spec: ApproverCallSpec,
  options: { nonce?: bigint; now?: Date; proposer?: Signer } = {},
): Promise<ProposeOutcome> {
  const journal = await folder.read(EXECUTION_FILE, executionJournalSchema);
  const previous = await folder.read(PROPOSAL_FILE, proposalSchema);
  // A timelock operation cancelled after it was scheduled may be proposed again: nothing of it will ever run.
  const cancelled =
    journal?.status === "done" && previous?.timelock !== undefined && (await readOperationState(env.provider, previous.timelock)).kind === "unset";
  if (journal !== undefined && previous !== undefined && journalMatches(journal, previous) && !cancelled) {
    throw new BlueGreenError(
      journal.status === "done"
        ? `This proposal in ${folder.where} was already executed (tx ${journal.txHash}). Nothing to propose.`
        : `An execution of the proposal in ${folder.where} was started and not confirmed. ` +
            `Finish it first by running the execute step again (${folder.option}); it finds the transaction if it was mined.`,
    );
  }

  const data = new Interface([spec.fragment]).encodeFunctionData(spec.fragment, spec.args);
  const approver = await resolveApprover(env, spec.actor, spec.id, { to: spec.to, data });
  const { actor, timelock } = approver;
  // The approver call itself must pass as the switch will see it: from the timelock, or from the actor.
  await simulateCall(env, { from: timelock?.address ?? actor.address, to: spec.to, data }, spec.title);
  const outer = timelock !== undefined ? { to: timelock.address, data: timelock.scheduleData } : { to: spec.to, data };
  if (timelock !== undefined) await simulateCall(env, { from: actor.address, ...outer }, `Scheduling on the timelock ${timelock.address}`);
  const facts = await pinFacts(env.provider, spec.facts);
  const blockNumber = await env.provider.getBlockNumber();
  const now = options.now ?? new Date();

  let safe: Proposal["safe"];
  if (actor.kind === "safe") {
    const state = await readSafeState(env.provider, actor.address);
    const nonce = options.nonce ?? state.nonce;
    if (nonce < state.nonce) {
      throw new BlueGreenError(`Safe nonce ${nonce} is already used (the Safe is at ${state.nonce}). Leave --nonce out, or give ${state.nonce} or more.`);
    }
    const tx = buildSafeTransaction({ ...outer, nonce });
    const hashes = hashSafeTransaction(env.chainId, actor.address, tx);
    await assertSafeAgreesOnHash(env.provider, actor.address, tx, hashes.safeTxHash);
    safe = { tx, ...hashes };
  }

  const proposal: Proposal = {
    schemaVersion: PROPOSAL_SCHEMA_VERSION,
    id: spec.id,
    chainId: env.chainId,
    createdAt: now.toISOString(),
    blockNumber,
    title: spec.title,
    details: spec.details,
    call: {
      to: getAddress(spec.to),
      value: "0",
      data,
      function: spec.fragment.format("full").replace(/^function /, ""),
      functionName: spec.fragment.name,
      args: spec.args.map(argString),
    },
    actor,
    ...(safe !== undefined ? { safe, builderFile: BUILDER_FILE } : {}),
    facts,
    pinned: spec.pinned ?? {},
    ...(timelock !== undefined ? { timelock } : {}),
  };

  let builderFile: string | undefined;
  if (safe !== undefined) {
    const file = buildBuilderFile({
      chainId: env.chainId,
      safe: actor.address,
      name: spec.title,
      description: `${spec.title}. Safe nonce ${safe.tx.nonce}, safeTxHash ${safe.safeTxHash}.`,
      calls: [
        timelock !== undefined
          ? { to: timelock.address, data: timelock.scheduleData, fragment: TIMELOCK_SCHEDULE, args: scheduleArgs(timelock) }
          : { to: spec.to, data, fragment: spec.fragment, args: spec.args },
      ],
      createdAt: now,
    });
    builderFile = await folder.write(BUILDER_FILE, file);
    await folder.write(TYPED_DATA_FILE, safeTxTypedData(env.chainId, actor.address, safe.tx));
  } else {
    await folder.remove(BUILDER_FILE);
    await folder.remove(TYPED_DATA_FILE);
  }

  // Signatures survive only if they are over this very safeTxHash.
  const existing = await folder.read(SIGNATURES_FILE, signatureSetSchema);
  let kept = 0;
  let dropped = 0;
  if (safe !== undefined) {
    if (existing !== undefined && existing.safeTxHash.toLowerCase() === safe.safeTxHash.toLowerCase()) {
      kept = existing.signatures.length;
    } else {
      dropped = existing?.signatures.length ?? 0;
      await folder.write(SIGNATURES_FILE, { safeTxHash: safe.safeTxHash, signatures: [] } satisfies SignatureSet);
    }
  } else if (existing !== undefined) {
    dropped = existing.signatures.length;
    await folder.remove(SIGNATURES_FILE);
  }
  if (journal !== undefined) await folder.remove(EXECUTION_FILE);

  const proposalFile = await folder.write(PROPOSAL_FILE, proposal);
  const summaryFile = await folder.write(SUMMARY_FILE, renderProposalSummary(proposal, folder));
  const service = safe !== undefined && actor.kind === "safe" ? await postToService(env, folder, proposal, actor.owners, options.proposer, now) : undefined;
  return {
    proposal,
    proposalFile,
    summaryFile,
    ...(builderFile !== undefined ? { builderFile } : {}),
    signaturesKept: kept,
    signaturesDropped: dropped,
    ...(service !== undefined ? { service } : {}),
  };
}

/** What happened with the Safe Transaction Service when proposing. */
export interface ServicePosting {
  url: string;
  /** posted: now in the owners' queue; already: it was there; deferred: the first bg:approve posts it. */
  status: "posted" | "already" | "deferred";
  /** Why posting waits, when it does. */
  reason?: string;
}

/**
 * Posts the proposal's Safe transaction to the service. The service takes a
 * proposal only with a signature of an owner (or delegate), so the proposer
 * signs if they are an owner; otherwise the first owner to run bg:approve posts it.
 */
async function postToService(
  env: ApprovalEnv,
  folder: ProposalFolder,
  proposal: Proposal,
  owners: readonly string[],
  proposer: Signer | undefined,
  now: Date,
): Promise<ServicePosting | undefined> {
  const service = env.safeService;
  if (service === undefined || proposal.safe === undefined) return undefined;
  if ((await service.transaction(proposal.safe.safeTxHash)) !== undefined) return { url: service.url, status: "already" };
  const who = proposer !== undefined ? getAddress(await proposer.getAddress()) : undefined;
  if (proposer === undefined || who === undefined || !owners.includes(who)) {
    return {
      url: service.url,
      status: "deferred",
      reason: `the service takes a proposal only with an owner's signature${who !== undefined ? `, and ${who} is not an owner` : ""}; the first bg:approve posts it`,
    };
  }
  const signature = await signSafeTransaction(proposer, env.chainId, proposal.actor.address, proposal.safe.tx);
  const set = (await folder.read(SIGNATURES_FILE, signatureSetSchema)) ?? { safeTxHash: proposal.safe.safeTxHash, signatures: [] };
  if (!set.signatures.some((s) => getAddress(s.owner) === who)) await folder.write(SIGNATURES_FILE, addOwnerSignature(set, signature, owners, now));
  await service.propose({ safe: proposal.actor.address, tx: proposal.safe.tx, safeTxHash: proposal.safe.safeTxHash, sender: who, signature });
  return { url: service.url, status: "posted" };
}

/**
 * Adds the confirmations the service holds (given in Safe{Wallet}, or by
 * another owner's tools) to the proposal's signatures. Each is checked like a
 * pasted signature; ones that do not recover to a current owner are ignored,
 * as the Safe itself would ignore them.
 */
export async function pullServiceSignatures(env: ApprovalEnv, folder: ProposalFolder, proposal: Proposal, owners: readonly string[]): Promise<number> {
  if (env.safeService === undefined || proposal.safe === undefined) return 0;
  const confirmations = await env.safeService.confirmations(proposal.safe.safeTxHash);
  const stored = await folder.read(SIGNATURES_FILE, signatureSetSchema);
  let set: SignatureSet =
    stored !== undefined && stored.safeTxHash.toLowerCase() === proposal.safe.safeTxHash.toLowerCase()
      ? stored
      : { safeTxHash: proposal.safe.safeTxHash, signatures: [] };
  let added = 0;
  for (const c of confirmations) {
    if (set.signatures.some((s) => getAddress(s.owner) === c.owner)) continue;
    try {
      set = addOwnerSignature(set, c.signature, owners);
      added++;
    } catch {
      // Not an owner's EOA signature over this hash (e.g. a contract signature): the Safe would not count it here either.
    }
  }
  if (added > 0) await folder.write(SIGNATURES_FILE, set);
  return added;
}

/** Shares an owner's new signature with the service: a confirmation, or the proposal itself if it is not there yet. */
async function pushServiceSignature(env: ApprovalEnv, proposal: Proposal, owner: string, signature: string): Promise<void> {
  if (env.safeService === undefined || proposal.safe === undefined) return;
  const known = await env.safeService.transaction(proposal.safe.safeTxHash);
  if (known === undefined) {
    await env.safeService.propose({ safe: proposal.actor.address, tx: proposal.safe.tx, safeTxHash: proposal.safe.safeTxHash, sender: owner, signature });
    return;
  }
  const already = await env.safeService.confirmations(proposal.safe.safeTxHash);
  if (!already.some((c) => c.owner === getAddress(owner))) await env.safeService.confirm(proposal.safe.safeTxHash, signature);
}

const TIMELOCK_SCHEDULE = FunctionFragment.from(
  "function schedule(address target, uint256 value, bytes data, bytes32 predecessor, bytes32 salt, uint256 delay)",
);

function scheduleArgs(op: TimelockOperation): unknown[] {
  return [op.target, 0n, op.data, op.predecessor, op.salt, BigInt(op.delay)];
}

/** The switch's approver as the approval path drives it: who acts, and the timelock in between if there is one. */
export async function resolveApprover(
  env: ApprovalEnv,
  approver: string,
  proposalId: string,
  call: { to: string; data: string },
): Promise<{ actor: Actor; timelock?: TimelockOperation }> {
  const addr = getAddress(approver);
  const code = await env.provider.getCode(addr);
  if (code !== "0x") {
    const delay = await readTimelockDelay(env.provider, addr);
    if (delay !== undefined) {
      if (env.timelockProposer === undefined) {
        throw new ApprovalError(
          APPROVAL_ERROR_CODES.APPROVER_KIND,
          `The switch's approver ${addr} is a TimelockController. Set blueGreen.approval.timelockProposer in hardhat.config.ts ` +
            "to the Safe (or, on a development network, the account) that holds its PROPOSER_ROLE.",
        );
      }
      const proposer = getAddress(env.timelockProposer);
      await assertCanPropose(env.provider, addr, proposer);
      const actor = await describeActor(env.provider, proposer);
      return { actor, timelock: timelockOperation(addr, call, proposalId, delay) };
    }
  }
  return { actor: await describeActor(env.provider, addr) };
}

/** Reads the proposal of a folder, or says how to make one. */
export async function requireProposal(folder: ProposalFolder): Promise<Proposal> {
  const proposal = await folder.read(PROPOSAL_FILE, proposalSchema);
  if (proposal === undefined) {
    throw new BlueGreenError(`There is no proposal in ${folder.where}. Propose first (bg:propose ${folder.option}, or bg:call propose).`);
  }
  return proposal;
}

/**
 * Says whether an account is a Safe (1.3.0+) or a plain account. Any other
 * contract is refused: the approval path would not know how to make it act.
 */
export async function describeActor(provider: Provider, account: string): Promise<Actor> {
  const addr = getAddress(account);
  if ((await provider.getCode(addr)) === "0x") return { kind: "account", address: addr };
  let state: SafeState;
  try {
    state = await readSafeState(provider, addr);
  } catch (error) {
    if (error instanceof ApprovalError) throw error;
    throw new ApprovalError(
      APPROVAL_ERROR_CODES.APPROVER_KIND,
      `The approver ${addr} is a contract but neither a Safe (1.3.0 or 1.4.1) nor a TimelockController; hardhat-bluegreen proposes through those and plain accounts only. ` +
        "Rotate the switch's approver (bg:call propose --function proposeApprover), or make the call with that contract's own tooling.",
      error as Error,
    );
  }
  return { kind: "safe", address: addr, version: state.version, threshold: state.threshold, owners: state.owners };
}

export interface ProposalCheck {
  /** The Safe as it is now (undefined for a plain-account approver). */
  safe?: SafeState;
  drifts: FactDrift[];
  /** Set when the Safe's nonce moved past the proposal's. */
  nonceUsed: boolean;
}

/**
 * Checks a proposal against the chain: its hashes recomputed from its own
 * fields, the Safe's nonce, and every pinned fact.
 */
export async function checkProposal(env: ApprovalEnv, proposal: Proposal): Promise<ProposalCheck> {
  if (proposal.chainId !== env.chainId) {
    throw new BlueGreenError(
      `The proposal is for chain ${proposal.chainId}, but the network is chain ${env.chainId}. Pass the --network it was proposed on.`,
    );
  }
  const drifts = await checkFacts(env.provider, proposal.facts);
  if (proposal.actor.kind === "account") return { drifts, nonceUsed: false };
  assertHashesIntegral(proposal);
  const safe = await readSafeState(env.provider, proposal.actor.address);
  return { safe, drifts, nonceUsed: safe.nonce > BigInt(proposal.safe!.tx.nonce) };
}

/** The stored hashes must be those of the stored transaction: a hand-edited file is refused. */
export function assertHashesIntegral(proposal: Proposal): void {
  if (proposal.safe === undefined) {
    throw new BlueGreenError("The proposal's approver is a Safe but it has no Safe transaction. Propose again.");
  }
  const hashes = hashSafeTransaction(proposal.chainId, proposal.actor.address, proposal.safe.tx);
  if (
    hashes.safeTxHash !== proposal.safe.safeTxHash.toLowerCase() ||
    hashes.domainHash !== proposal.safe.domainHash.toLowerCase() ||
    hashes.messageHash !== proposal.safe.messageHash.toLowerCase() ||
    proposal.safe.tx.data.toLowerCase() !== actorCall(proposal).data.toLowerCase() ||
    getAddress(proposal.safe.tx.to) !== getAddress(actorCall(proposal).to)
  ) {
    throw new BlueGreenError(
      "The proposal's hashes do not match its own transaction fields: the file was changed after it was made. Do not sign it; propose again.",
    );
  }
}

/** Throws, saying what changed, when the proposal can no longer be executed as it stands. */
export function assertNotStale(check: ProposalCheck, proposal: Proposal, folder: ProposalFolder, verb: string): void {
  if (check.nonceUsed) {
    throw new BlueGreenError(
      `Refusing to ${verb}: the Safe has moved to nonce ${check.safe!.nonce}, past this proposal's nonce ${proposal.safe!.tx.nonce}, ` +
        `so it can never execute. Propose again (${folder.option}) and collect new signatures.`,
    );
  }
  if (check.drifts.length > 0) {
    throw new BlueGreenError(
      `Refusing to ${verb}: the chain changed since the proposal was made:\n` +
        check.drifts.map((d) => `  - ${d.label}: was ${d.expected}, now ${d.actual}`).join("\n") +
        `\nPropose again (${folder.option}) so that signers see the chain as it is.`,
    );
  }
}

export interface SignatureTally {
  signatures: OwnerSignature[];
  threshold: number;
  missing: number;
  owners: string[];
}

/** Counts the signatures that still count against the Safe's current owners and threshold. */
export async function tallySignatures(folder: ProposalFolder, proposal: Proposal, safe: SafeState): Promise<SignatureTally> {
  const set = await folder.read(SIGNATURES_FILE, signatureSetSchema);
  const valid = set === undefined ? [] : validSignatures(set, proposal.safe!.safeTxHash, safe.owners);
  return { signatures: valid, threshold: safe.threshold, missing: Math.max(0, safe.threshold - valid.length), owners: safe.owners };
}

export interface ApproveOutcome extends SignatureTally {
  proposal: Proposal;
  /** The owner whose signature was added. */
  added: string;
}

/**
 * Adds one owner's signature to a proposal: made by `signer` (EIP-712 typed
 * data), or given ready-made (e.g. from a hardware wallet). Refuses
 * non-owners, a second signature of an owner, and stale proposals.
 */
export async function approveProposal(
  env: ApprovalEnv,
  folder: ProposalFolder,
  input: { signer?: Signer; signature?: string; now?: Date },
): Promise<ApproveOutcome> {
  const proposal = await requireProposal(folder);
  if (proposal.actor.kind === "account") {
    throw new BlueGreenError(
      `The approver ${proposal.actor.address} is a plain account: there is nothing to sign. It executes the call itself (execute step, ${folder.option}).`,
    );
  }
  const journal = await folder.read(EXECUTION_FILE, executionJournalSchema);
  if (journal?.status === "done" && journalMatches(journal, proposal)) {
    throw new BlueGreenError(`This proposal was already executed (tx ${journal.txHash}); no more signatures are needed.`);
  }
  const check = await checkProposal(env, proposal);
  assertNotStale(check, proposal, folder, "sign");
  const safe = check.safe!;
  await pullServiceSignatures(env, folder, proposal, safe.owners);

  let signature: string;
  if (input.signature !== undefined && input.signature !== "") {
    signature = input.signature;
  } else if (input.signer !== undefined) {
    const who = getAddress(await input.signer.getAddress());
    if (!safe.owners.includes(who)) {
      throw new BlueGreenError(
        `${who} is not an owner of the Safe ${safe.address}. Owners: ${safe.owners.join(", ")}. Pick an owner's account with --signer.`,
      );
    }
    signature = await signSafeTransaction(input.signer, env.chainId, safe.address, proposal.safe!.tx);
  } else {
    throw new BlueGreenError("Nothing to add: give a signer (--signer) or a signature (--signature).");
  }

  const stored = await folder.read(SIGNATURES_FILE, signatureSetSchema);
  const set: SignatureSet =
    stored !== undefined && stored.safeTxHash.toLowerCase() === proposal.safe!.safeTxHash.toLowerCase()
      ? stored
      : { safeTxHash: proposal.safe!.safeTxHash, signatures: [] };
  let next: SignatureSet;
  try {
    next = addOwnerSignature(set, signature, safe.owners, input.now);
  } catch (error) {
    if (input.signature !== undefined && error instanceof BlueGreenError && /not an owner/.test(error.message)) {
      throw new BlueGreenError(
        `${error.message} If the owner signed an earlier proposal, their signature does not fit this safeTxHash (${proposal.safe!.safeTxHash}): have them sign again.`,
      );
    }
    throw error;
  }
  await folder.write(SIGNATURES_FILE, next);
  const added = next.signatures[next.signatures.length - 1]!;
  await pushServiceSignature(env, proposal, added.owner, added.signature);
  const tally = await tallySignatures(folder, proposal, safe);
  return { ...tally, proposal, added: added.owner };
}

/**
 * Calls `to` from `from` with eth_call and turns a revert into an error that
 * names the contract's custom error.
 */
export async function simulateCall(env: ApprovalEnv, call: { from: string; to: string; data: string }, what: string): Promise<void> {
  try {
    await env.provider.call({ from: call.from, to: call.to, data: call.data });
  } catch (error) {
    throw new BlueGreenError(
      `${what} would fail if ${call.from} made it now: ${describeRevert(error, env.errors)}. Nothing was proposed or sent.`,
      error as Error,
    );
  }
}

/** A revert as people read it: the custom error with its arguments, a reason string, or the raw message. */
export function describeRevert(error: unknown, errors?: Interface): string {
  const data = findRevertData(error);
  if (data !== undefined) {
    if (errors !== undefined) {
      try {
        const parsed = errors.parseError(data);
        if (parsed !== null) return `${parsed.name}(${[...parsed.args].map(argString).join(", ")})`;
      } catch {
        // not one of the contract's errors
      }
    }
    try {
      const standard = new Interface(["error Error(string)"]).parseError(data);
      if (standard !== null) return `reverted with "${standard.args[0] as string}"`;
    } catch {
      // not a reason string
    }
    return `reverted with data ${data}`;
  }
  const shortMessage = (error as { shortMessage?: unknown }).shortMessage;
  return typeof shortMessage === "string" ? shortMessage : error instanceof Error ? error.message : String(error);
}

/** Arguments as strings: addresses checksummed, bytes as hex, numbers in decimal. */
export function argString(value: unknown): string {
  if (typeof value === "string") return /^0x[0-9a-fA-F]{40}$/.test(value) ? getAddress(value) : value;
  if (typeof value === "bigint" || typeof value === "number" || typeof value === "boolean") return value.toString();
  if (Array.isArray(value)) return "[" + value.map(argString).join(", ") + "]";
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
}

/** True when a journal belongs to this proposal (same Safe transaction, or same call data for an account). */
export function journalMatches(journal: z.infer<typeof executionJournalSchema>, proposal: Proposal): boolean {
  if (proposal.safe !== undefined) return journal.safeTxHash?.toLowerCase() === proposal.safe.safeTxHash.toLowerCase();
  return journal.data.toLowerCase() === actorCall(proposal).data.toLowerCase() && journal.safeTxHash === undefined;
}

export type { Fact };
