/**
 * bg:attest and bg:gates as a user runs them: a project whose config sets
 * every gate (test/gates/fixture-project), a "mainnet" node, and a testnet
 * node where the same build was promoted through a real switch 15 days ago
 * (of testnet chain time).
 */
import { mkdtemp, readFile, readdir, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { Contract, ContractFactory, Wallet, keccak256, toUtf8Bytes } from "ethers";

import { ReleaseStore } from "../../src/release/store.js";
import { transition } from "../../src/release/record.js";
import { loadSwitchArtifact } from "../../src/switch/artifact.js";
import { deploySwitch } from "../../src/switch/deploy-switch.js";
import { writeSwitchFile } from "../../src/switch/switch-file.js";
import { onlyJson, runHardhat } from "../helpers/cli.js";
import { deployBoxBehindProxy, readArtifact } from "../helpers/box.js";
import { startNode, type RunningNode } from "../helpers/nodes.js";
import { stagedRecord } from "../helpers/record-fixture.js";

const CONFIG = path.join("test", "gates", "fixture-project", "hardhat.config.ts");
const DAY = 86_400;
const SEPOLIA = 11155111;
const alice = new Wallet("0x" + "a1".repeat(32));
const bob = new Wallet("0x" + "b2".repeat(32));
/** Index 1 of Hardhat's default in-process accounts (the public test mnemonic). */
const HARDHAT_ACCOUNT_1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

describe("bg:attest and bg:gates on the command line", function () {
  let mainnet: RunningNode;
  let testnet: RunningNode;
  let codehash: string;
  let switchFile: Parameters<typeof writeSwitchFile>[1];
  let testnetProxy: string;

  before(async () => {
    [mainnet, testnet] = await Promise.all([startNode("anvil"), startNode("anvil", ["--chain-id", String(SEPOLIA)])]);
    // The testnet: the release promoted through a real switch, then 15 days pass.
    const box = await deployBoxBehindProxy(testnet.url);
    testnetProxy = box.proxy;
    const approver = await box.provider.getSigner(1);
    const deployment = await deploySwitch(box.owner, { approver: await approver.getAddress(), guardians: [], rollbackDelay: 3600, rollbackWindow: 7 * DAY });
    const sw = new Contract(deployment.address, (await loadSwitchArtifact()).abi, approver);
    await (await new Contract(box.proxyAdmin, ["function transferOwnership(address)"], box.owner).getFunction("transferOwnership")(deployment.address)).wait();
    await (await sw.getFunction("adopt")(box.proxy, box.proxyAdmin, box.blue)).wait();
    const v2 = await readArtifact("contracts/examples/BoxV2.sol", "BoxV2");
    const green = await new ContractFactory(v2.abi, v2.bytecode, box.owner).deploy();
    await green.waitForDeployment();
    codehash = keccak256(await box.provider.getCode(await green.getAddress()));
    await (await sw.getFunction("promote")(box.proxy, await green.getAddress(), codehash, box.blue, "0x", "0x" + "e0".repeat(32))).wait();
    await box.provider.send("evm_increaseTime", [15 * DAY]);
    await box.provider.send("evm_mine", []);
    switchFile = {
      schemaVersion: 1,
      chainId: SEPOLIA,
      address: deployment.address,
      approver: await approver.getAddress(),
      guardians: [],
      rollbackDelay: 3600,
      rollbackWindow: 7 * DAY,
      deployTx: deployment.deployTx,
      blockNumber: deployment.blockNumber,
      deployedAt: deployment.deployedAt,
    };
  });
  after(async () => Promise.all([mainnet?.stop(), testnet?.stop()]));

  /** A fresh project folder: the staged release on "mainnet", its replay, coverage and the audit report. */
  async function project(coveragePercent: number | string = 90, replayMode: "faithful" | "fast" = "faithful") {
    const tmp = await mkdtemp(path.join(tmpdir(), "bg-gates-cli-"));
    const store = new ReleaseStore(path.join(tmp, ".bluegreen"));
    // The release as staged on "mainnet": bg:gates records evidence only about a release that matches the chain.
    const box = await deployBoxBehindProxy(mainnet.url);
    const v2 = await readArtifact("contracts/examples/BoxV2.sol", "BoxV2");
    const green = await new ContractFactory(v2.abi, v2.bytecode, box.owner).deploy();
    await green.waitForDeployment();
    const greenAddress = await green.getAddress();
    expect(keccak256(await box.provider.getCode(greenAddress))).to.equal(codehash);
    const staged = stagedRecord("vault-v2", 31337);
    const base = {
      ...staged,
      proxy: box.proxy,
      admin: box.proxyAdmin,
      blue: { address: box.blue, codehash: keccak256(await box.provider.getCode(box.blue)) },
      green: { ...staged.green, address: greenAddress },
    };
    const report = JSON.stringify({
      schema: "hardhat-bluegreen/replay-report@2",
      greenCodehash: codehash,
      verdict: "clean",
      mode: replayMode,
      fromBlock: 1,
      toBlock: 30,
      txs: 25,
      divergences: [],
      expected: [],
      propagated: [],
      fidelity: { matched: 25, total: 25 },
    });
    await store.writeReleaseFile(31337, "vault-v2", "replay.json", report);
    await store.update(31337, "vault-v2", () => ({
      ...base,
      green: { ...base.green, codehash },
      steps: {
        replay: {
          reportFile: "replay.json",
          reportHash: keccak256(toUtf8Bytes(report)),
          greenCodehash: codehash,
          txs: 25,
          divergences: 0,
          expected: 0,
          propagated: 0,
          fidelity: { matched: 25, total: 25 },
          mode: replayMode,
          fromBlock: 1,
          toBlock: 30,
          at: "2026-11-22T10:00:00.000Z",
        },
      },
    }));
    await writeSwitchFile(store, switchFile);
    await mkdir(path.join(tmp, "coverage"), { recursive: true });
    await writeFile(
      path.join(tmp, "coverage", "lcov.info"),
      typeof coveragePercent === "string" ? coveragePercent : `SF:contracts/Vault.sol\nLF:100\nLH:${coveragePercent}\nend_of_record\n`,
    );
    await writeFile(path.join(tmp, "report.pdf"), "%PDF-1.4 the audit of vault-v2");
    const env = {
      BG_TEST_TMP: tmp,
      BLUEGREEN_RPC_URL: mainnet.url,
      BG_TESTNET_URL: testnet.url,
      BG_AUDITORS: [alice.address, bob.address, HARDHAT_ACCOUNT_1].join(","),
    };
    const hardhat = (args: string[], extra: Record<string, string> = {}) => runHardhat(["--config", CONFIG, ...args], { ...env, ...extra });
    const attest = (key: string | undefined, ...extra: string[]) =>
      hardhat(
        ["bg:attest", ...(key !== undefined ? ["--network", "auditor"] : []), "--release", "vault-v2", "--report", path.join(tmp, "report.pdf"), "--uri", "https://audits.example/vault-v2.pdf", ...extra],
        key !== undefined ? { AUDITOR_KEY: key } : {},
      );
    return { tmp, store, hardhat, attest, box, greenAddress };
  }

  it("bg:attest signs with the key from a configuration variable and writes the attestation under audits/", async () => {
    const p = await project();
    const run = await p.attest(alice.privateKey, "--medium", "2", "--json");
    expect(run.code).to.equal(0, run.stderr + run.stdout);
    const doc = onlyJson(run);
    expect(doc).to.deep.include({
      ok: true,
      release: "vault-v2",
      auditor: alice.address,
      greenCodehash: codehash,
      reportUri: "https://audits.example/vault-v2.pdf",
      findings: { critical: 0, high: 0, medium: 2, low: 0 },
      warnings: [],
    });
    const reportSha = "0x" + (await import("node:crypto")).createHash("sha256").update(await readFile(path.join(p.tmp, "report.pdf"))).digest("hex");
    expect(doc.reportSha256).to.equal(reportSha);
    expect(await readdir(path.join(p.tmp, "audits"))).to.deep.equal([`${codehash.slice(0, 10)}-${alice.address}.json`]);
  });

  it("bg:attest signs with an in-process network's HD account picked by --signer", async () => {
    const p = await project();
    const run = await p.attest(undefined, "--signer", HARDHAT_ACCOUNT_1, "--json");
    expect(run.code).to.equal(0, run.stderr + run.stdout);
    expect(onlyJson(run).auditor).to.equal(HARDHAT_ACCOUNT_1);
    const wrong = await p.attest(undefined, "--signer", alice.address);
    expect(wrong.code).to.not.equal(0);
    expect(wrong.stdout + wrong.stderr).to.include(`--signer ${alice.address} is not among the accounts of network "default"`);
  });

  it("bg:attest signs through the node on a network whose accounts are remote", async () => {
    const p = await project();
    // localMainnet declares no keys, so its accounts are the node's (anvil's unlocked dev accounts).
    const run = await p.hardhat(["bg:attest", "--network", "localMainnet", "--release", "vault-v2", "--report", path.join(p.tmp, "report.pdf"), "--uri", "ipfs://bafybeigdyrzt", "--signer", "1", "--json"]);
    expect(run.code).to.equal(0, run.stderr + run.stdout);
    const doc = onlyJson(run);
    expect(doc.auditor).to.equal(HARDHAT_ACCOUNT_1);
    expect(doc.reportUri).to.equal("ipfs://bafybeigdyrzt");
  });

  it("bg:gates passes every gate, records the evidence hash, and makes the release gated", async () => {
    const p = await project();
    expect((await p.attest(alice.privateKey)).code).to.equal(0);
    expect((await p.attest(bob.privateKey)).code).to.equal(0);
    const run = await p.hardhat(["bg:gates", "--network", "localMainnet", "--release", "vault-v2", "--json"]);
    expect(run.code).to.equal(0, run.stderr + run.stdout);
    const doc = onlyJson(run);
    expect(doc).to.include({ ok: true, release: "vault-v2", state: "gated" });
    expect(doc.evidenceHash).to.match(/^0x[0-9a-f]{64}$/);
    expect(doc.gates.map((g: any) => [g.name, g.status, g.required])).to.deep.equal([
      ["audits", "pass", true],
      ["testnet", "pass", true],
      ["replay", "pass", true],
      ["coverage", "pass", true],
      ["upgradeSafety", "not-configured", false],
      ["rollbackSafety", "pass", false],
      ["rollbackPath", "not-configured", false],
      ["source", "not-configured", false],
      ["observability", "not-configured", false],
      ["secrets", "not-configured", false],
      ["same-chain", "pass", true],
    ]);
    expect(doc.gates.find((g: any) => g.name === "testnet").detail).to.include("baked 15 days of chain time");
    const record = (await p.store.get(31337, "vault-v2"))!;
    expect(record.state).to.equal("gated");
    expect((record.steps.gates as any).evidenceHash).to.equal(doc.evidenceHash);
  });

  it("bg:gates proves the rollback path on an in-process fork of the release's chain, which it leaves untouched", async () => {
    const p = await project();
    expect((await p.attest(alice.privateKey)).code).to.equal(0);
    expect((await p.attest(bob.privateKey)).code).to.equal(0);
    // The release's own switch on "mainnet", holding the proxy's ProxyAdmin.
    const approver = await p.box.provider.getSigner(1);
    const deployment = await deploySwitch(p.box.owner, { approver: await approver.getAddress(), guardians: [], rollbackDelay: 3600, rollbackWindow: 7 * DAY });
    await (await new Contract(p.box.proxyAdmin, ["function transferOwnership(address)"], p.box.owner).getFunction("transferOwnership")(deployment.address)).wait();
    const sw = new Contract(deployment.address, (await loadSwitchArtifact()).abi, approver);
    await (await sw.getFunction("adopt")(p.box.proxy, p.box.proxyAdmin, p.box.blue)).wait();
    await writeSwitchFile(p.store, { ...switchFile, chainId: 31337, address: deployment.address, approver: await approver.getAddress(), deployTx: deployment.deployTx, blockNumber: deployment.blockNumber, deployedAt: deployment.deployedAt });
    const head = await p.box.provider.getBlockNumber();

    const run = await p.hardhat(["bg:gates", "--network", "localMainnet", "--release", "vault-v2", "--json"], { BG_ROLLBACK_PATH: "1" });
    expect(run.code).to.equal(0, run.stderr + run.stdout);
    const gate = onlyJson(run).gates.find((g: any) => g.name === "rollbackPath");
    expect(gate).to.deep.include({ status: "pass", required: true });
    expect(gate.evidence).to.deep.include({ kind: "transparent-v5", switch: deployment.address.toLowerCase(), steps: ["switch-in", "rollback", "re-promote"] });
    // Nothing was sent to the node: same head, the proxy still runs blue.
    expect(await p.box.provider.getBlockNumber()).to.equal(head);
    const slot = await p.box.provider.getStorage(p.box.proxy, "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc");
    expect("0x" + slot.slice(-40)).to.equal(p.box.blue.toLowerCase());
  });

  it("bg:gates names a tampered attestation, exits non-zero, and does not gate the release", async () => {
    const p = await project();
    await p.attest(alice.privateKey, "--high", "1");
    await p.attest(bob.privateKey);
    const file = path.join(p.tmp, "audits", `${codehash.slice(0, 10)}-${alice.address}.json`);
    const doc = JSON.parse(await readFile(file, "utf8"));
    doc.message.high = 0; // hide the open finding after signing
    await writeFile(file, JSON.stringify(doc, null, 2));

    const run = await p.hardhat(["bg:gates", "--network", "localMainnet", "--release", "vault-v2", "--json"]);
    expect(run.code).to.not.equal(0);
    const out = onlyJson(run);
    expect(out.ok).to.equal(false);
    const audits = out.gates.find((g: any) => g.name === "audits");
    expect(audits.status).to.equal("fail");
    expect(audits.detail).to.match(new RegExp(`tampered attestation\\(s\\): \\S*/audits/${path.basename(file)}$`));
    expect((await p.store.get(31337, "vault-v2"))!.state).to.equal("staged");
  });

  it("bg:gates prints a table and how to fix each failing gate for people", async () => {
    const p = await project(70);
    const run = await p.hardhat(["bg:gates", "--network", "localMainnet", "--release", "vault-v2"]);
    expect(run.code).to.not.equal(0);
    expect(run.stdout).to.match(/gate\s+│?\s*status/);
    expect(run.stdout).to.include("How to fix");
    expect(run.stdout).to.include("70% of 100 lines in 1 file(s) (min 80%)");
    expect(run.stdout).to.include("bg:attest");
    expect(run.stdout).to.include("release stays staged: a required gate did not pass");
  });

  it("bg:gates keeps a live release's evidence and records the run as a recheck", async () => {
    const p = await project();
    await p.attest(alice.privateKey);
    await p.attest(bob.privateKey);
    const first = onlyJson(await p.hardhat(["bg:gates", "--network", "localMainnet", "--release", "vault-v2", "--json"]));
    await p.store.update(31337, "vault-v2", (r) => transition(transition(r!, "proposed", { actor: "t" }), "live", { actor: "t" }));
    // A live release's proxy runs green.
    const admin = new Contract(p.box.proxyAdmin, ["function upgradeAndCall(address,address,bytes) payable"], p.box.owner);
    await (await admin.getFunction("upgradeAndCall")(p.box.proxy, p.greenAddress, "0x")).wait();
    await writeFile(path.join(p.tmp, "coverage", "lcov.info"), "SF:contracts/Vault.sol\nLF:100\nLH:95\nend_of_record\n");
    const run = await p.hardhat(["bg:gates", "--network", "localMainnet", "--release", "vault-v2", "--json"]);
    const second = onlyJson(run);
    expect(second.storedAs).to.equal("steps.gatesRecheck");
    expect(second.driftBefore.ok).to.equal(false);
    expect(second.driftBefore.problems).to.have.length(1);
    expect(second.driftBefore.problems[0]).to.match(/^evidence file \S*\/coverage\/lcov\.info changed since bg:gates ran$/);
    expect((await p.store.get(31337, "vault-v2"))!.steps.gates!.evidenceHash).to.equal(first.evidenceHash);
  });

  it("bg:gates fails the testnet gate when the configured testnet switch is not a BlueGreenSwitch", async () => {
    const p = await project();
    // The testnet proxy is a contract that can emit logs; it is not the switch.
    const run = await p.hardhat(["bg:gates", "--network", "localMainnet", "--release", "vault-v2", "--json"], { BG_TESTNET_SWITCH: testnetProxy });
    expect(run.code).to.not.equal(0);
    const testnetGate = onlyJson(run).gates.find((g: any) => g.name === "testnet");
    expect(testnetGate.status).to.equal("fail");
    expect(testnetGate.detail).to.match(/^\[BG_TESTNET_NOT_A_SWITCH\] the contract at 0x[0-9a-fA-F]{40} \(from blueGreen.gates.testnet.switch\) on "testnet" is not a BlueGreenSwitch/);
  });

  it("bg:gates fails the replay gate on a replay run in fast mode", async () => {
    const p = await project(90, "fast");
    const run = await p.hardhat(["bg:gates", "--network", "localMainnet", "--release", "vault-v2", "--json"]);
    expect(run.code).to.not.equal(0);
    const replay = onlyJson(run).gates.find((g: any) => g.name === "replay");
    expect(replay.status).to.equal("fail");
    expect(replay.detail).to.match(/^\[BG_REPLAY_NOT_FAITHFUL\]/);
  });

  it("bg:gates does not count an attestation with open mediums that nobody accepted", async () => {
    const p = await project();
    await p.attest(alice.privateKey);
    await p.attest(bob.privateKey, "--medium", "2");
    const run = await p.hardhat(["bg:gates", "--network", "localMainnet", "--release", "vault-v2", "--json"]);
    expect(run.code).to.not.equal(0);
    const audits = onlyJson(run).gates.find((g: any) => g.name === "audits");
    expect(audits.status).to.equal("fail");
    expect(audits.detail).to.include(`[BG_AUDITS_MEDIUMS_NOT_ACCEPTED] ${bob.address} reports 2 open medium(s)`);
  });

  it("bg:gates reads the lcov file `hardhat test --coverage` writes, and fails it below the minimum", async () => {
    // Written by `npx hardhat test solidity --coverage` in this repository (Hardhat 3.18): DA, LF and LH records only.
    const lcov = await readFile(path.join(import.meta.dirname, "hardhat-coverage.lcov.info"), "utf8");
    const sum = (tag: string) => [...lcov.matchAll(new RegExp(`^${tag}:(\\d+)$`, "gm"))].reduce((n, m) => n + Number(m[1]), 0);
    const p = await project(lcov);
    const run = await p.hardhat(["bg:gates", "--network", "localMainnet", "--release", "vault-v2", "--json"]);
    const coverage = onlyJson(run).gates.find((g: any) => g.name === "coverage");
    expect(coverage.evidence).to.include({ linesFound: sum("LF"), linesHit: sum("LH"), files: 20 });
    expect(coverage.status).to.equal("fail");
    expect(coverage.detail).to.match(/^55\.\d+% of 442 lines in 20 file\(s\) \(min 80%\)/);
  });

  it("answers an unknown release as one JSON error document", async () => {
    const p = await project();
    const run = await p.hardhat(["bg:gates", "--network", "localMainnet", "--release", "nope", "--json"]);
    expect(run.code).to.not.equal(0);
    const doc = onlyJson(run);
    expect(doc.ok).to.equal(false);
    expect(doc.error).to.include('No release "nope" on chain 31337');
  });
});
