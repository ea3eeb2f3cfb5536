/**
 * Full releases of every non-transparent proxy kind, on a hardhat node and on
 * anvil, in a user's project (test/release-kinds/project) whose proxies were
 * deployed by OpenZeppelin's own hardhat-upgrades (`deployProxy` with
 * `kind: "uups"`, `deployBeacon` + `deployBeaconProxy`), every bg:* step run
 * on the command line as a user runs it:
 *
 *   adopt → stage → replay → gates → propose → switch → rollback
 *         → a second release: stage → replay → gates → propose → switch → finalize
 *
 * for a UUPS ERC20Votes token (Ownable), a UUPS per-block accrual vault
 * (AccessControl) and a beacon fleet of three small vaults; and the two UUPS
 * greens that must never be proposed: one without upgradeToAndCall (refused by
 * OpenZeppelin's uups validation) and one whose _authorizeUpgrade locks the
 * switch out (refused by bg:stage's rollback-path proof, naming the cause).
 *
 * Both nodes run each kind side by side; one build serves both.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { Interface, JsonRpcProvider, getAddress, parseEther } from "ethers";

import { onlyJson, runHardhat, type CliRun } from "../helpers/cli.js";
import { startNode, type RunningNode } from "../helpers/nodes.js";

const PROJECT = path.join("test", "release-kinds", "project");
const CONFIG = path.join(PROJECT, "hardhat.config.ts");
const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";
const ROLLBACK_WINDOW = 3600;

const TOKEN = new Interface(["function delegate(address)", "function transfer(address,uint256)", "function burn(uint256)", "function getVotes(address) view returns (uint256)"]);
const VAULT = new Interface(["function deposit() payable", "function withdraw(uint256)", "function owed(address) view returns (uint256)"]);
const FLEET = new Interface(["function deposit() payable", "function withdraw(uint256)", "function version() view returns (string)", "function shareBps(address) view returns (uint256)"]);
const BEACON = new Interface(["function implementation() view returns (address)", "function owner() view returns (address)"]);

interface Deployed {
  token: { proxy: string; implementation: string };
  vault: { proxy: string; implementation: string };
  fleet: { beacon: string; implementation: string; proxies: string[] };
}

/** One node with the project's proxies deployed by OpenZeppelin's plugin and a switch whose approver is a plain account. */
interface World {
  node: RunningNode;
  provider: JsonRpcProvider;
  records: string;
  deployed: Deployed;
  approver: string;
  guardian: string;
  /** `npx hardhat <args> --network localMainnet` in the project. */
  hardhat(args: string[]): Promise<CliRun>;
  /** A bg:* command with --json, which must succeed; its JSON document. */
  bg(...args: string[]): Promise<any>;
  /** Sends a call from one of the node's unlocked accounts and waits for it. */
  send(from: number, to: string, data: string, value?: bigint): Promise<void>;
  implementationOf(proxy: string): Promise<string>;
  record(id: string): Promise<any>;
}

