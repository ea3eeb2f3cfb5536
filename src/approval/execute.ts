/**
 * Executes a proposal once it has enough signatures:
 *
 * 1. re-checks that nothing drifted (the Safe's nonce, every pinned fact);
 * 2. simulates the call from the approver, then `execTransaction` from the
 *    executor, with eth_call;
 * 3. sends it, journaling before and after sending, and waits for the receipt;
 * 4. checks the Safe's ExecutionSuccess event for this safeTxHash.
 *
 * If the process dies after sending, a re-run finds the mined transaction
 * (by its hash in the journal, or by the Safe's ExecutionSuccess(safeTxHash)
 * event, which also covers an execution made from the Safe web app or by
 * another owner) and completes instead of sending again, recording who sent it.
 *
 * For a TimelockController approver the proposal runs in two stages: the
 * proposer's `schedule(...)` (the steps above), then, once the timelock's
 * delay has passed, `execute(...)` from any executor.
 */
import { Interface, getAddress, type Signer, type TransactionReceipt, type TransactionRequest } from "ethers";

import { type SendJournal, type SendOnceOptions, sendOnce, withSenderLock } from "../chain/send-once.js";
import { iso } from "../common/format.js";
import { BlueGreenError } from "../errors.js";
import { checkFacts } from "./facts.js";
import { type ExecutionJournal, executionJournalSchema } from "./journal.js";
import { type SignatureTally, assertNoDrift, assertNotStale, checkProposal, tallySignatures } from "./check.js";
import { type ApprovalEnv, type Proposal, actorCall, journalMatches, requireProposal } from "./proposal-schema.js";
import { describeRevert, revertReason } from "./revert.js";
import { pullServiceSignatures } from "./service-signatures.js";
import { simulateCall } from "./simulate.js";
import { EXECUTION_FILE, type ProposalFolder } from "./proposal-folder.js";
import { EXECUTION_SUCCESS_TOPIC, SAFE_ABI, executedSafeTxHash, safeVersionOf } from "./safe-contracts.js";
import { TIMELOCK, type TimelockOperation, assertCanExecute, readOperationState } from "./timelock.js";
import { type SafeTransaction, safeTxFields } from "./safe-transaction.js";
import { packSignatures } from "./signatures.js";
import { ethersProvider } from "./chain.js";

const SAFE = new Interface(SAFE_ABI);

export interface ExecuteOptions {
  /** The account that sends the transaction (any account for a Safe; the approver itself otherwise). */
  executor: Signer;
  /** Off-chain checks the proposal rests on (the evidence, the wave rules), run before a fresh send; skipped when resuming a mined one. */
  beforeSend?: (proposal: Proposal) => Promise<void>;
  /**
   * That the proposal is the call it must be (pipeline.ts: rebuilt from its
   * records), run before anything is sent for it: a fresh send, or a
   * journaled send resumed (re-broadcast or signed again); not when its
   * transaction is found mined.
   */
  verifyProposal?: (proposal: Proposal) => Promise<void>;
  /** Called right after the transaction is sent, before it is mined (tests use it to simulate a crash). */
  afterSend?: (txHash: string) => void | Promise<void>;
  now?: () => Date;
  /** Speed-up and waiting times of the send (tests shorten them). */
  sending?: Pick<SendOnceOptions, "speedUpAfterMs" | "giveUpAfterMs" | "pollMs" | "maxSpeedUps">;
  /**
   * The chain's records folder (`store.chainDir(chainId)`): when given, sends
   * from one account are serialized with bg:stage's and bg:init's under the
   * same per-account lock.
   */
  senderLockDir?: string;
}

/** The TimelockController operation of a proposal, once scheduled. */
export interface TimelockWait {
  timelock: string;
  operationId: string;
  /** When the operation becomes executable (unix seconds, and ISO). */
  eta: number;
  etaIso: string;
  ready: boolean;
  /** The transaction that scheduled it. */
  scheduleTxHash?: string;
}

