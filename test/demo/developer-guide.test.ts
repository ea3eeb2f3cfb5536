/**
 * docs/developer-guide.md, run as written: a fresh Hardhat project with the
 * guide's own config (its ```ts block) and VaultV1/VaultV2, two separate
 * nodes standing in for mainnet and Sepolia, and every command of the
 * guide's `<!-- step: … -->` blocks run through bash in order, as a user
 * would type them.
 *
 * Between steps the test does what the guide says other people do: the
 * Safe's owners sign (with the signer guide's commands), holders make
 * traffic, the testnet's clock runs 14 days, auditors attest.
 *
 * The config gets three substitutions a test needs, and nothing else: solc
 * from npm (this machine cannot download compilers), the test's auditor
 * addresses, and the replay's hardfork for a local 31337 "mainnet" (EDR knows
 * the real mainnet's).
 */
import { existsSync } from "node:fs";
import { readFile, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";

import { expect } from "chai";
import { JsonRpcProvider, JsonRpcSigner, Wallet, getAddress, parseEther } from "ethers";

import { createSafe, deploySafeSingletons } from "../../src/approval/deploy-safe-singletons.js";
import { ReleaseStore } from "../../src/release/store.js";
import { type RunningNode, startNode } from "../helpers/nodes.js";
import {
  type GuideCommand,
  IMPLEMENTATION_SLOT,
  ROOT,
  type Ran,
  VAULT,
  deployVault,
  guideConfig,
  guideSteps,
  key,
  localProvider,
  makeProject,
  sh,
} from "./guide-project.js";

const GUIDE = path.join(ROOT, "docs", "developer-guide.md");

describe("docs/developer-guide.md, every command run in order in a fresh project", function () {
  let mainnet: RunningNode;
  let sepolia: RunningNode;
  let mainnetProvider: JsonRpcProvider;
  let sepoliaProvider: JsonRpcProvider;
  let project: string;
  let env: Record<string, string>;
  let steps: Map<string, GuideCommand[]>;
  const auditors = [Wallet.createRandom(), Wallet.createRandom()];
  const ran: string[] = [];

  const run = async (line: string, fails = false, extraEnv: Record<string, string> = {}) => {
    const result = await sh(line, project, { ...env, ...extraEnv });
    ran.push(line);
    const output = `$ ${line}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
    if (fails) expect(result.code, output).to.not.equal(0);
    else expect(result.code, output).to.equal(0);
    return result;
  };
  const runStep = async (name: string, extraEnv: Record<string, string> = {}) => {
    const commands = steps.get(name);
    expect(commands, `the guide has no step "${name}"`).to.not.equal(undefined);
    const results: Ran[] = [];
    for (const command of commands!) results.push(await run(command.line, command.fails, extraEnv));
    return results;
  };

  before(async function () {
    this.timeout(600_000);
    if (!existsSync(path.join(ROOT, "dist", "src", "index.js"))) throw new Error("hardhat-bluegreen is not built: run `npm run build` first");
    const markdown = await readFile(GUIDE, "utf8");
    steps = guideSteps(markdown);
    project = await makeProject(guideConfig(markdown, auditors.map((a) => a.address)));
    [mainnet, sepolia] = await Promise.all([startNode("hardhat"), startNode("hardhat", ["--chain-id", "11155111"])]);
    mainnetProvider = localProvider(mainnet.url);
    sepoliaProvider = localProvider(sepolia.url);
    const address = (i: number) => new Wallet(key(i)).address;
    env = {
      MAINNET_RPC_URL: mainnet.url,
      SEPOLIA_RPC_URL: sepolia.url,
      DEPLOYER_KEY: key(0),
      DEPLOYER: address(0),
      GUARDIAN: address(4),
    };
    // What the team has before the guide starts: the vault deployed on both chains, and a 2-of-3 Safe on mainnet.
    await run("npx hardhat build");
    env.PROXY = await deployVault(mainnetProvider, project, env.DEPLOYER!);
    env.SEPOLIA_PROXY = await deployVault(sepoliaProvider, project, env.DEPLOYER!);
    const deployer = new JsonRpcSigner(mainnetProvider, env.DEPLOYER!);
    await deploySafeSingletons(deployer, ["Safe", "SafeProxyFactory", "CompatibilityFallbackHandler"]);
    env.SAFE = await createSafe(deployer, { owners: [1, 2, 3].map(address), threshold: 2 });
  });

  after(async () => {
    mainnetProvider?.destroy();
    sepoliaProvider?.destroy();
    await Promise.all([mainnet?.stop(), sepolia?.stop()]);
    // The project's node_modules holds only symlinks: removing it removes the links, not what they point at.
    if (project !== undefined) await rm(project, { recursive: true, force: true });
  });

  it("puts the proxy under a switch on each chain; the Safe signs the mainnet adoption", async function () {
    this.timeout(300_000);
    await runStep("one-time-testnet");
    await runStep("one-time-mainnet");
    // The owners sign the adopt call the guide says bg:adopt proposed, and anyone executes it (signer guide).
    const call = `adopt-${env.PROXY!.slice(2, 10).toLowerCase()}`;
    for (const owner of [1, 2]) await run(`npx hardhat bg:approve --network mainnet --call ${call}`, false, { DEPLOYER_KEY: key(owner) });
    await run(`npx hardhat bg:call execute --network mainnet --call ${call}`);
    const [check] = await runStep("adopt-check");
    expect(check!.stdout + check!.stderr).to.match(/already adopted/i);
  });

  it("releases green on the testnet and lets it bake 14 days", async function () {
    this.timeout(300_000);
    await runStep("testnet");
    await sepoliaProvider.send("evm_increaseTime", [14 * 86_400 + 60]);
    await sepoliaProvider.send("evm_mine", []);
    const slot = await sepoliaProvider.getStorage(env.SEPOLIA_PROXY!, IMPLEMENTATION_SLOT);
    const record = await new ReleaseStore(path.join(project, ".bluegreen")).get(11155111, "vault-v2");
    expect(record.state).to.equal("live");
    expect(getAddress("0x" + slot.slice(-40))).to.equal(record.green.address);
  });

  it("stages green on mainnet and replays the vault's real traffic with no divergence", async function () {
    this.timeout(300_000);
    // Holders use the vault: ten deposit, then deposits and withdrawals mix.
    const first = (await mainnetProvider.getBlockNumber()) + 1;
    for (let i = 0; i < 30; i++) {
      const holder = new JsonRpcSigner(mainnetProvider, new Wallet(key(5 + (i % 10))).address);
      const withdraw = i >= 10 && i % 3 === 0;
      const data = withdraw ? VAULT.encodeFunctionData("withdraw", [parseEther("0.5")]) : VAULT.encodeFunctionData("deposit");
      await (await holder.sendTransaction({ to: env.PROXY, data, value: withdraw ? 0n : parseEther("1"), gasLimit: 200_000 })).wait();
    }
    env.FROM_BLOCK = String(first);
    env.TO_BLOCK = String(await mainnetProvider.getBlockNumber());
    await runStep("stage");
    await runStep("replay");
    const record = await new ReleaseStore(path.join(project, ".bluegreen")).get(31337, "vault-v2");
    expect(record.state).to.equal("replayed");
    expect(record.steps.replay).to.deep.include({ txs: 30, divergences: 0, verdict: "clean" });
    // Receipts of the 30 transactions, plus the proxy's storage at the end of each block.
    const fidelity = (record.steps.replay as { fidelity: { matched: number; total: number } }).fidelity;
    expect(fidelity.total).to.be.greaterThan(30);
    expect(fidelity.matched).to.equal(fidelity.total);
  });

  it("collects two auditors' attestations and passes every required gate", async function () {
    this.timeout(300_000);
    await writeFile(path.join(project, "audits", "vault-v2-report.pdf"), "VaultV2 audit report (test)\n");
    for (const auditor of auditors) await runStep("attest", { AUDITOR_KEY: auditor.privateKey });
    expect((await readdir(path.join(project, "audits"))).filter((f) => f.endsWith(".json"))).to.have.length(2);
    await runStep("gates");
    const record = await new ReleaseStore(path.join(project, ".bluegreen")).get(31337, "vault-v2");
    expect(record.state).to.equal("gated");
    expect((record.steps.gates as { ok: boolean }).ok).to.equal(true);
  });

  it("proposes the switch to the Safe; after two owners sign, switches; a few blocks later monitors and shows the status", async function () {
    this.timeout(300_000);
    await runStep("propose");
    for (const owner of [1, 2]) await run("npx hardhat bg:approve --network mainnet --release vault-v2", false, { DEPLOYER_KEY: key(owner) });
    await runStep("switch");
    // A few blocks later (mainnet does not stop), the monitor has a confirmed promotion to watch.
    for (let i = 0; i < 3; i++) await mainnetProvider.send("evm_mine", []);
    await runStep("monitor");
    const record = await new ReleaseStore(path.join(project, ".bluegreen")).get(31337, "vault-v2");
    expect(record.state).to.equal("live");
    const slot = await mainnetProvider.getStorage(env.PROXY!, IMPLEMENTATION_SLOT);
    expect(getAddress("0x" + slot.slice(-40))).to.equal(record.green.address);
  });

  it("ran every command the guide shows", () => {
    const shown = [...steps.values()].flat().map((c) => c.line);
    expect(shown.length).to.be.greaterThan(10);
    for (const line of shown) expect(ran, `never ran: ${line}`).to.include(line);
  });
});
