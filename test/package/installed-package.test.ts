/**
 * The package as users get it: `npm pack`, installed into a fresh Hardhat 3
 * project, running `npx hardhat bg:stage --json` against a separate node.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

import { expect } from "chai";
import { TypedDataEncoder, ZeroAddress } from "ethers";

import { deployBoxBehindProxy } from "../helpers/box.js";
import { onlyJson, runHardhat } from "../helpers/cli.js";
import { startNode, type RunningNode } from "../helpers/nodes.js";

const exec = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");
const BIN = path.join(ROOT, "node_modules", ".bin");
const env = { ...process.env, PATH: `${BIN}${path.delimiter}${process.env.PATH}` };

const USER_CONFIG = `import { createRequire } from "node:module";
import hardhatEthers from "@nomicfoundation/hardhat-ethers";
import { defineConfig } from "hardhat/config";
import blueGreen from "hardhat-bluegreen";

export default defineConfig({
  plugins: [hardhatEthers, blueGreen],
  solidity: {
    version: "0.8.30",
    path: createRequire(import.meta.url).resolve("solc/soljson.js"),
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: "prague" },
  },
  networks: {
    mainnet: { type: "http", url: process.env.MAINNET_RPC_URL ?? "http://127.0.0.1:8545" },
  },
});
`;

describe("the npm package installed into a fresh Hardhat 3 project", function () {
  let node: RunningNode;
  let project: string;

  before(async function () {
    this.timeout(600_000);
    const work = await mkdtemp(path.join(tmpdir(), "bg-pack-"));
    // The suite's pretest step has just built dist/ and artifacts-dist/.
    const { stdout } = await exec("npm", ["pack", "--ignore-scripts", "--pack-destination", work], { cwd: ROOT, env });
    const tarball = path.join(work, stdout.trim().split("\n").pop()!);
    project = path.join(work, "user-project");
    await mkdir(path.join(project, "contracts"), { recursive: true });
    await writeFile(
      path.join(project, "package.json"),
      JSON.stringify({ name: "user-project", private: true, type: "module" }, null, 2),
    );
    await writeFile(path.join(project, "hardhat.config.ts"), USER_CONFIG);
    for (const name of ["BoxV1.sol", "BoxV2.sol"]) {
      await copyFile(path.join(ROOT, "contracts/examples", name), path.join(project, "contracts", name));
    }
    await exec(
      "npm",
      [
        "install",
        "--no-audit",
        "--no-fund",
        "--prefer-offline",
        tarball,
        pinned("hardhat"),
        pinned("@nomicfoundation/hardhat-ethers"),
        pinned("ethers"),
        pinned("solc"),
        pinned("@openzeppelin/contracts"),
      ],
      { cwd: project, env, maxBuffer: 64 * 1024 * 1024 },
    );
    node = await startNode("anvil");
  });
  after(async () => node?.stop());

  it("ships built JS, type declarations and the compiled switch artifact", async () => {
    const pkg = path.join(project, "node_modules", "hardhat-bluegreen");
    expect(await readdir(path.join(pkg, "dist", "src"))).to.include.members(["index.js", "index.d.ts", "core.js", "core.d.ts"]);
    expect(await readdir(path.join(pkg, "artifacts-dist", "contracts", "BlueGreenSwitch.sol"))).to.include("BlueGreenSwitch.json");
    expect(await readdir(pkg)).to.not.include("test");
  });

  it("runs `npx hardhat bg:stage --json` against a separate node", async function () {
    this.timeout(300_000);
    const box = await deployBoxBehindProxy(node.url);
    const run = await runHardhat(
      ["bg:stage", "--network", "mainnet", "--proxy", box.proxy, "--contract", "BoxV2", "--reference", "BoxV1", "--json"],
      { MAINNET_RPC_URL: node.url },
      project,
    );
    expect(run.code).to.equal(0, run.stdout + run.stderr);
    const doc = onlyJson(run);
    expect(doc).to.include({ ok: true, proxy: box.proxy, chainId: 31337 });
    expect(doc.green.contract).to.equal("BoxV2");
    expect(await readdir(path.join(project, ".bluegreen", "31337"))).to.include(doc.release);
  });

  it("serves hardhat-bluegreen/core to a plain Node script, without Hardhat's tasks", async function () {
    this.timeout(120_000);
    // The release bg:stage just recorded, read back through the library alone.
    await writeFile(
      path.join(project, "core-script.mjs"),
      `import { BlueGreenError, JsonRpcClient, ReleaseStore, buildSafeTransaction, hashSafeTransaction, readTransparentProxy } from "hardhat-bluegreen/core";
const chain = new JsonRpcClient({ url: process.argv[2], retries: 1 });
const store = new ReleaseStore(".bluegreen");
const [id] = await store.listIds(31337);
const record = await store.get(31337, id);
const onChain = await readTransparentProxy(chain, record.proxy, "mainnet");
const tx = buildSafeTransaction({ to: record.proxy, data: "0x1234", nonce: 7n });
let missing;
try { await store.get(31337, "no-such-release"); } catch (e) { missing = BlueGreenError.is(e) ? e.code : "not ours"; }
console.log(JSON.stringify({ id, state: record.state, blue: record.blue.address, runs: onChain.implementation, safeTxHash: hashSafeTransaction(31337, "0x000000000000000000000000000000000000dEaD", tx).safeTxHash, missing, calls: chain.stats.calls }));
`,
    );
    const { stdout } = await exec(process.execPath, ["core-script.mjs", node.url], { cwd: project, env });
    const out = JSON.parse(stdout.trim().split("\n").pop()!);
    expect(out.state).to.equal("staged");
    // What the chain says, read here without the package: the proxy's ERC-1967 implementation slot.
    const slot = (await (await fetch(node.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_getStorageAt", params: [await proxyOf(project, out.id), IMPLEMENTATION_SLOT, "latest"] }),
    })).json()) as { result: string };
    expect(out.runs.toLowerCase()).to.equal("0x" + slot.result.slice(-40));
    expect(out.blue.toLowerCase()).to.equal(out.runs.toLowerCase());
    // The Safe's EIP-712 hash, computed here from the Safe's published type, not by the package.
    expect(out.safeTxHash).to.equal(
      TypedDataEncoder.hash({ chainId: 31337, verifyingContract: "0x000000000000000000000000000000000000dEaD" }, SAFE_TX_TYPE, {
        to: await proxyOf(project, out.id), value: 0, data: "0x1234", operation: 0, safeTxGas: 0, baseGas: 0, gasPrice: 0,
        gasToken: ZeroAddress, refundReceiver: ZeroAddress, nonce: 7,
      }),
    );
    expect(out.missing).to.equal("BG_RECORD_NOT_FOUND");
    expect(out.calls).to.be.greaterThan(0);
  });

  it("runs the whole demo, `npx hardhat bg:demo --json`, with nothing but the package's shipped artifacts", async function () {
    this.timeout(300_000);
    const run = await runHardhat(["bg:demo", "--json"], {}, project);
    expect(run.code).to.equal(0, run.stdout + run.stderr);
    const doc = onlyJson(run);
    expect(doc.ok).to.equal(true);
    expect(doc.setup.safe.threshold).to.equal(2);
    expect(doc.actOne.state).to.equal("finalized");
    expect(doc.actTwo.replay.divergences).to.be.greaterThan(0);
    expect(doc.actTwo.state).to.equal("rolled-back");
    for (const node of doc.nodes) expect(node.stopped).to.equal(true);
  });
});

const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";

/** SafeTx as Safe's contracts define it (v1.3.0+). */
const SAFE_TX_TYPE = {
  SafeTx: [
    { name: "to", type: "address" },
    { name: "value", type: "uint256" },
    { name: "data", type: "bytes" },
    { name: "operation", type: "uint8" },
    { name: "safeTxGas", type: "uint256" },
    { name: "baseGas", type: "uint256" },
    { name: "gasPrice", type: "uint256" },
    { name: "gasToken", type: "address" },
    { name: "refundReceiver", type: "address" },
    { name: "nonce", type: "uint256" },
  ],
};

async function proxyOf(project: string, release: string): Promise<string> {
  return JSON.parse(await readFile(path.join(project, ".bluegreen", "31337", release, "release.json"), "utf8")).proxy;
}

/** `name@version` of a dependency installed here, so the user project matches it. */
function pinned(name: string): string {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8"));
  return `${name}@${manifest.version}`;
}