export type ExecuteOutcome =
  | {
      status: "executed";
      proposal: Proposal;
      txHash: string;
      blockNumber: number;
      receipt: TransactionReceipt;
      /** True when the transaction was found mined (after a crash, or executed elsewhere) rather than sent now. */
      resumed: boolean;
      /** Who sent the transaction (read from the chain). */
      executor: string;
      /** True when someone else sent it: the Safe web app, another owner, another machine. */
      elsewhere: boolean;
    }
  | {
      status: "waiting";
      proposal: Proposal;
      /** Signatures still missing (for a plain-account proposer: none, threshold 0). */
      tally: SignatureTally;
      /** Set when the approver is a timelock and the operation is scheduled but not executed yet. */
      timelock?: TimelockWait;
    };

/** The second journal of a timelock proposal: its `execute(...)` after the delay. */
export const TIMELOCK_EXECUTION_FILE = "execution-timelock.json";

/**
 * Executes the proposal in `folder`, or reports what it waits for (changing
 * nothing). Idempotent: once executed, it returns the recorded transaction.
 */
export async function executeProposal(env: ApprovalEnv, folder: ProposalFolder, options: ExecuteOptions): Promise<ExecuteOutcome> {
  const proposal = await requireProposal(folder);
  if (proposal.timelock === undefined) return executeActorCall(env, folder, proposal, options);
  return executeThroughTimelock(env, folder, proposal, proposal.timelock, options);
}

/** The actor's own call: the approver call, or a timelock's schedule of it. */
async function executeActorCall(env: ApprovalEnv, folder: ProposalFolder, proposal: Proposal, options: ExecuteOptions): Promise<ExecuteOutcome> {
  const now = options.now ?? (() => new Date());
  let journal = await folder.read(EXECUTION_FILE, executionJournalSchema);
  if (journal !== undefined && !journalMatches(journal, proposal)) journal = undefined;

  if (journal !== undefined) {
    const found = await findMinedExecution(env, proposal, journal.fromBlock, journal.txHash);
    if (found !== undefined) return complete(folder, proposal, journal, found, true, now);
    if (journal.status === "done") {
      throw new BlueGreenError(
        "BG_APPROVAL_JOURNAL_MISMATCH",
        `The journal in ${folder.where} records tx ${journal.txHash} as executed, but the chain does not have it. ` +
          "Are you on the right network? If the chain was reset, delete execution.json and propose again.",
      );
    }
    if (journal.send !== undefined) {
      // Resume the journaled send at its nonce: wait for it, re-broadcast it, or learn that its nonce went to something else.
      await options.verifyProposal?.(proposal);
      assertSendOf(folder, EXECUTION_FILE, journal.send, expectedSend(proposal));
      const receipt = await resumeJournaledSend(env, folder, EXECUTION_FILE, journal, journal.send, options);
      if (receipt !== undefined && executedHere(proposal, receipt)) return complete(folder, proposal, journal, receipt, true, now);
    } else if (journal.txHash !== undefined && (await ethersProvider(env).getTransaction(journal.txHash)) !== null) {
      // A journal of an older version: sent and still pending, wait for it rather than sending a second one.
      const receipt = await ethersProvider(env).waitForTransaction(journal.txHash);
      if (receipt !== null && receipt.status === 1) return complete(folder, proposal, journal, receipt, true, now);
    }
    // Never mined and never to be (it reverted, or its nonce went to another transaction): start over with full checks.
  }

  const check = await checkProposal(env, proposal);
  if (check.nonceUsed) {
    // The nonce moved: either this very transaction was executed elsewhere, or another one took its nonce.
    const found = await findMinedExecution(env, proposal, proposal.blockNumber);
    if (found !== undefined) return complete(folder, proposal, journalFor(proposal, await executorAddress(options), proposal.blockNumber, now), found, true, now);
    const taken = await findNonceTaker(env, proposal);
    throw new BlueGreenError(
      "BG_APPROVAL_NONCE_TAKEN",
      `The Safe's nonce ${proposal.safe!.tx.nonce} was used by a different transaction${taken !== undefined ? ` (safeTxHash ${taken.safeTxHash}, tx ${taken.txHash})` : ""}, ` +
        `not by this proposal (safeTxHash ${proposal.safe!.safeTxHash}); the Safe is now at nonce ${check.safe!.nonce}, so this proposal can never execute. ` +
        `Propose again (${folder.option}) and collect new signatures.`,
    );
  }

  let tally: SignatureTally | undefined;
  if (check.safe !== undefined) {
    const nonce = BigInt(proposal.safe!.tx.nonce);
    if (check.safe.nonce < nonce) {
      throw new BlueGreenError(
        "BG_APPROVAL_NONCE_AHEAD",
        `The Safe is at nonce ${check.safe.nonce}; this proposal has nonce ${nonce}. Execute the Safe's earlier transactions first.`,
      );
    }
    await pullServiceSignatures(env, folder, proposal, check.safe.owners);
    tally = await tallySignatures(folder, proposal, check.safe);
    if (tally.missing > 0 && !check.nonceUsed) return { status: "waiting", proposal, tally };
  }
  assertNotStale(check, proposal, folder, "execute");
  await options.beforeSend?.(proposal);
  await options.verifyProposal?.(proposal);

  const executor = await executorAddress(options);
  if (proposal.actor.kind === "account" && executor !== proposal.actor.address) {
    throw new BlueGreenError(
      "BG_APPROVAL_ACCOUNT_EXECUTOR",
      `The ${proposal.timelock !== undefined ? "timelock's proposer" : "approver"} is the plain account ${proposal.actor.address}; only it can make this call. Run with --signer ${proposal.actor.address}.`,
    );
  }
  const call = actorCall(proposal);
  await simulateCall(env, { from: proposal.actor.address, ...call }, proposal.timelock !== undefined ? `Scheduling "${proposal.title}" on the timelock` : proposal.title);

  const request: TransactionRequest =
    proposal.safe !== undefined
      ? { to: proposal.actor.address, data: execTransactionData(proposal, packSignatures(tally!.signatures.slice(0, tally!.threshold))) }
      : { ...call };
  await simulateSend(env, executor, request, proposal);
  const started = journalFor(proposal, executor, await ethersProvider(env).getBlockNumber(), now);
  const { sentJournal, receipt } = await sendJournaled(env, folder, EXECUTION_FILE, started, request, options, {
    what: "transaction",
    hint: "The chain changed between the simulation and the send; run again to re-check.",
  });
  assertExecutedHere(proposal, receipt);
  return complete(folder, proposal, sentJournal, receipt, false, now);
}

