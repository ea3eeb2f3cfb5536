/**
 * The one parser of addresses a user types (`--proxy`, `--args`, the
 * mirror's `--proxy`...). Every command says the same thing about the same
 * mistake: a missing address, something that is not 20 bytes of hex, or a
 * mixed-case address whose EIP-55 checksum is wrong (a typo the checksum
 * caught, so it is never "corrected" for the user).
 */
import { getAddress } from "ethers";

import { BlueGreenError, type ErrorCode } from "../errors.js";

const HEX_ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** Why `value` is not a usable address, or undefined when it is one. */
export function addressProblem(value: string): "missing" | "not-hex" | "checksum" | undefined {
  if (value === "") return "missing";
  if (!HEX_ADDRESS.test(value)) return "not-hex";
  try {
    getAddress(value);
    return undefined;
  } catch {
    return "checksum";
  }
}

/**
 * Parses a user-given address (surrounding spaces ignored) into its
 * checksummed form. All lower case (or all upper case) is accepted as is;
 * mixed case must carry a valid EIP-55 checksum. `what` names the option in
 * messages (e.g. `--proxy`); `code` is the caller's error code.
 */
export function parseUserAddress(value: string, what: string, code: ErrorCode): string {
  const trimmed = value.trim();
  switch (addressProblem(trimmed)) {
    case undefined:
      return getAddress(trimmed);
    case "missing":
      throw new BlueGreenError(code, `Missing ${what}. Pass it as a 0x-prefixed 20-byte address.`);
    case "checksum":
      throw new BlueGreenError(code, checksumMessage(value, what));
    case "not-hex":
      throw new BlueGreenError(code, `"${value}" is not a valid address for ${what}. Pass a 0x-prefixed 20-byte hex address (40 hex digits).`);
  }
}

/** The words for a wrong checksum, as bg:init has always said them. */
export function checksumMessage(value: string, what: string): string {
  return `${what}: "${value}" has an invalid EIP-55 checksum. Copy it again, or write it all in lower case.`;
}
