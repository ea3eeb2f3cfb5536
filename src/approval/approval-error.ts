/**
 * Errors of the approval path that carry a stable code, so scripts and the
 * signer guide can refer to them whatever the wording becomes. The code also
 * leads the message, because `--json` output and Hardhat's printer only show
 * the message.
 */
import { BlueGreenError } from "../errors.js";

export const APPROVAL_ERROR_CODES = {
  /** The approver is a Safe version the approval path does not know. */
  SAFE_VERSION: "BG_APPROVAL_SAFE_VERSION",
  /** The Safe's nonce was used by another transaction: the proposal can never execute. */
  NONCE_TAKEN: "BG_APPROVAL_NONCE_TAKEN",
  /** A transaction was mined but carries no execution of this proposal. */
  NOT_EXECUTED: "BG_APPROVAL_NOT_EXECUTED",
  /** The Safe Transaction Service refused or could not be reached. */
  SERVICE: "BG_APPROVAL_SERVICE",
  /** The approver is a contract the approval path cannot drive. */
  APPROVER_KIND: "BG_APPROVAL_APPROVER_KIND",
  /** The timelock operation was cancelled (vetoed) or never scheduled. */
  TIMELOCK_CANCELLED: "BG_APPROVAL_TIMELOCK_CANCELLED",
  /** The executor may not execute on the timelock. */
  TIMELOCK_EXECUTOR: "BG_APPROVAL_TIMELOCK_EXECUTOR",
  /** The executor of a plain-account approver is not that account. */
  ACCOUNT_EXECUTOR: "BG_APPROVAL_ACCOUNT_EXECUTOR",
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
