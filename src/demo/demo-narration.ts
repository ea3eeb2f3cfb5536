/**
 * Every line the demo prints for people: one line per step, with the key
 * figures, marked ✓ (done), ✗ (caught or refused, as the story wants), or
 * ! (a deliberate override). Pure functions from facts to text.
 */
import path from "node:path";

import { formatUnits } from "ethers";

import { short as shortHex } from "../common/format.js";
import { style } from "../ui/output.js";

export type Mark = "ok" | "caught" | "skip" | "info";

const MARKS: Record<Mark, () => string> = {
  ok: () => style.ok("✓"),
  caught: () => style.bad("✗"),
  skip: () => style.warn("!"),
  info: () => style.dim("·"),
};

/** One step: mark, a fixed-width label, the figures. */
export function stepLine(mark: Mark, label: string, text: string): string {
  return `  ${MARKS[mark]()} ${label.padEnd(9)} ${text}`;
}

export function heading(text: string): string {
  return `\n${style.bold(text)}`;
}

/** 0x1234…abcd: the demo's lines name many addresses and hashes, so it keeps fewer digits than the default. */
export function short(hex: string): string {
  return shortHex(hex, 6, 4);
}

export function percent(part: number, whole: number): string {
  return whole === 0 ? "0%" : `${((100 * part) / whole).toFixed(1)}%`;
}

export function tokens(amount: bigint): string {
  return `${Number(formatUnits(amount, 18)).toLocaleString("en-US", { maximumFractionDigits: 0 })} DMO`;
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

export function days(secondsCount: number): string {
  const d = secondsCount / 86_400;
  return Number.isInteger(d) ? `${d} days` : `${d.toFixed(1)} days`;
}

/** A path as people should type it: relative to where they are when it is shorter. */
export function shownPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative !== "" && !relative.startsWith("..") ? relative : file;
}

export function gateList(results: ReadonlyArray<{ name: string; status: string; required: boolean }>): string {
  return results
    .filter((r) => r.status !== "not-configured" && r.status !== "not-applicable")
    .map((r) => {
      const status = r.status === "pass" ? style.ok("pass") : r.required ? style.bad(r.status.toUpperCase()) : style.warn(`${r.status} (advisory)`);
      return `${r.name} ${status}`;
    })
    .join(" · ");
}
