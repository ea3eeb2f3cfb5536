import { HardhatError, HardhatPluginError } from "@nomicfoundation/hardhat-errors";

export const PLUGIN_ID = "hardhat-bluegreen";

/**
 * A stable error code: `BG_` and upper-case words. Scripts, CI and the docs
 * key on it; the wording of the message may change, the code may not.
 */
export type ErrorCode = `BG_${string}`;

/** Where every code is explained, one heading per code (shipped with the package). */
export const ERRORS_DOC = "hardhat-bluegreen/docs/errors.md";

export interface BlueGreenErrorOptions {
  /** What to do about it, when the message itself does not say. */
  hint?: string;
  cause?: Error;
}

const CODE = /^BG_[A-Z0-9_]+$/;

/**
 * An error a user can fix. It carries a stable `code`, a short message of
 * what is wrong, a hint for the fix and a link to the code's section of
 * docs/errors.md, in the way of viem's BaseError and Hardhat's numbered
 * errors. Hardhat prints it without a stack trace unless
 * --show-stack-traces is given; `--json` output carries the same fields.
 */
export class BlueGreenError extends HardhatPluginError {
  readonly code: ErrorCode;
  /** What is wrong, without the code, the hint or the link. */
  readonly shortMessage: string;
  readonly hint: string | undefined;
  /** The section that explains this code. */
  readonly docs: string;

  /** @deprecated TRANSITION ONLY (issue 12): give every error a code. Removed once no call is left. */
  constructor(message: string, cause?: Error);
  constructor(code: ErrorCode, message: string, options?: BlueGreenErrorOptions);
  constructor(codeOrMessage: string, messageOrCause?: string | Error, options: BlueGreenErrorOptions = {}) {
    let code: ErrorCode;
    let message: string;
    if (typeof messageOrCause === "string") {
      if (!CODE.test(codeOrMessage)) throw new TypeError(`BlueGreenError: "${codeOrMessage}" is not an error code (BG_ and upper-case words)`);
      code = codeOrMessage as ErrorCode;
      message = messageOrCause;
    } else {
      const prefixed = /^\[(BG_[A-Z0-9_]+)\] ([\s\S]*)$/.exec(codeOrMessage);
      code = (prefixed?.[1] ?? "BG_UNCODED") as ErrorCode;
      message = prefixed?.[2] ?? codeOrMessage;
      if (messageOrCause !== undefined) options = { cause: messageOrCause };
    }
    super(PLUGIN_ID, composeMessage(code, message, options.hint), options.cause);
    this.code = code;
    this.shortMessage = message;
    this.hint = options.hint;
    this.docs = `${ERRORS_DOC}#${code.toLowerCase()}`;
  }

  static is(error: unknown, code?: ErrorCode): error is BlueGreenError {
    return error instanceof BlueGreenError && (code === undefined || error.code === code);
  }
}

function composeMessage(code: ErrorCode, message: string, hint: string | undefined): string {
  const prefix = code === "BG_UNCODED" ? "" : `[${code}] `;
  return `${prefix}${message}${hint !== undefined ? ` ${hint}` : ""}`;
}

/** The fields a `--json` error document carries for any error. */
export function errorJson(error: unknown): { error: string; code?: ErrorCode; hint?: string; docs?: string; unexpected?: true } {
  if (error instanceof BlueGreenError) {
    return { error: error.message, code: error.code, ...(error.hint !== undefined ? { hint: error.hint } : {}), docs: error.docs };
  }
  if (isUserFacingError(error)) return { error: error.message };
  return { error: errorMessage(error), unexpected: true };
}

/** True for errors that are ours or any Hardhat plugin's: safe to show as is. */
export function isUserFacingError(error: unknown): error is Error {
  return (
    HardhatPluginError.isHardhatPluginError(error) ||
    HardhatError.isHardhatError(error)
  );
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