/**
 * Sends a transaction under its crash journal, exactly once (../chain/send-once.ts):
 * the nonce, hash and signed transaction are journaled before the broadcast,
 * so a run that dies while it is in flight resumes it at its nonce instead of
 * sending again.
 */
async function sendJournaled(
  env: ApprovalEnv,
  folder: ProposalFolder,
  file: string,
  started: ExecutionJournal,
  request: TransactionRequest,
  options: ExecuteOptions,
  failure: { what: string; hint: string },
): Promise<{ sentJournal: ExecutionJournal; receipt: TransactionReceipt }> {
  await folder.write(file, started);
  let sentJournal = started;
  const outcome = await withExecutorLock(options, started.executor, () =>
    sendOnce({
      provider: env.provider,
      signer: options.executor,
      request: { to: String(request.to), data: String(request.data ?? "0x"), ...(request.value != null ? { value: BigInt(request.value) } : {}) },
      save: async (send) => {
        const txHash = send.attempts.at(-1)?.hash;
        sentJournal = { ...started, status: txHash !== undefined ? "sent" : "sending", ...(txHash !== undefined ? { txHash } : {}), send };
        await folder.write(file, sentJournal);
      },
      ...(options.afterSend !== undefined ? { afterBroadcast: options.afterSend } : {}),
      ...options.sending,
    }),
  );
  if (outcome.kind === "taken") {
    throw new BlueGreenError(
      "BG_APPROVAL_TX_FAILED",
      `The ${failure.what} journaled at nonce ${outcome.nonce} of ${started.executor} was never mined: another transaction${outcome.by !== undefined ? ` (${outcome.by})` : ""} used that nonce. ${failure.hint}`,
    );
  }
  const receipt = await ethersProvider(env).getTransactionReceipt(outcome.receipt.hash);
  if (receipt === null) throw new BlueGreenError("BG_APPROVAL_TX_FAILED", `The transaction ${outcome.receipt.hash} was dropped. Run again.`);
  if (receipt.status !== 1) {
    throw new BlueGreenError("BG_APPROVAL_TX_FAILED", `The ${failure.what} ${receipt.hash} failed: it reverted on chain. ${failure.hint}`);
  }
  const txHash = receipt.hash;
  return { sentJournal: { ...sentJournal, status: "sent", txHash }, receipt };
}

