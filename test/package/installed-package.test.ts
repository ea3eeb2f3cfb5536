/**
 * The package as users get it: `npm pack`, installed into a fresh Hardhat 3
 * project, running `npx hardhat bg:stage --json` against a separate node.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

import { expect } from "chai";

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
    expect(await readdir(path.join(pkg, "dist", "src"))).to.include.members(["index.js", "index.d.ts"]);
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

/** `name@version` of a dependency installed here, so the user project matches it. */
function pinned(name: string): string {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8"));
  return `${name}@${manifest.version}`;
}
