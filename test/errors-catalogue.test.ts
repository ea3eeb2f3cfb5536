/**
 * Every error code the code base can raise is explained in docs/errors.md,
 * and every BlueGreenError names its code: the `docs` link of an error and
 * the `code` of a gate result must always lead somewhere.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { expect } from "chai";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SCANNED = ["src", "tasks"];

/**
 * A code as the sources write it: a quoted literal (`"BG_X"`, the form
 * BlueGreenError, BlueGreenError.is and a gate result's `code` take) or the
 * `[BG_X]` that leads a gate finding's detail and a config message.
 */
const CODE_IN_SOURCE = /(?:["'`]|\[)(BG_[A-Z0-9_]+)(?:["'`]|\])/g;
/** The stand-in of errors without a code; it is no code a user meets. */
const NOT_A_CODE = new Set(["BG_UNCODED"]);

interface SourceFile {
  file: string;
  text: string;
}

async function sources(): Promise<SourceFile[]> {
  const out: SourceFile[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.name.endsWith(".ts")) out.push({ file: path.relative(ROOT, full), text: await readFile(full, "utf8") });
    }
  };
  for (const dir of SCANNED) await walk(path.join(ROOT, dir));
  return out;
}

/** The `### BG_X` headings of docs/errors.md. */
async function documentedCodes(): Promise<string[]> {
  const doc = await readFile(path.join(ROOT, "docs", "errors.md"), "utf8");
  return [...doc.matchAll(/^### (BG_[A-Z0-9_]+)\s*$/gm)].map((m) => m[1]!);
}

/**
 * The first argument of the call that opens at `start` (just after its
 * parenthesis), and whether more arguments follow.
 */
function firstArgument(text: string, start: number): { arg: string; more: boolean } {
  const closers: string[] = [];
  let quote: string | undefined;
  for (let i = start; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== undefined) {
      if (c === "\\") i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'" || c === "`") quote = c;
    else if (c === "(") closers.push(")");
    else if (c === "[") closers.push("]");
    else if (c === "{") closers.push("}");
    else if (closers.length > 0 && c === closers.at(-1)) closers.pop();
    else if (closers.length === 0 && (c === "," || c === ")")) return { arg: text.slice(start, i).trim(), more: c === "," };
  }
  return { arg: text.slice(start).trim(), more: false };
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split("\n").length;
}

describe("the error catalogue (docs/errors.md)", () => {
  it("has a heading for every code used in src/ and tasks/", async () => {
    const documented = new Set(await documentedCodes());
    const missing = new Map<string, string>();
    for (const { file, text } of await sources()) {
      for (const m of text.matchAll(CODE_IN_SOURCE)) {
        const code = m[1]!;
        if (NOT_A_CODE.has(code) || documented.has(code) || missing.has(code)) continue;
        missing.set(code, `${file}:${lineOf(text, m.index!)}`);
      }
    }
    expect([...missing].map(([code, where]) => `${code} (${where})`), "codes without a ### heading in docs/errors.md").to.deep.equal([]);
  });

  it("has each heading once", async () => {
    const codes = await documentedCodes();
    expect(codes.filter((c, i) => codes.indexOf(c) !== i), "headings that appear twice").to.deep.equal([]);
  });

  it("names a code first in every new BlueGreenError(...)", async () => {
    const uncoded: string[] = [];
    for (const { file, text } of await sources()) {
      for (const m of text.matchAll(/new BlueGreenError\(/g)) {
        const { arg, more } = firstArgument(text, m.index! + m[0].length);
        // A literal must be a code; an expression (a code chosen by the caller) is typed ErrorCode by the compiler.
        const literal = /^["'`]/.test(arg);
        const coded = more && (literal ? /^(["'])BG_[A-Z0-9_]+\1$/.test(arg) : arg !== "");
        if (!coded) uncoded.push(`${file}:${lineOf(text, m.index!)}: ${arg.split("\n")[0]}`);
      }
    }
    expect(uncoded, "BlueGreenError calls without a code as first argument").to.deep.equal([]);
  });
});