/**
 * Resumes a journaled send (see sendJournaled). The receipt once mined;
 * undefined when it can never be mined (its nonce went to another
 * transaction) or it reverted: then a fresh execution, with every check,
 * sends no duplicate.
 */
async function resumeJournaledSend(
  env: ApprovalEnv,
  folder: ProposalFolder,
  file: string,
  journal: ExecutionJournal,
  send: SendJournal,
  options: ExecuteOptions,
): Promise<TransactionReceipt | undefined> {
  const sameAccount = getAddress(send.from) === (await executorAddress(options));
  const outcome = await withExecutorLock(options, send.from, () =>
    sendOnce({
      provider: env.provider,
      signer: options.executor,
      request: { ...(send.to !== undefined ? { to: send.to } : {}), data: send.data, value: BigInt(send.value) },
      previous: send,
      save: async (next) => {
        const txHash = next.attempts.at(-1)?.hash;
        await folder.write(file, { ...journal, status: txHash !== undefined ? "sent" : "sending", ...(txHash !== undefined ? { txHash } : {}), send: next } satisfies ExecutionJournal);
      },
      // Another account's transaction can be waited for and re-broadcast, not re-signed.
      ...(sameAccount ? {} : { maxSpeedUps: 0 }),
      ...options.sending,
    }),
  );
  if (outcome.kind === "taken" || outcome.receipt.status !== 1) return undefined;
  return (await ethersProvider(env).getTransactionReceipt(outcome.receipt.hash)) ?? undefined;
}

/** What a journaled send of the proposal's actor call must be: the Safe's execTransaction of its Safe transaction, or the account's call. */
function expectedSend(proposal: Proposal): { to: string; data?: string; safeTx?: SafeTransaction } {
  if (proposal.safe !== undefined) return { to: proposal.actor.address, safeTx: proposal.safe.tx };
  return actorCall(proposal);
}

/**
 * A journaled send is resumed (waited for, broadcast again, or signed again
 * at a higher fee with the executor's key) only if it is this proposal's
 * execution: the journal is a file beside the proposal, and one changed to
 * carry another transaction would otherwise be signed and sent.
 */
function assertSendOf(folder: ProposalFolder, file: string, send: SendJournal, expected: { to: string; data?: string; safeTx?: SafeTransaction }): void {
  let same = send.to !== undefined && getAddress(send.to) === getAddress(expected.to) && BigInt(send.value) === 0n;
  if (same && expected.safeTx !== undefined) {
    try {
      const fields = SAFE.decodeFunctionData("execTransaction", send.data);
      same = safeTxFields(expected.safeTx).every((field, i) => String(fields[i]).toLowerCase() === String(field).toLowerCase());
    } catch {
      same = false;
    }
  } else if (same) {
    same = send.data.toLowerCase() === (expected.data ?? "").toLowerCase();
  }
  if (!same) {
    throw new BlueGreenError(
      "BG_APPROVAL_JOURNAL_MISMATCH",
      `The journal ${file} in ${folder.where} records a transaction (to ${send.to ?? "none"}, value ${send.value}) that is not this proposal's execution: it was changed. Nothing was sent. ` +
        `Inspect it; if no execution of this proposal is in flight, delete ${file} and run again.`,
    );
  }
}

async function withExecutorLock<T>(options: ExecuteOptions, account: string, fn: () => Promise<T>): Promise<T> {
  if (options.senderLockDir === undefined) return fn();
  return withSenderLock(options.senderLockDir, account, fn);
}

/** The execTransaction calldata for the proposal's Safe transaction and these signatures. */
export function execTransactionData(proposal: Proposal, signatures: string): string {
  const tx = proposal.safe!.tx;
  return SAFE.encodeFunctionData("execTransaction", [...safeTxFields(tx), signatures]);
}

/**
 * Looks for the proposal's mined execution from `fromBlock`: by its known
 * transaction hash first, then by the Safe's ExecutionSuccess(safeTxHash)
 * event, or for a plain account by a transaction of it with this call data.
 */
