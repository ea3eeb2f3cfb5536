/**
 * Decoding for people: calldata, events and revert data, through the ABIs
 * the project knows (blue's and green's) plus the standard `Error(string)`
 * and `Panic(uint256)`. Whatever cannot be decoded is shown raw.
 */
import { Interface, type InterfaceAbi, type LogDescription, type Result } from "ethers";

import { short } from "../common/format.js";
import type { LogEntry } from "./types.js";

const STANDARD_ERRORS = ["error Error(string)", "error Panic(uint256)"];

export class AbiDecoder {
  private readonly interfaces: Interface[];

  constructor(abis: readonly InterfaceAbi[] = []) {
    this.interfaces = [...abis.map((abi) => new Interface(abi)), new Interface(STANDARD_ERRORS)];
  }

  /** `transfer(to=0xabc..., value=1000)` or the raw selector and length. */
  call(data: string): string {
    if (data.length < 10) return data === "0x" ? "(no calldata)" : data;
    for (const iface of this.interfaces) {
      try {
        const parsed = iface.parseTransaction({ data });
        if (parsed !== null) return `${parsed.name}(${formatArgs(parsed.fragment.inputs.map((i) => i.name), parsed.args)})`;
      } catch {
        // not this ABI
      }
    }
    return `${data.slice(0, 10)}… (${(data.length - 2) / 2} bytes)`;
  }

  /** `Transfer(from=..., to=..., value=...) @0xproxy` or raw topics. */
  log(log: LogEntry): string {
    let parsed: LogDescription | null = null;
    for (const iface of this.interfaces) {
      try {
        parsed = iface.parseLog({ topics: log.topics, data: log.data });
      } catch {
        parsed = null;
      }
      if (parsed !== null) break;
    }
    const where = `@${short(log.address, 8, 4)}`;
    if (parsed === null) return `${log.topics[0]?.slice(0, 10) ?? "anonymous"}… ${where}`;
    return `${parsed.name}(${formatArgs(parsed.fragment.inputs.map((i) => i.name), parsed.args)}) ${where}`;
  }

  /** `Error("reason")`, `Panic(0x11)`, `CustomError(args)` or raw data. */
  revert(data: string | undefined, error?: string): string {
    if (data === undefined || data === "0x") return error !== undefined ? `${error} (no revert data)` : "(no revert data)";
    for (const iface of this.interfaces) {
      try {
        const parsed = iface.parseError(data);
        if (parsed !== null) {
          if (parsed.name === "Error") return `Error(${JSON.stringify(String(parsed.args[0]))})`;
          return `${parsed.name}(${formatArgs(parsed.fragment.inputs.map((i) => i.name), parsed.args)})`;
        }
      } catch {
        // not this ABI
      }
    }
    return data.length > 74 ? `${data.slice(0, 74)}…` : data;
  }
}

function formatArgs(names: string[], args: Result): string {
  return names
    .map((name, i) => {
      const value = formatValue(args[i]);
      return name !== "" ? `${name}=${value}` : value;
    })
    .join(", ");
}

function formatValue(value: unknown): string {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return value.length > 66 ? `${value.slice(0, 66)}…` : value;
  if (Array.isArray(value)) return `[${value.map(formatValue).join(", ")}]`;
  return String(value);
}
