/** Runs `npx hardhat <args>` in this project as a user would, capturing everything. */
import { execFile } from "node:child_process";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../..");
const BIN = path.join(ROOT, "node_modules", ".bin");

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runHardhat(args: string[], env: Record<string, string> = {}, cwd = ROOT): Promise<CliRun> {
  // The parent `hardhat test` exports HARDHAT_CONFIG; the child must find its own project's config.
  const { HARDHAT_CONFIG: _parentConfig, ...inherited } = process.env;
  return new Promise((resolve) => {
    execFile(
      path.join(cwd, "node_modules", ".bin", "hardhat"),
      args,
      {
        cwd,
        env: { ...inherited, ...env, PATH: `${BIN}${path.delimiter}${process.env.PATH}`, FORCE_COLOR: "0", NO_COLOR: "1" },
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Parses stdout as exactly one JSON document, failing loudly if it is anything else. */
export function onlyJson(run: CliRun): any {
  const text = run.stdout.trim();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`stdout is not exactly one JSON document:\n${run.stdout}\n--- stderr:\n${run.stderr}`);
  }
}
