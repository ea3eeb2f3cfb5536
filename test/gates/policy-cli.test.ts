/**
 * The gates that re-check the chain and the build, run as a user runs them:
 * `bg:stage` puts a real green (BoxV2) beside a real blue on an anvil
 * "mainnet", a real switch with a guardian stands on that chain, and
 * `bg:gates` / `bg:propose` run through the CLI with the gates each test
 * configures (test/gates/policy-project).
 */
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { Contract, ContractFactory, Wallet } from "ethers";

import { ReleaseStore } from "../../src/release/store.js";
import { deploySwitch } from "../../src/switch/deploy-switch.js";
import { writeSwitchFile } from "../../src/switch/switch-file.js";
import { deployBoxBehindProxy, readArtifact } from "../helpers/box.js";
import { onlyJson, runHardhat, type CliRun } from "../helpers/cli.js";
import { startNode, type RunningNode } from "../helpers/nodes.js";

const CONFIG = path.join("test", "gates", "policy-project", "hardhat.config.ts");
/** anvil's first dev account: a public test key, given through the environment as a user would. */
const ANVIL_KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const guardian = new Wallet("0x" + "9a".repeat(32));
const stranger = new Wallet("0x" + "5b".repeat(32));

describe("the live gates on the command line (upgradeSafety, source, observability, secrets, fail closed)", function () {
  let node: RunningNode;

  before(async () => {
    node = await startNode("anvil");
  });
  after(async () => node?.stop());

  /** A fresh project: records in a temp folder, a switch with one guardian, and a proxy with blue (BoxV1) staged to green (BoxV2). */
  async function staged(release = "box-v2") {
    const tmp = await mkdtemp(path.join(tmpdir(), "bg-policy-cli-"));
    const box = await deployBoxBehindProxy(node.url);
    const store = new ReleaseStore(path.join(tmp, ".bluegreen"));
    const approver = await box.provider.getSigner(1);
    const deployment = await deploySwitch(box.owner, { approver: await approver.getAddress(), guardians: [guardian.address], rollbackDelay: 3600, rollbackWindow: 7 * 86_400 });
    await writeSwitchFile(store, {
      schemaVersion: 1,
      chainId: 31337,
      address: deployment.address,
      approver: await approver.getAddress(),
      guardians: [guardian.address],
      rollbackDelay: 3600,
      rollbackWindow: 7 * 86_400,
      deployTx: deployment.deployTx,
      blockNumber: deployment.blockNumber,
      deployedAt: deployment.deployedAt,
    });
    const env = { BG_TEST_TMP: tmp, BLUEGREEN_RPC_URL: node.url, BG_DEPLOYER_KEY: ANVIL_KEY_0 };
    const hardhat = (args: string[], gates: Record<string, unknown>, extra: Record<string, string> = {}) =>
      runHardhat(["--config", CONFIG, ...args], { ...env, BG_GATES: JSON.stringify(gates), ...extra });
    const stage = await hardhat(["bg:stage", "--network", "localMainnet", "--proxy", box.proxy, "--contract", "BoxV2", "--reference", "BoxV1", "--release", release, "--json"], {});
    expect(stage.code).to.equal(0, stage.stderr + stage.stdout);
    const gates = (g: Record<string, unknown>, extra: Record<string, string> = {}) =>
      hardhat(["bg:gates", "--network", "localMainnet", "--release", release, "--json"], g, extra);
    return { tmp, box, store, release, switchAddress: deployment.address, hardhat, gates };
  }

  const gate = (run: CliRun, name: string) => {
    const doc = onlyJson(run);
    const found = doc.gates.find((g: any) => g.name === name);
    expect(found, `gate ${name} in ${run.stdout}`).to.not.equal(undefined);
    return found;
  };

  it("passes upgradeSafety, source, observability and secrets on a real release, and writes the runbook, alert rules, dashboard and build info as evidence", async () => {
    const p = await staged();
    const run = await p.gates({ upgradeSafety: {}, source: {}, observability: { guardian: guardian.address }, secrets: {} });
    expect(run.code).to.equal(0, run.stderr + run.stdout);
    const doc = onlyJson(run);
    expect(doc).to.include({ ok: true, state: "gated" });
    expect(doc.gates.filter((g: any) => g.status !== "not-configured").map((g: any) => [g.name, g.status])).to.deep.equal([
      ["upgradeSafety", "pass"],
      ["source", "pass"],
      ["observability", "pass"],
      ["secrets", "pass"],
    ]);
    expect(gate(run, "upgradeSafety").detail).to.match(/^re-validated against the chain now: proxy runs blue 0x/);
    expect(gate(run, "source").evidence).to.include({ match: "full", buildProfile: "production" });
    expect(gate(run, "secrets").detail).to.include('localMainnet: 1 account(s)');

    const dir = p.store.releaseDir(31337, p.release);
    const record = (await p.store.get(31337, p.release))!;
    const evidenceFiles = (record.steps.gates as any).evidenceFiles.map((f: any) => path.basename(f.path)).sort();
    expect(evidenceFiles).to.deep.equal(["alerts.rules.yml", "grafana-dashboard.json", "green-build-info.json", "runbook.md"]);
    const runbook = await readFile(path.join(dir, "runbook.md"), "utf8");
    for (const fact of [p.box.proxy, record.blue.address, record.green.address, p.switchAddress, guardian.address]) expect(runbook).to.include(fact);
    expect(runbook).to.include(`npx hardhat bg:rollback --network localMainnet --release ${p.release} --signer <guardian>`);
    expect(runbook).to.include(`npx hardhat bg:rollback --network localMainnet --release ${p.release} --cancel --signer <canceller>`);
    expect(runbook).to.include(`npx hardhat bg:finalize --network localMainnet --release ${p.release}`);
    expect(await readFile(path.join(dir, "alerts.rules.yml"), "utf8")).to.include('expr: "max(bluegreen_analysis_phase{phase=\\"Failed\\"}) == 1"');
    const dashboard = JSON.parse(await readFile(path.join(dir, "grafana-dashboard.json"), "utf8"));
    expect(dashboard.panels.length).to.be.greaterThan(3);
    const buildInfo = JSON.parse(await readFile(path.join(dir, "green-build-info.json"), "utf8"));
    expect(buildInfo).to.include({ kind: "hardhat-bluegreen/green-build", contract: "contracts/examples/BoxV2.sol:BoxV2", buildProfile: "production" });
    expect(buildInfo.input.sources).to.have.property("project/contracts/examples/BoxV2.sol");

    // The same release and evidence give the same hash: the written files are deterministic.
    const again = onlyJson(await p.gates({ upgradeSafety: {}, source: {}, observability: { guardian: guardian.address }, secrets: {} }));
    expect(again.evidenceHash).to.equal(doc.evidenceHash);
  });

  it("fails upgradeSafety when the proxy was upgraded outside the release, naming what it runs now", async () => {
    const p = await staged();
    // Someone upgrades the proxy behind the release's back (the ProxyAdmin still belongs to the deployer here).
    const v2 = await readArtifact("contracts/examples/BoxV2.sol", "BoxV2");
    const other = await new ContractFactory(v2.abi, v2.bytecode, p.box.owner).deploy();
    await other.waitForDeployment();
    const admin = new Contract(p.box.proxyAdmin, ["function upgradeAndCall(address,address,bytes) payable"], p.box.owner);
    await (await admin.getFunction("upgradeAndCall")(p.box.proxy, await other.getAddress(), "0x")).wait();
    const run = await p.gates({ upgradeSafety: {} });
    expect(run.code).to.not.equal(0);
    const g = gate(run, "upgradeSafety");
    expect(g.status).to.equal("fail");
    expect(g.detail).to.include("[BG_BLUE_MOVED]").and.include((await other.getAddress()).toLowerCase());
    expect(g.fix).to.include("bg:stage");
    expect(onlyJson(run).state).to.equal("staged");
  });

  it("fails the source gate when the project's compiler settings changed since staging, and names the metadata difference", async () => {
    const p = await staged();
    // The project's production profile now targets cancun: the same code for BoxV2, but the
    // metadata no longer proves the settings green was built with.
    const settings = { BG_SOLC_SETTINGS: JSON.stringify({ optimizer: { enabled: true, runs: 200 }, evmVersion: "cancun" }) };
    const run = await p.gates({ source: {} }, settings);
    expect(run.code).to.not.equal(0, run.stdout + run.stderr);
    const g = gate(run, "source");
    expect(g.status).to.equal("fail");
    expect(g.detail).to.match(/^\[BG_SOURCE_METADATA\] green's runtime code is a partial match of contracts\/examples\/BoxV2\.sol:BoxV2 built at profile "production"/);
    expect(g.evidence.match).to.equal("partial");
    expect(g.fix).to.include("allowMetadataMismatch");
    // A team that accepts a metadata-only difference says so, and it is recorded.
    const accepted = await p.gates({ source: { allowMetadataMismatch: true } }, settings);
    expect(accepted.code).to.equal(0, accepted.stdout + accepted.stderr);
    expect(gate(accepted, "source").evidence.match).to.equal("partial");
  });

  it("fails observability when the configured guardian is not the switch's, or the monitor has no failure condition", async () => {
    const p = await staged();
    const notGuardian = await p.gates({ observability: { guardian: stranger.address } });
    expect(notGuardian.code).to.not.equal(0);
    expect(gate(notGuardian, "observability").detail).to.include(`[BG_OBSERVABILITY_NOT_GUARDIAN] ${stranger.address}`).and.include(guardian.address);

    const dry = JSON.stringify({ metrics: [{ name: "revert-rate", kind: "revertRate", dryRun: true, failureCondition: "result > 0.1" }] });
    const noCondition = await p.gates({ observability: { noAutoRollback: { reason: "the guardian key is offline this week" } } }, { BG_MONITOR: dry });
    expect(noCondition.code).to.not.equal(0);
    expect(gate(noCondition, "observability").detail).to.match(/^\[BG_OBSERVABILITY_NO_FAILURE_CONDITION\]/);
  });

  it("fails the secrets gate on a key written into the config, naming network and index but never the key", async () => {
    const p = await staged();
    const run = await p.gates({ secrets: {} }, { BG_LITERAL_KEY: ANVIL_KEY_0 });
    expect(run.code).to.not.equal(0);
    const g = gate(run, "secrets");
    expect(g.detail).to.equal('[BG_SECRETS_LITERAL_KEY] a key is written into hardhat.config.ts: network "localMainnet" account 0');
    expect(g.code).to.equal("BG_SECRETS_LITERAL_KEY");
    expect(run.stdout + run.stderr).to.not.include(ANVIL_KEY_0.slice(2));
    const record = await readFile(p.store.recordPath(31337, p.release), "utf8");
    expect(record).to.not.include(ANVIL_KEY_0.slice(2));
  });

  it("fails closed: no gate configured leaves the release ungated and bg:propose refuses it; a waiver is recorded and shown", async () => {
    const p = await staged();
    const none = await p.gates({});
    expect(none.code).to.not.equal(0);
    expect(onlyJson(none).noGates).to.include("[BG_GATES_NONE]");
    expect(onlyJson(none).state).to.equal("staged");
    const propose = await p.hardhat(["bg:propose", "--network", "localMainnet", "--release", p.release, "--json"], {});
    expect(propose.code).to.not.equal(0);
    expect(onlyJson(propose).error).to.include("[BG_GATES_NONE]");
    expect(onlyJson(propose).code).to.equal("BG_GATES_NONE");

    const reason = "a local rehearsal release; nothing of value behind this proxy";
    const waived = await p.gates({ waive: { reason } });
    expect(waived.code).to.equal(0, waived.stdout + waived.stderr);
    expect(onlyJson(waived)).to.deep.include({ ok: true, state: "gated", waiver: { reason } });
    const people = await p.hardhat(["bg:gates", "--network", "localMainnet", "--release", p.release], { waive: { reason } });
    expect(people.stdout).to.include(`Gates WAIVED by blueGreen.gates.waive: ${reason}`);
  });

  it("refuses a typo in the gates config before any command runs, suggesting the right key", async () => {
    const p = await staged();
    const run = await p.hardhat(["bg:gates", "--network", "localMainnet", "--release", p.release], { upgradeSafty: {} });
    expect(run.code).to.not.equal(0);
    expect(run.stdout + run.stderr).to.include('blueGreen.gates.upgradeSafty').and.include('did you mean "upgradeSafety"?');
  });
});
