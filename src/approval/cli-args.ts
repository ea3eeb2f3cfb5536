/** Parsing of the approval commands' options, with messages that say what to pass. */
import { addressProblem, checksumMessage, parseUserAddress } from "../common/address.js";
import { BlueGreenError } from "../errors.js";

export function requireOption(value: string, what: string): string {
  if (value === "") throw new BlueGreenError("BG_APPROVAL_CLI_ARGS", `Missing ${what}. Pass it on the command line.`);
  return value;
}

/** `--nonce`: empty for the Safe's next nonce, else a non-negative integer. */
export function parseNonce(value: string): bigint | undefined {
  if (value === "") return undefined;
  if (!/^\d+$/.test(value)) throw new BlueGreenError("BG_APPROVAL_CLI_ARGS", `--nonce ${value} is not a Safe nonce. Pass a non-negative integer, or leave it out.`);
  return BigInt(value);
}

/** `--args`: a JSON array of the function's arguments (addresses, hex, numbers as strings). */
export function parseCallArgs(value: string): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new BlueGreenError("BG_APPROVAL_CLI_ARGS", `--args is not JSON (${(error as Error).message}). Pass a JSON array, e.g. '["0xabc...", "0x"]'.`);
  }
  if (!Array.isArray(parsed)) throw new BlueGreenError("BG_APPROVAL_CLI_ARGS", `--args must be a JSON array, e.g. '["0xabc..."]'.`);
  // An address typed in mixed case carries a checksum: a wrong one is a typo, whatever the argument's type.
  parsed.forEach((arg, i) => {
    if (typeof arg === "string" && addressProblem(arg) === "checksum") {
      throw new BlueGreenError("BG_APPROVAL_CLI_ARGS", checksumMessage(arg, `--args[${i}]`));
    }
  });
  return parsed;
}

/** An address option of the approval commands (e.g. `--signer`): checksummed, or the message that says what is wrong. */
export function parseAddressOption(value: string, option: string): string {
  return parseUserAddress(value, option, "BG_APPROVAL_CLI_ARGS");
}
