/**
 * A user's Hardhat project for the documentation tests: the developer
 * guide's own config (its ```ts block, with the substitutions a test needs),
 * the vault contracts, and this repository's packages, with
 * hardhat-bluegreen as built (`npm run build`), so commands run as they would
 * in a project that installed the package.
 */
import { spawn } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, readdir, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { ContractFactory, HDNodeWallet, Interface, JsonRpcProvider, JsonRpcSigner, getAddress } from "ethers";

import { readArtifact } from "../helpers/box.js";

export const ROOT = path.resolve(import.meta.dirname, "../..");
const MNEMONIC = "test test test test test test test test test test test junk";
export const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";
export const VAULT = new Interface(["function initialize()", "function deposit() payable", "function withdraw(uint256 amount)"]);

export interface GuideCommand {
  line: string;
  /** The guide says this line exits non-zero at that point (`# exits 1`). */
  fails: boolean;
}

/** The guide's runnable steps, in page order. */
export function guideSteps(markdown: string): Map<string, GuideCommand[]> {
  const steps = new Map<string, GuideCommand[]>();
  for (const match of markdown.matchAll(/<!-- step: ([\w-]+) -->\s*```sh\n([\s\S]*?)```/g)) {
    const commands = match[2]!
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("#"))
      .map((l) => ({ line: l.replace(/\s+#.*$/, ""), fails: /#\s*exits 1\b/.test(l) }));
    steps.set(match[1]!, commands);
  }
  return steps;
}

/** The guide's hardhat.config.ts, with the test's three substitutions. */
export function guideConfig(markdown: string, auditors: string[]): string {
  const block = /<!-- guide-config -->\s*```ts\n([\s\S]*?)```/.exec(markdown)?.[1];
  if (block === undefined) throw new Error("the guide has no <!-- guide-config --> block");
  const substitute = (text: string, from: RegExp, to: string) => {
    if (!from.test(text)) throw new Error(`the guide's config no longer contains ${from}`);
    return text.replace(from, to);
  };
  let config = `import { createRequire } from "node:module";\n${block}`;
  config = substitute(
    config,
    /solidity: "0\.8\.30",/,
    `solidity: { version: "0.8.30", path: createRequire(import.meta.url).resolve("solc/soljson.js"), settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: "prague" } },`,
  );
  config = substitute(config, /auditors: \[[^\]]*\]/, `auditors: ${JSON.stringify(auditors)}`);
  config = substitute(config, /replay: \{ gasTolerance: 1 \}/, `replay: { gasTolerance: 1, hardfork: "prague" }`);
  return config;
}

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one line of the guide through bash in the project, as a user would. */
export function sh(line: string, cwd: string, env: Record<string, string>): Promise<Ran> {
  const { HARDHAT_CONFIG: _parent, ...inherited } = process.env;
  return new Promise((resolve) => {
    const child = spawn("bash", ["-c", line], {
      cwd,
      env: { ...inherited, ...env, PATH: `${path.join(cwd, "node_modules", ".bin")}${path.delimiter}${process.env.PATH}`, FORCE_COLOR: "0", NO_COLOR: "1" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

export function key(index: number): string {
  return HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${index}`).privateKey;
}

/** A user's project: package.json, the guide's config, the vault contracts, and this repository's packages (hardhat-bluegreen as built). */
export async function makeProject(config: string, contracts: string[] = ["VaultV1.sol", "VaultV2.sol"]): Promise<string> {
  const project = await mkdtemp(path.join(tmpdir(), "bg-guide-"));
  await writeFile(path.join(project, "package.json"), JSON.stringify({ name: "vault", private: true, type: "module" }, null, 2));
  await mkdir(path.join(project, "node_modules"));
  for (const entry of await readdir(path.join(ROOT, "node_modules"))) {
    await symlink(path.join(ROOT, "node_modules", entry), path.join(project, "node_modules", entry));
  }
  await symlink(ROOT, path.join(project, "node_modules", "hardhat-bluegreen"));
  await mkdir(path.join(project, "contracts"));
  for (const name of contracts) {
    await copyFile(path.join(import.meta.dirname, "guide-project", "contracts", name), path.join(project, "contracts", name));
  }
  await writeFile(path.join(project, "hardhat.config.ts"), config);
  await mkdir(path.join(project, "audits"));
  return project;
}

export async function deployVault(provider: JsonRpcProvider, project: string, owner: string): Promise<string> {
  const deployer = new JsonRpcSigner(provider, owner);
  const v1 = JSON.parse(await readFile(path.join(project, "artifacts", "contracts", "VaultV1.sol", "VaultV1.json"), "utf8"));
  const blue = await (await new ContractFactory(v1.abi, v1.bytecode, deployer).deploy()).waitForDeployment();
  const proxyArtifact = await readArtifact("@openzeppelin/contracts/proxy/transparent/TransparentUpgradeableProxy.sol", "TransparentUpgradeableProxy");
  const proxy = await (
    await new ContractFactory(proxyArtifact.abi, proxyArtifact.bytecode, deployer).deploy(await blue.getAddress(), owner, VAULT.encodeFunctionData("initialize"))
  ).waitForDeployment();
  return getAddress(await proxy.getAddress());
}

export function localProvider(url: string): JsonRpcProvider {
  const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true, cacheTimeout: -1, batchMaxCount: 1 });
  provider.pollingInterval = 50;
  return provider;
}

