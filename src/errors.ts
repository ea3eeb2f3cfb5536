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

  constructor(code: ErrorCode, message: string, options: BlueGreenErrorOptions = {}) {
    if (!CODE.test(code)) throw new TypeError(`BlueGreenError: "${code}" is not an error code (BG_ and upper-case words)`);
    super(PLUGIN_ID, `[${code}] ${message}${options.hint !== undefined ? ` ${options.hint}` : ""}`, options.cause);
    this.code = code;
    this.shortMessage = message;
    this.hint = options.hint;
    this.docs = `${ERRORS_DOC}#${code.toLowerCase()}`;
  }

  /**
   * True for our errors (with that code, if given). Not only `instanceof`: a
   * project can load two copies of this package (a linked checkout, a script
   * beside the plugin), and their errors are ours all the same.
   */
  static is(error: unknown, code?: ErrorCode): error is BlueGreenError {
    const ours =
      error instanceof BlueGreenError ||
      (HardhatPluginError.isHardhatPluginError(error) && error.pluginId === PLUGIN_ID && typeof (error as { code?: unknown }).code === "string");
    return ours && (code === undefined || (error as BlueGreenError).code === code);
  }
}

/** The fields a `--json` error document carries for any error. */
export function errorJson(error: unknown): { error: string; code?: ErrorCode; hint?: string; docs?: string; unexpected?: true } {
  if (BlueGreenError.is(error)) {
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
