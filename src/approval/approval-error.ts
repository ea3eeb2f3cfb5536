/**
 * Errors of the approval path that carry a stable code, so scripts and the
 * signer guide can refer to them whatever the wording becomes. The code also
 * leads the message, because `--json` output and Hardhat's printer only show
 * the message.
 */
import { BlueGreenError } from "../errors.js";

export const APPROVAL_ERROR_CODES = {
  /** The approver is a Safe version the approval path does not know. */
  SAFE_VERSION: "BG-APPROVAL-SAFE-VERSION",
  /** The Safe's nonce was used by another transaction: the proposal can never execute. */
  NONCE_TAKEN: "BG-APPROVAL-NONCE-TAKEN",
  /** A transaction was mined but carries no execution of this proposal. */
  NOT_EXECUTED: "BG-APPROVAL-NOT-EXECUTED",
  /** The Safe Transaction Service refused or could not be reached. */
  SERVICE: "BG-APPROVAL-SERVICE",
  /** The Safe Transaction Service holds a different transaction under this proposal's nonce or hash. */
  SERVICE_MISMATCH: "BG-APPROVAL-SERVICE-MISMATCH",
  /** The approver is a contract the approval path cannot drive. */
  APPROVER_KIND: "BG-APPROVAL-APPROVER-KIND",
  /** The timelock operation is scheduled but its delay has not passed. */
  TIMELOCK_NOT_READY: "BG-APPROVAL-TIMELOCK-NOT-READY",
  /** The timelock operation was cancelled (vetoed) or never scheduled. */
  TIMELOCK_CANCELLED: "BG-APPROVAL-TIMELOCK-CANCELLED",
  /** The executor may not execute on the timelock. */
  TIMELOCK_EXECUTOR: "BG-APPROVAL-TIMELOCK-EXECUTOR",
  /** The executor of a plain-account approver is not that account. */
  ACCOUNT_EXECUTOR: "BG-APPROVAL-ACCOUNT-EXECUTOR",
} as const;

export type ApprovalErrorCode = (typeof APPROVAL_ERROR_CODES)[keyof typeof APPROVAL_ERROR_CODES];

/** A user-facing approval error: `[CODE] what is wrong. What to do.` */
export class ApprovalError extends BlueGreenError {
  readonly code: ApprovalErrorCode;
  constructor(code: ApprovalErrorCode, message: string, cause?: Error) {
    super(`[${code}] ${message}`, cause);
    this.code = code;
  }
}