export async function findMinedExecution(
  env: ApprovalEnv,
  proposal: Proposal,
  fromBlock: number,
  txHash?: string,
): Promise<TransactionReceipt | undefined> {
  if (txHash !== undefined) {
    const receipt = await ethersProvider(env).getTransactionReceipt(txHash);
    if (receipt !== null && receipt.status === 1 && executedHere(proposal, receipt)) return receipt;
  }
  if (proposal.safe !== undefined) {
    // Only the topic is filtered on: 1.3.0 keeps the safeTxHash in the data, so each log is decoded with its version's ABI.
    const version = safeVersionOf(proposal.actor.kind === "safe" ? proposal.actor.version : "", proposal.actor.address);
    const logs = await ethersProvider(env).getLogs({ address: proposal.actor.address, topics: [EXECUTION_SUCCESS_TOPIC], fromBlock, toBlock: "latest" });
    const log = logs.find((l) => executedSafeTxHash(l, proposal.actor.address, version) === proposal.safe!.safeTxHash.toLowerCase());
    return log === undefined ? undefined : ((await ethersProvider(env).getTransactionReceipt(log.transactionHash)) ?? undefined);
  }
  const call = actorCall(proposal);
  const logs = await ethersProvider(env).getLogs({ address: call.to, fromBlock, toBlock: "latest" });
  for (const hash of new Set(logs.map((l) => l.transactionHash))) {
    const tx = await ethersProvider(env).getTransaction(hash);
    if (tx !== null && getAddress(tx.from) === proposal.actor.address && tx.data.toLowerCase() === call.data.toLowerCase()) {
      const receipt = await ethersProvider(env).getTransactionReceipt(hash);
      if (receipt !== null && receipt.status === 1) return receipt;
    }
  }
  return undefined;
}

/** True when the receipt carries this proposal's execution (by the Safe's own version's ExecutionSuccess). */
function executedHere(proposal: Proposal, receipt: TransactionReceipt): boolean {
  if (proposal.safe === undefined) return receipt.status === 1;
  const version = safeVersionOf(proposal.actor.kind === "safe" ? proposal.actor.version : "", proposal.actor.address);
  return receipt.logs.some((l) => executedSafeTxHash(l, proposal.actor.address, version) === proposal.safe!.safeTxHash.toLowerCase());
}

/**
 * The Safe transaction that took the proposal's nonce: the first execution of
 * the Safe since the proposal whose safeTxHash is not the proposal's. The
 * nonce is not in the event, so this names the likeliest one for people to check.
 */
async function findNonceTaker(env: ApprovalEnv, proposal: Proposal): Promise<{ safeTxHash: string; txHash: string } | undefined> {
  if (proposal.safe === undefined || proposal.actor.kind !== "safe") return undefined;
  const version = safeVersionOf(proposal.actor.version, proposal.actor.address);
  const logs = await ethersProvider(env).getLogs({
    address: proposal.actor.address,
    topics: [EXECUTION_SUCCESS_TOPIC],
    fromBlock: proposal.blockNumber,
    toBlock: "latest",
  });
  for (const log of logs) {
    const hash = executedSafeTxHash(log, proposal.actor.address, version);
    if (hash !== undefined && hash !== proposal.safe.safeTxHash.toLowerCase()) return { safeTxHash: hash, txHash: log.transactionHash };
  }
  return undefined;
}

function assertExecutedHere(proposal: Proposal, receipt: TransactionReceipt): void {
  if (!executedHere(proposal, receipt)) {
    throw new BlueGreenError(
      "BG_APPROVAL_NOT_EXECUTED",
      `The transaction ${receipt.hash} was mined but the Safe did not report ExecutionSuccess for ${proposal.safe?.safeTxHash}. ` +
        "Inspect it on a block explorer before doing anything else.",
    );
  }
}

/** eth_call of the outer transaction: for a Safe, execTransaction must return true. */
async function simulateSend(env: ApprovalEnv, from: string, request: TransactionRequest, proposal: Proposal, throughSafe = proposal.safe !== undefined): Promise<void> {
  let result: string;
  try {
    result = await ethersProvider(env).call({ ...request, from });
  } catch (error) {
    // Safe reverts with a reason string that is a code (GS013...).
    const code = revertReason(error);
    const safeError = code !== undefined && Object.hasOwn(SAFE_ERRORS, code) ? SAFE_ERRORS[code] : undefined;
    throw new BlueGreenError(
      "BG_APPROVAL_SIMULATION",
      `Simulating the execution failed: ${describeRevert(error, env.errors)}${safeError !== undefined ? ` (${safeError})` : ""}. Nothing was sent.`,
      { cause: error as Error },
    );
  }
  if (throughSafe && SAFE.decodeFunctionResult("execTransaction", result)[0] !== true) {
    throw new BlueGreenError("BG_APPROVAL_SIMULATION", "Simulating execTransaction returned false: the Safe would not run the call. Nothing was sent.");
  }
}

