/**
 * A TimelockController (OpenZeppelin 4.x/5.x) as the switch's approver.
 *
 * The approver call (promote, rollbackNow, finalize...) becomes a timelock
 * operation: the timelock's proposer (a Safe, or a plain account on
 * development networks) calls `schedule(switch, 0, call, 0, salt, minDelay)`
 * through the usual propose → approve → execute path; once the delay has
 * passed, anyone holding EXECUTOR_ROLE (anyone, if it is open) calls
 * `execute(...)`, and the switch sees the timelock as its caller.
 *
 * The salt is derived from the proposal id, so the same proposal always names
 * the same operation, and the operation id is known before anything is signed.
 */
import { AbiCoder, Contract, Interface, ZeroAddress, ZeroHash, getAddress, keccak256, toUtf8Bytes, type Provider } from "ethers";
import { z } from "zod";

import { TIMELOCK_RECOGNITION_ABI, readTimelockDelay } from "../chain/approver-kind.js";
import { addressSchema, bytes32Schema, hexSchema } from "../common/schema.js";
import { BlueGreenError } from "../errors.js";

export const TIMELOCK_ABI = [
  ...TIMELOCK_RECOGNITION_ABI,
  "function EXECUTOR_ROLE() view returns (bytes32)",
  "function CANCELLER_ROLE() view returns (bytes32)",
  "function hasRole(bytes32 role, address account) view returns (bool)",
  "function hashOperation(address target, uint256 value, bytes data, bytes32 predecessor, bytes32 salt) view returns (bytes32)",
  "function getTimestamp(bytes32 id) view returns (uint256)",
  "function schedule(address target, uint256 value, bytes data, bytes32 predecessor, bytes32 salt, uint256 delay)",
  "function execute(address target, uint256 value, bytes payload, bytes32 predecessor, bytes32 salt) payable",
  "function cancel(bytes32 id)",
  "event CallScheduled(bytes32 indexed id, uint256 indexed index, address target, uint256 value, bytes data, bytes32 predecessor, uint256 delay)",
  "event CallExecuted(bytes32 indexed id, uint256 indexed index, address target, uint256 value, bytes data)",
  "event Cancelled(bytes32 indexed id)",
] as const;

export const TIMELOCK = new Interface(TIMELOCK_ABI);


/** The timelock operation a proposal schedules and later executes. */
export const timelockOperationSchema = z
  .object({
    address: addressSchema,
    /** The approver call the timelock makes once the delay has passed. */
    target: addressSchema,
    data: hexSchema,
    predecessor: bytes32Schema,
    salt: bytes32Schema,
    /** The delay the schedule asks for: the timelock's minimum delay when proposed, in seconds. */
    delay: z.string().regex(/^\d+$/),
    operationId: bytes32Schema,
    /** What the proposer calls: `schedule(...)`. */
    scheduleData: hexSchema,
    /** What the executor calls after the delay: `execute(...)`. */
    executeData: hexSchema,
  })
  .strict();

export type TimelockOperation = z.infer<typeof timelockOperationSchema>;

/** The timelock's view of the operation. */
export type OperationState =
  | { kind: "unset" }
  | { kind: "pending"; eta: bigint; ready: boolean }
  | { kind: "done" };

// How a TimelockController is recognized lives in ../chain/approver-kind.ts, shared with bg:init and bg:adopt.
export { readTimelockDelay } from "../chain/approver-kind.js";

