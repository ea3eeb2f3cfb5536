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
 * event, which also covers an execution made from the Safe web app) and
 * completes instead of sending again.
 */
import { Interface, getAddress, type Signer, type TransactionReceipt, type TransactionRequest } from "ethers";

import { BlueGreenError } from "../errors.js";
import { type ExecutionJournal, executionJournalSchema } from "./journal.js";
import {
  type ApprovalEnv,
  type Proposal,
  type SignatureTally,
  assertNotStale,
  checkProposal,
  describeRevert,
  journalMatches,
  requireProposal,
  simulateCall,
  tallySignatures,
} from "./proposal.js";
import { EXECUTION_FILE, type ProposalFolder } from "./proposal-folder.js";
import { SAFE_ABI } from "./safe-contracts.js";
import { safeTxFields } from "./safe-transaction.js";
import { packSignatures } from "./signatures.js";

const SAFE = new Interface(SAFE_ABI);

export interface ExecuteOptions {
  /** The account that sends the transaction (any account for a Safe; the approver itself otherwise). */
  executor: Signer;
  /** Extra checks (e.g. off-chain evidence) run before a fresh send; skipped when resuming a mined one. */
  beforeSend?: () => Promise<void>;
  /** Called right after the transaction is sent, before it is mined (tests use it to simulate a crash). */
  afterSend?: (txHash: string) => void | Promise<void>;
  now?: () => Date;
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
    }
  | { status: "waiting"; proposal: Proposal; tally: SignatureTally };

/**
 * Executes the proposal in `folder`, or reports how many signatures are
 * missing (changing nothing). Idempotent: once executed, it returns the
 * recorded transaction.
 */
export async function executeProposal(env: ApprovalEnv, folder: ProposalFolder, options: ExecuteOptions): Promise<ExecuteOutcome> {
  const now = options.now ?? (() => new Date());
  const proposal = await requireProposal(folder);
  let journal = await folder.read(EXECUTION_FILE, executionJournalSchema);
  if (journal !== undefined && !journalMatches(journal, proposal)) journal = undefined;

  if (journal !== undefined) {
    const found = await findMinedExecution(env, proposal, journal.fromBlock, journal.txHash);
    if (found !== undefined) return complete(folder, proposal, journal, found, true, now);
    if (journal.status === "done") {
      throw new BlueGreenError(
        `The journal in ${folder.where} records tx ${journal.txHash} as executed, but the chain does not have it. ` +
          "Are you on the right network? If the chain was reset, delete execution.json and propose again.",
      );
    }
    if (journal.txHash !== undefined && (await env.provider.getTransaction(journal.txHash)) !== null) {
      // Sent and still pending: wait for it rather than sending a second one.
      const receipt = await env.provider.waitForTransaction(journal.txHash);
      if (receipt !== null && receipt.status === 1) return complete(folder, proposal, journal, receipt, true, now);
    }
    // Never mined (the send did not reach the node, or it reverted): start over with full checks.
  }

  const check = await checkProposal(env, proposal);
  if (check.nonceUsed) {
    // The nonce moved: either this very transaction was executed elsewhere, or another one took its nonce.
    const found = await findMinedExecution(env, proposal, proposal.blockNumber);
    if (found !== undefined) return complete(folder, proposal, journalFor(proposal, await executorAddress(options), proposal.blockNumber, now), found, true, now);
  }

  let tally: SignatureTally | undefined;
  if (check.safe !== undefined) {
    const nonce = BigInt(proposal.safe!.tx.nonce);
    if (check.safe.nonce < nonce) {
      throw new BlueGreenError(
        `The Safe is at nonce ${check.safe.nonce}; this proposal has nonce ${nonce}. Execute the Safe's earlier transactions first.`,
      );
    }
    tally = await tallySignatures(folder, proposal, check.safe);
    if (tally.missing > 0 && !check.nonceUsed) return { status: "waiting", proposal, tally };
  }
  assertNotStale(check, proposal, folder, "execute");
  await options.beforeSend?.();

  const executor = await executorAddress(options);
  if (proposal.actor.kind === "account" && executor !== proposal.actor.address) {
    throw new BlueGreenError(
      `The approver is the plain account ${proposal.actor.address}; only it can make this call. Run with --signer ${proposal.actor.address}.`,
    );
  }
  await simulateCall(env, { from: proposal.actor.address, to: proposal.call.to, data: proposal.call.data }, proposal.title);

  const request: TransactionRequest =
    proposal.safe !== undefined
      ? { to: proposal.actor.address, data: execTransactionData(proposal, packSignatures(tally!.signatures.slice(0, tally!.threshold))) }
      : { to: proposal.call.to, data: proposal.call.data };
  await simulateSend(env, executor, request, proposal);
  const gas = await env.provider.estimateGas({ ...request, from: executor });

  const started = journalFor(proposal, executor, await env.provider.getBlockNumber(), now);
  await folder.write(EXECUTION_FILE, started);
  const sent = await options.executor.sendTransaction({ ...request, gasLimit: (gas * 12n) / 10n });
  const sentJournal: ExecutionJournal = { ...started, status: "sent", txHash: sent.hash };
  await folder.write(EXECUTION_FILE, sentJournal);
  await options.afterSend?.(sent.hash);

  let receipt: TransactionReceipt | null;
  try {
    receipt = await sent.wait();
  } catch (error) {
    throw new BlueGreenError(
      `The transaction ${sent.hash} failed: ${describeRevert(error, env.errors)}. The chain changed between the simulation and the send; run again to re-check.`,
      error as Error,
    );
  }
  if (receipt === null) throw new BlueGreenError(`The transaction ${sent.hash} was dropped. Run again.`);
  assertExecutedHere(proposal, receipt);
  return complete(folder, proposal, sentJournal, receipt, false, now);
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
    const receipt = await env.provider.getTransactionReceipt(txHash);
    if (receipt !== null && receipt.status === 1 && executedHere(proposal, receipt)) return receipt;
  }
  if (proposal.safe !== undefined) {
    const logs = await env.provider.getLogs({
      address: proposal.actor.address,
      topics: [SAFE.getEvent("ExecutionSuccess")!.topicHash, proposal.safe.safeTxHash],
      fromBlock,
      toBlock: "latest",
    });
    const log = logs[0];
    return log === undefined ? undefined : ((await env.provider.getTransactionReceipt(log.transactionHash)) ?? undefined);
  }
  const logs = await env.provider.getLogs({ address: proposal.call.to, fromBlock, toBlock: "latest" });
  for (const hash of new Set(logs.map((l) => l.transactionHash))) {
    const tx = await env.provider.getTransaction(hash);
    if (tx !== null && getAddress(tx.from) === proposal.actor.address && tx.data.toLowerCase() === proposal.call.data.toLowerCase()) {
      const receipt = await env.provider.getTransactionReceipt(hash);
      if (receipt !== null && receipt.status === 1) return receipt;
    }
  }
  return undefined;
}