/** Safe's error codes that execution can hit, in words. */
const SAFE_ERRORS: Record<string, string> = {
  GS010: "not enough gas to execute the Safe transaction",
  GS013: "the Safe transaction's call reverted",
  GS020: "not enough signatures",
  GS025: "a signature's hash was not approved",
  GS026: "a signer is not an owner, or signatures are not sorted by owner",
};

function journalFor(proposal: Proposal, executor: string, fromBlock: number, now: () => Date): ExecutionJournal {
  const call = actorCall(proposal);
  return {
    status: "sending",
    ...(proposal.safe !== undefined ? { safeTxHash: proposal.safe.safeTxHash, safeNonce: proposal.safe.tx.nonce } : {}),
    to: call.to,
    data: call.data,
    actor: proposal.actor.address,
    executor,
    fromBlock,
    startedAt: now().toISOString(),
  };
}

async function complete(
  folder: ProposalFolder,
  proposal: Proposal,
  journal: ExecutionJournal,
  receipt: TransactionReceipt,
  resumed: boolean,
  now: () => Date,
  file: string = EXECUTION_FILE,
): Promise<Extract<ExecuteOutcome, { status: "executed" }>> {
  // Whoever sent it (our CLI, the Safe web app, another owner) is read from the chain, never assumed.
  const executor = getAddress(receipt.from);
  const elsewhere =
    journal.elsewhere ?? (journal.txHash !== undefined ? journal.txHash !== receipt.hash : executor !== getAddress(journal.executor));
  if (journal.status !== "done" || journal.txHash !== receipt.hash || journal.executor !== executor) {
    await folder.write(file, {
      ...journal,
      status: "done",
      executor,
      elsewhere,
      txHash: receipt.hash,
      blockNumber: receipt.blockNumber,
      doneAt: now().toISOString(),
    } satisfies ExecutionJournal);
  }
  return { status: "executed", proposal, txHash: receipt.hash, blockNumber: receipt.blockNumber, receipt, resumed, executor, elsewhere };
}

/**
 * Stage 1 schedules the operation through the proposer (the actor call);
 * stage 2, once the delay has passed, calls the timelock's `execute(...)`.
 * Either stage may have been done by someone else: the timelock's own state
 * and its CallExecuted event say so.
 */
