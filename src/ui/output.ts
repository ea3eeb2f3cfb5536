/**
 * How every bg:* task talks to people and to CI.
 *
 * - People get a short summary on stdout; progress only on a TTY.
 * - With --json, stdout carries exactly one JSON document ({"ok": ...}) and
 *   everything else goes to stderr.
 * - Exit code is non-zero when the step failed or its checks did not pass.
 */
import { styleText } from "node:util";

import { surfaceNodeError } from "../chain/node-error.js";
import { BlueGreenError, PLUGIN_ID, errorJson } from "../errors.js";
// Every command runs through here: with every step's schema known, no command rewrites a record it could not fully read.
import "../status/record-steps.js";

export interface CommandOutcome {
  ok: boolean;
}

export class Output {
  constructor(public readonly json: boolean) {}

  /** A line of narration for people; kept off stdout in --json mode. */
  info(line: string): void {
    (this.json ? process.stderr : process.stdout).write(line + "\n");
  }

  warn(line: string): void {
    process.stderr.write(styleText("yellow", `warning: ${line}`) + "\n");
  }

  /** True when it makes sense to draw progress (a person is watching). */
  get interactive(): boolean {
    return !this.json && process.stderr.isTTY === true;
  }
}

/**
 * Runs a task action under the output conventions. User errors in --json
 * mode become {"ok": false, "error", "code", "hint", "docs"} with exit code 1;
 * without --json they are printed here, without a stack trace, also when
 * CI=true (Hardhat would add one there). `--show-stack-traces` hands them to
 * Hardhat's printer, stack and all; so do unexpected errors.
 */
export async function runCommand<T extends CommandOutcome>(
  json: boolean,
  action: (out: Output) => Promise<T>,
  render: (result: T) => string,
): Promise<T | undefined> {
  const out = new Output(json);
  let result: T;
  // In --json mode stdout belongs to the one JSON document: anything else
  // written there meanwhile (compiler warnings, library logs) goes to stderr.
  const restoreStdout = json ? divertStdoutToStderr() : () => {};
  try {
    result = await action(out);
  } catch (thrown) {
    restoreStdout();
    const error = surfaceNodeError(thrown);
    if (!json) {
      if (!BlueGreenError.is(error) || process.argv.includes("--show-stack-traces")) throw error;
      printUserError(error);
      process.exitCode = 1;
      return undefined;
    }
    const doc = { ok: false, ...errorJson(error) };
    process.stdout.write(toJson(doc) + "\n");
    process.exitCode = 1;
    return undefined;
  }
  restoreStdout();
  if (json) process.stdout.write(toJson(result) + "\n");
  else process.stdout.write(render(result) + "\n");
  if (!result.ok) process.exitCode = 1;
  return result;
}

function printUserError(error: Error): void {
  const where = BlueGreenError.is(error) ? `\nSee ${error.docs}, or run with --show-stack-traces.` : "\nFor more info run with --show-stack-traces.";
  process.stderr.write(`${styleText(["red", "bold"], `Error in plugin ${PLUGIN_ID}:`)} ${error.message}\n${where}\n`);
}

function divertStdoutToStderr(): () => void {
  const original = process.stdout.write;
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  return () => {
    process.stdout.write = original;
  };
}

/** JSON with bigints as decimal strings, as ethers values often carry them. */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v), indent);
}

export const style = {
  ok: (s: string) => styleText("green", s),
  bad: (s: string) => styleText("red", s),
  warn: (s: string) => styleText("yellow", s),
  dim: (s: string) => styleText("dim", s),
  bold: (s: string) => styleText("bold", s),
  blue: (s: string) => styleText("blue", s),
  green: (s: string) => styleText("green", s),
};