/** Builds the operation for an approver call, with the delay the timelock asks for now. */
export function timelockOperation(timelock: string, call: { to: string; data: string }, proposalId: string, delay: bigint): TimelockOperation {
  const salt = keccak256(toUtf8Bytes(`hardhat-bluegreen:${proposalId}`));
  const target = getAddress(call.to);
  const operationId = keccak256(
    AbiCoder.defaultAbiCoder().encode(["address", "uint256", "bytes", "bytes32", "bytes32"], [target, 0, call.data, ZeroHash, salt]),
  );
  return {
    address: getAddress(timelock),
    target,
    data: call.data.toLowerCase(),
    predecessor: ZeroHash,
    salt,
    delay: delay.toString(),
    operationId,
    scheduleData: TIMELOCK.encodeFunctionData("schedule", [target, 0, call.data, ZeroHash, salt, delay]),
    executeData: TIMELOCK.encodeFunctionData("execute", [target, 0, call.data, ZeroHash, salt]),
  };
}

/** Where the operation stands on chain, as of the latest block. */
export async function readOperationState(provider: Provider, op: TimelockOperation): Promise<OperationState> {
  const timestamp = (await new Contract(op.address, TIMELOCK_ABI, provider).getFunction("getTimestamp")(op.operationId)) as bigint;
  if (timestamp === 0n) return { kind: "unset" };
  // OpenZeppelin marks an executed operation with timestamp 1.
  if (timestamp === 1n) return { kind: "done" };
  const latest = await provider.getBlock("latest");
  return { kind: "pending", eta: timestamp, ready: BigInt(latest?.timestamp ?? 0) >= timestamp };
}

/** Refuses a proposer that cannot schedule on the timelock, saying how to fix it. */
export async function assertCanPropose(provider: Provider, timelock: string, proposer: string): Promise<void> {
  const contract = new Contract(timelock, TIMELOCK_ABI, provider);
  const role = (await contract.getFunction("PROPOSER_ROLE")()) as string;
  if (!((await contract.getFunction("hasRole")(role, proposer)) as boolean)) {
    throw new BlueGreenError(
      "BG_APPROVAL_APPROVER_KIND",
      `${proposer} (blueGreen.approval.timelockProposer) does not hold PROPOSER_ROLE on the TimelockController ${timelock}. ` +
        "Set timelockProposer to the Safe or account that does, or grant it the role through the timelock.",
    );
  }
}

/** Refuses an executor that the timelock would reject (EXECUTOR_ROLE, unless the role is open to everyone). */
export async function assertCanExecute(provider: Provider, timelock: string, executor: string): Promise<void> {
  const contract = new Contract(timelock, TIMELOCK_ABI, provider);
  const role = (await contract.getFunction("EXECUTOR_ROLE")()) as string;
  const [open, holds] = await Promise.all([
    contract.getFunction("hasRole")(role, ZeroAddress) as Promise<boolean>,
    contract.getFunction("hasRole")(role, executor) as Promise<boolean>,
  ]);
  if (!open && !holds) {
    throw new BlueGreenError(
      "BG_APPROVAL_TIMELOCK_EXECUTOR",
      `${executor} does not hold EXECUTOR_ROLE on the TimelockController ${timelock}, and the role is not open to everyone. ` +
        "Run again with --signer set to an account that holds it.",
    );
  }
}

/**
 * bg:init's check: a timelock approver slower than the rollback delay cannot
 * veto a guardian's rollback in time, so the switch needs a canceller. Returns
 * the warning to print, or undefined when there is nothing to warn about.
 */
export async function timelockVetoWarning(
  provider: Provider,
  approver: string,
  rollbackDelay: number,
  cancellers: readonly string[],
): Promise<string | undefined> {
  if ((await provider.getCode(approver)) === "0x") return undefined;
  const delay = await readTimelockDelay(provider, approver);
  if (delay === undefined || delay <= BigInt(rollbackDelay) || cancellers.length > 0) return undefined;
  return (
    `The approver ${getAddress(approver)} is a TimelockController with a delay of ${delay} s, longer than the rollback delay of ${rollbackDelay} s, ` +
    "and the switch has no canceller: no one could veto a guardian's rollback before it becomes executable. " +
    "Add a faster canceller (a Safe or a team account) through the approver: npx hardhat bg:call propose --function addCanceller --args '[\"0x…\"]'."
  );
}