/** True when the receipt carries this proposal's execution. */
function executedHere(proposal: Proposal, receipt: TransactionReceipt): boolean {
  if (proposal.safe === undefined) return receipt.status === 1;
  const topic = SAFE.getEvent("ExecutionSuccess")!.topicHash;
  return receipt.logs.some(
    (l) =>
      getAddress(l.address) === proposal.actor.address &&
      l.topics[0] === topic &&
      l.topics[1]?.toLowerCase() === proposal.safe!.safeTxHash.toLowerCase(),
  );
}

function assertExecutedHere(proposal: Proposal, receipt: TransactionReceipt): void {
  if (!executedHere(proposal, receipt)) {
    throw new BlueGreenError(
      `The transaction ${receipt.hash} was mined but the Safe did not report ExecutionSuccess for ${proposal.safe?.safeTxHash}. ` +
        "Inspect it on a block explorer before doing anything else.",
    );
  }
}

/** eth_call of the outer transaction: for a Safe, execTransaction must return true. */
async function simulateSend(env: ApprovalEnv, from: string, request: TransactionRequest, proposal: Proposal): Promise<void> {
  let result: string;
  try {
    result = await env.provider.call({ ...request, from });
  } catch (error) {
    const reason = describeRevert(error, env.errors);
    const code = /GS\d{3}/.exec(reason)?.[0];
    throw new BlueGreenError(
      `Simulating the execution failed: ${reason}${code !== undefined && SAFE_ERRORS[code] !== undefined ? ` (${SAFE_ERRORS[code]})` : ""}. Nothing was sent.`,
      error as Error,
    );
  }
  if (proposal.safe !== undefined && SAFE.decodeFunctionResult("execTransaction", result)[0] !== true) {
    throw new BlueGreenError("Simulating execTransaction returned false: the Safe would not run the call. Nothing was sent.");
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
  return {
    status: "sending",
    ...(proposal.safe !== undefined ? { safeTxHash: proposal.safe.safeTxHash, safeNonce: proposal.safe.tx.nonce } : {}),
    to: proposal.call.to,
    data: proposal.call.data,
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
): Promise<ExecuteOutcome> {
  if (journal.status !== "done" || journal.txHash !== receipt.hash) {
    await folder.write(EXECUTION_FILE, {
      ...journal,
      status: "done",
      txHash: receipt.hash,
      blockNumber: receipt.blockNumber,
      doneAt: now().toISOString(),
    } satisfies ExecutionJournal);
  }
  return { status: "executed", proposal, txHash: receipt.hash, blockNumber: receipt.blockNumber, receipt, resumed };
}

async function executorAddress(options: ExecuteOptions): Promise<string> {
  return getAddress(await options.executor.getAddress());
}