describe("UUPS and beacon proxies deployed with hardhat-upgrades: full releases on a hardhat node and on anvil", function () {
  // Generous: each step is a hardhat process, and a loaded machine multiplies their start-up time.
  this.timeout(900_000);
  let build: string;
  const worlds: World[] = [];
  const cleanup: Array<() => Promise<void>> = [];

  async function makeWorld(kind: "hardhat" | "anvil"): Promise<World> {
    const node = await startNode(kind);
    const provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    provider.pollingInterval = 50;
    const records = await mkdtemp(path.join(tmpdir(), `bg-kinds-${kind}-`));
    cleanup.push(async () => {
      provider.destroy();
      await node.stop();
      await rm(records, { recursive: true, force: true });
    });
    const env = {
      BLUEGREEN_RPC_URL: node.url,
      BG_TEST_CACHE: path.join(build, "cache"),
      BG_TEST_ARTIFACTS: path.join(build, "artifacts"),
      BG_TEST_RECORDS: records,
    };
    const hardhat = (args: string[]) => runHardhat(["--config", CONFIG, ...args, "--network", "localMainnet"], env);
    const bg = async (...args: string[]) => {
      const run = await hardhat([...args, "--json"]);
      expect(run.code).to.equal(0, `${kind}: ${args.join(" ")}\n${run.stdout}\n${run.stderr}`);
      return onlyJson(run);
    };
    const deploy = await runHardhat(
      ["--config", CONFIG, "run", "--build-profile", "production", "--network", "localMainnet", path.join(PROJECT, "scripts", "deploy-kinds.ts")],
      { ...env, DEPLOY_KINDS: "1" },
    );
    expect(deploy.code).to.equal(0, deploy.stdout + deploy.stderr);
    const deployed = JSON.parse(deploy.stdout.trim().split("\n").at(-1)!) as Deployed;
    const accounts = (await provider.send("eth_accounts", [])) as string[];
    const approver = getAddress(accounts[1]!);
    const guardian = getAddress(accounts[2]!);
    await bg("bg:init", "--approver", approver, "--guardians", guardian, "--rollback-delay", "60", "--rollback-window", String(ROLLBACK_WINDOW));
    return {
      node,
      provider,
      records,
      deployed,
      approver,
      guardian,
      hardhat,
      bg,
      send: async (from, to, data, value = 0n) => {
        const signer = await provider.getSigner(from);
        const receipt = await (await signer.sendTransaction({ to, data, value, gasLimit: 500_000 })).wait();
        expect(receipt?.status).to.equal(1);
      },
      implementationOf: async (proxy) => getAddress("0x" + (await provider.getStorage(proxy, IMPLEMENTATION_SLOT)).slice(-40)),
      record: async (id) => JSON.parse(await readFile(path.join(records, "31337", id, "release.json"), "utf8")),
    };
  }

  before(async () => {
    build = await mkdtemp(path.join(tmpdir(), "bg-kinds-build-"));
    cleanup.push(() => rm(build, { recursive: true, force: true }));
    // One after the other: the first compiles the project, the second finds the build done.
    worlds.push(await makeWorld("hardhat"));
    worlds.push(await makeWorld("anvil"));
  });

  after(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => {});
  });

  /** Both nodes, side by side. */
  const onEachNode = (story: (w: World) => Promise<void>) => Promise.all(worlds.map(story));

  /**
   * stage → replay → gates → propose → switch of one release, checking each
   * step's JSON; returns the staged green.
   */
  async function releaseLive(w: World, o: { proxy: string; contract: string; id: string; range: [number, number]; kind: string }): Promise<string> {
    const staged = await w.bg("bg:stage", "--proxy", o.proxy, "--contract", o.contract, "--release", o.id);
    expect(staged.kind).to.equal(o.kind);
    const green = getAddress(staged.green.address);
    const replay = await w.bg("bg:replay", "--release", o.id, "--from-block", String(o.range[0]), "--to-block", String(o.range[1]));
    expect(replay.verdict, JSON.stringify(replay)).to.equal("clean");
    const gates = await w.bg("bg:gates", "--release", o.id);
    expect(gates.ok).to.equal(true);
    const rollbackPath = gates.gates.find((g: { name: string }) => g.name === "rollbackPath");
    expect(rollbackPath, JSON.stringify(gates.gates)).to.deep.include({ status: "pass" });
    expect(rollbackPath.detail).to.include(o.kind === "beacon" ? "(beacon)" : "(uups)");
    const proposed = await w.bg("bg:propose", "--release", o.id);
    expect(proposed.ok).to.equal(true);
    const summary = await readFile(path.join(w.records, "31337", o.id, "summary.md"), "utf8");
    // Signers read what kind of proxy moves, and who holds its upgrade authority.
    expect(summary).to.match(o.kind === "beacon" ? /beacon: the switch owns beacon .*EVERY BeaconProxy/ : /UUPS proxy: the switch is its upgrade authority/);
    expect(summary).to.not.include("ProxyAdmin");
    const switched = await w.bg("bg:switch", "--release", o.id, "--signer", w.approver);
    expect(getAddress(switched.implementation)).to.equal(green);
    expect((await w.record(o.id)).state).to.equal("live");
    return green;
  }

  /** Blocks of traffic made by `traffic`, as a replay range. */
  async function trafficRange(w: World, traffic: () => Promise<void>): Promise<[number, number]> {
    const from = (await w.provider.getBlockNumber()) + 1;
    await traffic();
    return [from, await w.provider.getBlockNumber()];
  }

  async function windowPasses(w: World): Promise<void> {
    await w.provider.send("evm_increaseTime", [ROLLBACK_WINDOW + 60]);
    await w.provider.send("evm_mine", []);
  }

  it("UUPS, Ownable (an ERC20Votes token): green without upgradeToAndCall and a green that locks the switch out are refused; then release, rollback, second release, finalize", async () => {
    await onEachNode(async (w) => {
      const { proxy, implementation: v1 } = w.deployed.token;

      // (Before adoption the proof stands the future authority in for the switch: test/stage/proxy-kinds.test.ts.)
      const adopted = await w.bg("bg:adopt", "--proxy", proxy);
      expect(adopted.kind ?? adopted.proxyKind, JSON.stringify(adopted)).to.match(/uups/i);
      const nonce = await w.provider.getTransactionCount((await w.provider.getSigner(0)).address);

      // After adoption the proof acts as the switch itself, and names the switch it refused.
      const locked = await w.hardhat(["bg:stage", "--proxy", proxy, "--contract", "VotesTokenGovernedV2", "--release", "governed", "--json"]);
      expect(locked.code).to.equal(1);
      const lockedError = onlyJson(locked);
      expect(lockedError.code).to.equal("BG_STAGE_ROLLBACK_PATH_BLOCKED");
      const sw = JSON.parse(await readFile(path.join(w.records, "31337", "switch.json"), "utf8")).address as string;
      expect(lockedError.error).to.include(`acting as the switch ${getAddress(sw)}`);
      expect(lockedError.error).to.include(`NotGovernor(${getAddress(sw)})`);

      const final = await w.hardhat(["bg:stage", "--proxy", proxy, "--contract", "VotesTokenFinalV2", "--release", "final", "--json"]);
      expect(final.code).to.equal(1);
      const finalError = onlyJson(final);
      expect(finalError.code).to.equal("BG_UPGRADE_UNSAFE");
      expect(finalError.error).to.include("missing a public `upgradeTo(address)` or `upgradeToAndCall(address,bytes)` function");
      // Neither refused green was deployed, nor a release recorded.
      expect(await w.provider.getTransactionCount((await w.provider.getSigner(0)).address)).to.equal(nonce);
      expect(existsSync(path.join(w.records, "31337", "governed"))).to.equal(false);
      expect(existsSync(path.join(w.records, "31337", "final"))).to.equal(false);

      const holder = 3;
      const other = (await w.provider.getSigner(4)).address;
      const range = await trafficRange(w, async () => {
        await w.send(holder, proxy, TOKEN.encodeFunctionData("delegate", [(await w.provider.getSigner(holder)).address]));
        await w.send(holder, proxy, TOKEN.encodeFunctionData("transfer", [other, parseEther("1000")]));
        await w.send(4, proxy, TOKEN.encodeFunctionData("delegate", [other]));
        await w.send(holder, proxy, TOKEN.encodeFunctionData("transfer", [other, parseEther("5")]));
      });

      const green = await releaseLive(w, { proxy, contract: "VotesTokenV2", id: "votes-v2", range, kind: "uups" });
      expect(await w.implementationOf(proxy)).to.equal(green);
      const staged = await w.record("votes-v2");
      expect(staged.steps.rollbackPath).to.deep.include({ ok: true, as: "switch", actor: getAddress(sw) });
      // Green's new function works on the holders' real state.
      await w.send(4, proxy, TOKEN.encodeFunctionData("burn", [parseEther("1")]));

      const rolledBack = await w.bg("bg:rollback", "--release", "votes-v2", "--now", "--signer", w.approver);
      expect(rolledBack.state).to.equal("rolled-back");
      expect(await w.implementationOf(proxy)).to.equal(getAddress(v1));

      const green3 = await releaseLive(w, { proxy, contract: "VotesTokenV3", id: "votes-v3", range, kind: "uups" });
      await windowPasses(w);
      const finalized = await w.bg("bg:finalize", "--release", "votes-v3");
      expect(JSON.stringify(finalized)).to.match(/finalized/);
      expect((await w.record("votes-v3")).state).to.equal("finalized");
      expect(await w.implementationOf(proxy)).to.equal(green3);
    });
  });

  it("UUPS, AccessControl (a per-block accrual vault): the switch gets the upgrader role; release, rollback, second release, finalize", async () => {
    await onEachNode(async (w) => {
      const { proxy, implementation: v1 } = w.deployed.vault;
      const adopted = await w.bg("bg:adopt", "--proxy", proxy, "--role", "UPGRADER_ROLE");
      expect(JSON.stringify(adopted)).to.match(/access/i);

      const range = await trafficRange(w, async () => {
        await w.send(3, proxy, VAULT.encodeFunctionData("deposit"), parseEther("2"));
        await w.send(4, proxy, VAULT.encodeFunctionData("deposit"), parseEther("1"));
        await w.send(3, proxy, VAULT.encodeFunctionData("withdraw", [parseEther("0.5")]));
        await w.send(4, proxy, VAULT.encodeFunctionData("deposit"), parseEther("1"));
      });
      const green = await releaseLive(w, { proxy, contract: "AccrualVaultV2", id: "vault-v2", range, kind: "uups" });
      expect(await w.implementationOf(proxy)).to.equal(green);
      expect((await w.record("vault-v2")).steps.rollbackPath).to.deep.include({ ok: true, as: "switch" });
      // Green reads what blue accrued per block.
      const owed = VAULT.decodeFunctionResult("owed", await w.provider.call({ to: proxy, data: VAULT.encodeFunctionData("owed", [(await w.provider.getSigner(3)).address]) }))[0] as bigint;
      expect(owed > 0n).to.equal(true);

      await w.bg("bg:rollback", "--release", "vault-v2", "--now", "--signer", w.approver);
      expect(await w.implementationOf(proxy)).to.equal(getAddress(v1));
      expect((await w.record("vault-v2")).state).to.equal("rolled-back");

      const green3 = await releaseLive(w, { proxy, contract: "AccrualVaultV3", id: "vault-v3", range, kind: "uups" });
      await windowPasses(w);
      await w.bg("bg:finalize", "--release", "vault-v3");
      expect((await w.record("vault-v3")).state).to.equal("finalized");
      expect(await w.implementationOf(proxy)).to.equal(green3);
    });
  });

  it("beacon with three BeaconProxies (a fleet of vaults): staged through one proxy, every proxy moves with the beacon; rollback, second release, finalize", async () => {
    await onEachNode(async (w) => {
      const { beacon, implementation: v1, proxies } = w.deployed.fleet;
      const version = async (p: string) => FLEET.decodeFunctionResult("version", await w.provider.call({ to: p, data: FLEET.encodeFunctionData("version") }))[0] as string;
      const beaconImplementation = async () => getAddress(BEACON.decodeFunctionResult("implementation", await w.provider.call({ to: beacon, data: BEACON.encodeFunctionData("implementation") }))[0] as string);

      await w.bg("bg:adopt", "--proxy", proxies[1]!);
      const owner = BEACON.decodeFunctionResult("owner", await w.provider.call({ to: beacon, data: BEACON.encodeFunctionData("owner") }))[0] as string;
      const sw = JSON.parse(await readFile(path.join(w.records, "31337", "switch.json"), "utf8")).address as string;
      expect(getAddress(owner)).to.equal(getAddress(sw));

      const range = await trafficRange(w, async () => {
        await w.send(3, proxies[0]!, FLEET.encodeFunctionData("deposit"), parseEther("1"));
        await w.send(4, proxies[1]!, FLEET.encodeFunctionData("deposit"), parseEther("2"));
        await w.send(5, proxies[2]!, FLEET.encodeFunctionData("deposit"), parseEther("3"));
        await w.send(4, proxies[1]!, FLEET.encodeFunctionData("withdraw", [parseEther("1")]));
      });
      // Staged through a BeaconProxy: the release is the beacon's.
      const green = await releaseLive(w, { proxy: proxies[0]!, contract: "FleetVaultV2", id: "fleet-v2", range, kind: "beacon" });
      const record = await w.record("fleet-v2");
      expect(getAddress(record.proxy)).to.equal(getAddress(beacon));
      expect(await beaconImplementation()).to.equal(green);
      for (const p of proxies) expect(await version(p)).to.equal("2");

      await w.bg("bg:rollback", "--release", "fleet-v2", "--now", "--signer", w.approver);
      expect(await beaconImplementation()).to.equal(getAddress(v1));
      for (const p of proxies) expect(await version(p)).to.equal("1");

      await releaseLive(w, { proxy: beacon, contract: "FleetVaultV3", id: "fleet-v3", range, kind: "beacon" });
      for (const p of proxies) expect(await version(p)).to.equal("3");
      await windowPasses(w);
      await w.bg("bg:finalize", "--release", "fleet-v3");
      expect((await w.record("fleet-v3")).state).to.equal("finalized");
      // The fleet's deposits survived both switches and the rollback.
      const share = FLEET.decodeFunctionResult("shareBps", await w.provider.call({ to: proxies[2]!, data: FLEET.encodeFunctionData("shareBps", [(await w.provider.getSigner(5)).address]) }))[0] as bigint;
      expect(share).to.equal(10_000n);
    });
  });
});
