/**
 * Issue 19 for bg:init and bg:adopt: the switch is deployed exactly once and
 * each adoption step is sent exactly once, across a run that dies while its
 * transaction is pending (anvil, automine off); bg:init wants guardians, or
 * an explicit --no-guardians.
 */
import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { Contract, JsonRpcProvider, getAddress, getCreateAddress } from "ethers";

import { ReleaseStore } from "../../src/release/store.js";
import { adoptJournalName, adoptProxy } from "../../src/switch/adopt-proxy.js";
import { NO_GUARDIANS_WARNING, SWITCH_DEPLOY_JOURNAL, initSwitch } from "../../src/switch/deploy-switch.js";
import { listOrphanedDeployments } from "../../src/switch/orphans.js";
import { deployBoxBehindProxy, type DeployedBox } from "../helpers/box.js";
import { onlyJson, runHardhat } from "../helpers/cli.js";
import { type RunningNode, startNode } from "../helpers/nodes.js";

const CONFIG = path.join("test", "switch", "cli-project", "hardhat.config.ts");
const CHAIN = 31337;

describe("bg:init and bg:adopt send exactly once (anvil)", function () {
  let node: RunningNode;
  let box: DeployedBox;
  let provider: JsonRpcProvider;
  let deployer: string;
  let guardian: string;
  let store: ReleaseStore;

  before(async () => {
    node = await startNode("anvil");
    box = await deployBoxBehindProxy(node.url);
    provider = box.provider;
    deployer = await box.owner.getAddress();
    guardian = getAddress(((await provider.send("eth_accounts", [])) as string[])[2]!);
  });
  after(async () => {
    await node?.stop();
  });
  beforeEach(async () => {
    store = new ReleaseStore(await mkdtemp(path.join(tmpdir(), "bg-switch-once-")));
  });
  afterEach(async () => {
    await provider.send("evm_setAutomine", [true]);
  });

  const eip1193 = { request: ({ method, params }: { method: string; params?: unknown }) => provider.send(method, (params as unknown[]) ?? []) };
  const nonceOf = async (account: string) => Number(await provider.send("eth_getTransactionCount", [account, "latest"]));
  const parameters = () => ({ approver: deployer, guardians: [guardian], rollbackDelay: 3600, rollbackWindow: 604800 });
  const init = (extra: Partial<Parameters<typeof initSwitch>[0]> = {}) =>
    initSwitch({ store, chainId: CHAIN, networkName: "anvil", provider, eip1193, signer: box.owner, parameters: parameters(), sending: { pollMs: 50 }, ...extra });

  /** Runs `run` while mining a block now and then, until it settles. */
  async function whileMining<T>(run: Promise<T>): Promise<T> {
    let settled = false;
    const done = run.finally(() => (settled = true));
    while (!settled) {
      await provider.send("evm_mine", []);
      await Promise.race([done.catch(() => undefined), new Promise((r) => setTimeout(r, 200))]);
    }
    return done;
  }

  it("a bg:init re-run while the switch deploy is pending finds that deploy: one switch, at the journaled nonce", async () => {
    await provider.send("evm_setAutomine", [false]);
    const nonce = await nonceOf(deployer);
    let sent = "";
    let crash = "";
    await init({
      afterBroadcast: (hash) => {
        sent = hash;
        throw new Error("simulated crash after broadcast");
      },
    }).catch((e: Error) => (crash = e.message));
    expect(crash).to.equal("simulated crash after broadcast");
    expect(await readdir(store.chainDir(CHAIN))).to.include(SWITCH_DEPLOY_JOURNAL);
    expect(await provider.send("eth_getTransactionReceipt", [sent])).to.equal(null);

    const lines: string[] = [];
    const result = await init({
      log: (line) => {
        lines.push(line);
        if (line.includes("still pending")) void provider.send("evm_mine", []);
      },
    });
    expect(lines).to.include(`Resuming the journaled deploy of the switch at nonce ${nonce} of ${deployer}...`);
    expect(result.reused).to.equal(false);
    expect(result.file.address).to.equal(getCreateAddress({ from: deployer, nonce }));
    expect(result.file.deployTx).to.equal(sent);
    expect(await nonceOf(deployer)).to.equal(nonce + 1);
    expect(await readdir(store.chainDir(CHAIN))).to.not.include(SWITCH_DEPLOY_JOURNAL);
    expect(await listOrphanedDeployments({ store, provider: eip1193, chainId: CHAIN })).to.deep.equal([]);
  });

  it("refuses a bg:init with other settings than a journaled, unfinished switch deploy", async () => {
    await provider.send("evm_setAutomine", [false]);
    await init({ afterBroadcast: () => Promise.reject(new Error("crash")) }).catch(() => undefined);
    let message = "";
    await init({ parameters: { ...parameters(), rollbackDelay: 600 } }).catch((e: Error) => (message = e.message));
    expect(message).to.match(
      /^\[BG_SWITCH_DEPLOY_JOURNALED\] An interrupted bg:init journaled a switch deploy with other settings \(rollback delay 3600s, not 600s\) in .*pending-switch\.json, at nonce \d+ of 0x[0-9a-fA-F]{40}\. Run bg:init again with those settings to finish that deploy \(it may still land\), or, if it never reached the chain, delete that file\.$/,
    );
    await whileMining(init());
  });

  it("a bg:adopt re-run while the ownership transfer is pending waits for it, then adopts: each step sent once", async () => {
    await provider.send("evm_setAutomine", [true]);
    const sw = (await init()).file.address;
    const fresh = await deployBoxBehindProxy(node.url);
    await provider.send("evm_setAutomine", [false]);
    const nonce = await nonceOf(deployer);
    const options = {
      provider: eip1193,
      ethersProvider: provider,
      signers: [box.owner],
      switchAddress: sw,
      proxy: fresh.proxy,
      networkName: "anvil",
      journal: { store, chainId: CHAIN },
      sending: { pollMs: 50 },
    };
    let sent = "";
    const crash = await adoptProxy({
      ...options,
      afterBroadcast: (hash) => {
        sent = hash;
        throw new Error("simulated crash after broadcast");
      },
    }).catch((e: Error) => e.message);
    expect(crash).to.equal("simulated crash after broadcast");
    expect(await readdir(store.chainDir(CHAIN))).to.include(adoptJournalName(fresh.proxy));

    const result = await whileMining(adoptProxy(options));
    expect(result.ok).to.equal(true);
    expect(result.ownershipTransferTx).to.equal(sent);
    expect(result.adoptTx).to.match(/^0x[0-9a-f]{64}$/);
    // Two transactions in all: the transfer (once) and adopt.
    expect(await nonceOf(deployer)).to.equal(nonce + 2);
    const admin = new Contract(fresh.proxyAdmin, ["function owner() view returns (address)"], provider);
    expect(await admin.getFunction("owner")()).to.equal(sw);
    expect(await readdir(store.chainDir(CHAIN))).to.not.include(adoptJournalName(fresh.proxy));
  });

  describe("bg:init on the command line: guardians are required unless --no-guardians", function () {
    let env: Record<string, string>;
    before(async () => {
      const scratch = await mkdtemp(path.join(tmpdir(), "bg-switch-guardians-"));
      env = { BLUEGREEN_RPC_URL: node.url, BG_TEST_CACHE: path.join(scratch, "cache"), BG_TEST_ARTIFACTS: path.join(scratch, "artifacts") };
    });
    beforeEach(async () => {
      env.BG_TEST_RECORDS = await mkdtemp(path.join(tmpdir(), "bg-switch-guardians-records-"));
    });
    const hardhat = (...args: string[]) => runHardhat(["--config", CONFIG, "--network", "localMainnet", ...args], env);

    it("refuses bg:init without --guardians, deploying nothing", async () => {
      const nonce = await nonceOf(deployer);
      const run = await hardhat("bg:init", "--approver", deployer, "--json");
      expect(run.code).to.equal(1);
      expect(onlyJson(run)).to.deep.equal({
        ok: false,
        error:
          "[BG_SWITCH_NO_GUARDIANS] Missing --guardians. Pass at least one guardian, who may schedule a rollback: --guardians 0x…,0x…. " +
          "Without one only the approver can start a rollback, and bg:monitor cannot roll back automatically; to deploy so anyway, pass --no-guardians.",
        code: "BG_SWITCH_NO_GUARDIANS",
        docs: "hardhat-bluegreen/docs/errors.md#bg_switch_no_guardians",
      });
      expect(await nonceOf(deployer)).to.equal(nonce);
    });

    it("refuses --guardians together with --no-guardians", async () => {
      const run = await hardhat("bg:init", "--approver", deployer, "--guardians", guardian, "--no-guardians", "--json");
      expect(run.code).to.equal(1);
      expect(onlyJson(run).error).to.equal(
        "[BG_SWITCH_OPTIONS] --guardians and --no-guardians contradict each other. Pass guardians, or --no-guardians to deploy without any.",
      );
    });

    it("deploys without guardians with --no-guardians, and warns (also in --json)", async () => {
      const run = await hardhat("bg:init", "--approver", deployer, "--no-guardians", "--json");
      expect(run.code).to.equal(0, run.stderr);
      const doc = onlyJson(run);
      expect(doc).to.deep.include({ ok: true, guardians: [], reused: false });
      expect(doc.warnings).to.deep.equal([NO_GUARDIANS_WARNING]);
      expect(NO_GUARDIANS_WARNING).to.equal(
        "The switch has no guardian (--no-guardians): only the approver can start a rollback, and bg:monitor cannot roll back automatically. " +
          "Add one later through the approver: npx hardhat bg:call propose --function addGuardian --args '[\"<guardian>\"]'.",
      );
      const people = await hardhat("bg:init", "--approver", deployer, "--no-guardians");
      expect(people.code).to.equal(0, people.stderr);
      expect(people.stdout + people.stderr).to.include("The switch has no guardian (--no-guardians)");
    });
  });
});