async function executeThroughTimelock(
  env: ApprovalEnv,
  folder: ProposalFolder,
  proposal: Proposal,
  op: TimelockOperation,
  options: ExecuteOptions,
): Promise<ExecuteOutcome> {
  const now = options.now ?? (() => new Date());
  let state = await readOperationState(ethersProvider(env), op);
  let scheduleTxHash = (await folder.read(EXECUTION_FILE, executionJournalSchema))?.txHash;
  if (state.kind === "unset") {
    const journal = await folder.read(EXECUTION_FILE, executionJournalSchema);
    if (journal?.status === "done" && journalMatches(journal, proposal)) {
      throw new BlueGreenError(
        "BG_APPROVAL_TIMELOCK_CANCELLED",
        `The timelock operation ${op.operationId} was scheduled (tx ${journal.txHash}) and then cancelled on the timelock ${op.address}. ` +
          `Nothing will execute. Propose again (${folder.option}) if the call is still wanted.`,
      );
    }
    const scheduled = await executeActorCall(env, folder, proposal, options);
    if (scheduled.status === "waiting") return scheduled;
    scheduleTxHash = scheduled.txHash;
    state = await readOperationState(ethersProvider(env), op);
  }
  if (state.kind === "done") {
    const found = await findTimelockExecution(env, op, proposal.blockNumber);
    if (found === undefined) {
      throw new BlueGreenError(
        "BG_APPROVAL_NOT_EXECUTED",
        `The timelock ${op.address} marks operation ${op.operationId} done, but no CallExecuted event for it was found since block ${proposal.blockNumber}. Inspect the timelock on a block explorer.`,
      );
    }
    const journal = (await folder.read(TIMELOCK_EXECUTION_FILE, executionJournalSchema)) ?? {
      ...timelockJournal(op, getAddress(found.from), proposal.blockNumber, now),
      elsewhere: true,
    };
    return complete(folder, proposal, journal, found, true, now, TIMELOCK_EXECUTION_FILE);
  }
  if (state.kind === "unset") {
    throw new BlueGreenError(
      "BG_APPROVAL_TIMELOCK_CANCELLED",
      `The schedule transaction ${scheduleTxHash ?? ""} executed, but the timelock ${op.address} has no operation ${op.operationId}: it was cancelled. Propose again (${folder.option}).`,
    );
  }
  const wait: TimelockWait = {
    timelock: op.address,
    operationId: op.operationId,
    eta: Number(state.eta),
    etaIso: iso(Number(state.eta)),
    ready: state.ready,
    ...(scheduleTxHash !== undefined ? { scheduleTxHash } : {}),
  };
  if (!state.ready) return { status: "waiting", proposal, tally: { signatures: [], threshold: 0, missing: 0, owners: [] }, timelock: wait };

  // An execute(...) a run sent before it died: resume it at its nonce rather than sending a second one.
  const inFlight = await folder.read(TIMELOCK_EXECUTION_FILE, executionJournalSchema);
  if (inFlight?.send !== undefined && inFlight.status !== "done") {
    await options.verifyProposal?.(proposal);
    assertSendOf(folder, TIMELOCK_EXECUTION_FILE, inFlight.send, { to: op.address, data: op.executeData });
    const receipt = await resumeJournaledSend(env, folder, TIMELOCK_EXECUTION_FILE, inFlight, inFlight.send, options);
    if (receipt !== undefined) return complete(folder, proposal, inFlight, receipt, true, now, TIMELOCK_EXECUTION_FILE);
  }

  // Ready: the same drift checks as any execution, then execute(...) from the executor.
  const drifts = await checkFacts(ethersProvider(env), proposal.facts);
  assertNoDrift(
    drifts,
    `Refusing to execute the timelock operation ${op.operationId}: the chain changed since it was proposed`,
    `Veto it on the timelock (cancel) and propose again (${folder.option}).`,
  );
  await options.beforeSend?.(proposal);
  await options.verifyProposal?.(proposal);
  const executor = await executorAddress(options);
  await assertCanExecute(ethersProvider(env), op.address, executor);
  await simulateCall(env, { from: op.address, to: op.target, data: op.data }, proposal.title);
  const request: TransactionRequest = { to: op.address, data: op.executeData };
  await simulateSend(env, executor, request, proposal, false);
  const started = timelockJournal(op, executor, await ethersProvider(env).getBlockNumber(), now);
  const { sentJournal, receipt } = await sendJournaled(env, folder, TIMELOCK_EXECUTION_FILE, started, request, options, {
    what: "timelock execution",
    hint: "Run again to re-check.",
  });
  return complete(folder, proposal, sentJournal, receipt, false, now, TIMELOCK_EXECUTION_FILE);
}

/** The transaction that executed the operation, by the timelock's CallExecuted(id) event. */
async function findTimelockExecution(env: ApprovalEnv, op: TimelockOperation, fromBlock: number): Promise<TransactionReceipt | undefined> {
  const logs = await ethersProvider(env).getLogs({
    address: op.address,
    topics: [TIMELOCK.getEvent("CallExecuted")!.topicHash, op.operationId],
    fromBlock,
    toBlock: "latest",
  });
  const log = logs[0];
  return log === undefined ? undefined : ((await ethersProvider(env).getTransactionReceipt(log.transactionHash)) ?? undefined);
}

function timelockJournal(op: TimelockOperation, executor: string, fromBlock: number, now: () => Date): ExecutionJournal {
  return { status: "sending", to: op.address, data: op.executeData, actor: op.address, executor, fromBlock, startedAt: now().toISOString() };
}

async function executorAddress(options: ExecuteOptions): Promise<string> {
  return getAddress(await options.executor.getAddress());
}
