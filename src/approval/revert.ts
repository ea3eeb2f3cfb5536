/** Reverts and call arguments as people read them. */
import { Interface, getAddress } from "ethers";

import { findRevertData } from "../switch/read-switch.js";

const REASON = new Interface(["error Error(string)"]);

/** A revert as people read it: the custom error with its arguments, a reason string, or the raw message. */
export function describeRevert(error: unknown, errors?: Interface): string {
  const data = findRevertData(error);
  if (data !== undefined) {
    if (errors !== undefined) {
      try {
        const parsed = errors.parseError(data);
        if (parsed !== null) return `${parsed.name}(${[...parsed.args].map(argString).join(", ")})`;
      } catch {
        // not one of the contract's errors
      }
    }
    try {
      const standard = REASON.parseError(data);
      if (standard !== null) return `reverted with "${standard.args[0] as string}"`;
    } catch {
      // not a reason string
    }
    return `reverted with data ${data}`;
  }
  const shortMessage = (error as { shortMessage?: unknown }).shortMessage;
  return typeof shortMessage === "string" ? shortMessage : error instanceof Error ? error.message : String(error);
}

/** The reason string of a revert with Error(string), if that is what it carried. */
export function revertReason(error: unknown): string | undefined {
  const data = findRevertData(error);
  if (data === undefined) return undefined;
  try {
    return REASON.parseError(data)?.args[0] as string | undefined;
  } catch {
    return undefined;
  }
}

/** Arguments as strings: addresses checksummed, bytes as hex, numbers in decimal. */
export function argString(value: unknown): string {
  if (typeof value === "string") return /^0x[0-9a-fA-F]{40}$/.test(value) ? getAddress(value) : value;
  if (typeof value === "bigint" || typeof value === "number" || typeof value === "boolean") return value.toString();
  if (Array.isArray(value)) return "[" + value.map(argString).join(", ") + "]";
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
}
