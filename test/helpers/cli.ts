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

/** Variables by which Hardhat decides it runs on CI (and then always prints stack traces). */
const CI_VARIABLES = ["GITHUB_ACTIONS", "NOW", "DEPLOYMENT_ID", "CODEBUILD_BUILD_NUMBER", "CI", "CONTINUOUS_INTEGRATION", "BUILD_NUMBER", "RUN_ID"];

/**
 * Runs the project's hardhat binary. `asPerson` hides CI variables, to see
 * what someone at a terminal sees.
 */
export function runHardhat(
  args: string[],
  env: Record<string, string> = {},
  cwd = ROOT,
  { asPerson = false }: { asPerson?: boolean } = {},
): Promise<CliRun> {
  // The parent `hardhat test` exports HARDHAT_CONFIG; the child must find its own project's config.
  const { HARDHAT_CONFIG: _parentConfig, ...inherited } = process.env;
  if (asPerson) for (const name of CI_VARIABLES) delete inherited[name];
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
