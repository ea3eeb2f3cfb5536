import { HardhatError, HardhatPluginError } from "@nomicfoundation/hardhat-errors";

export const PLUGIN_ID = "hardhat-bluegreen";

/**
 * An error a user can fix. Its message says what is wrong and what to do;
 * Hardhat prints it without a stack trace unless --show-stack-traces is given.
 */
export class BlueGreenError extends HardhatPluginError {
  constructor(message: string, cause?: Error) {
    super(PLUGIN_ID, message, cause);
  }
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
