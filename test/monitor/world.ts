/**
 * A chain for the monitor tests, on a separate Hardhat node: a real
 * BlueGreenSwitch (plain-account approver, one guardian), meters behind real
 * OpenZeppelin v5 transparent proxies adopted by the switch, a release
 * record, and helpers to promote green and make traffic.
 *
 * Green is promoted directly by the approver account (the Safe path is
 * tested with the approval steps); the record is moved to `live` the way
 * bg:switch would.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { Contract, ContractFactory, Interface, JsonRpcProvider, type JsonRpcSigner, getAddress, keccak256 } from "ethers";

import { RECORD_SCHEMA_VERSION, type ReleaseRecord, transition } from "../../src/release/record.js";
import { ReleaseStore } from "../../src/release/store.js";
import { type MonitorConfig, type MonitorUserConfig, resolveMonitorConfig } from "../../src/monitor/config.js";
import { readCheckpoint } from "../../src/monitor/checkpoint.js";
import type { LogLine, MonitorLog } from "../../src/monitor/json-log.js";
import { addToTotals, emptyTotals, mergeTotals } from "../../src/monitor/traffic-metrics.js";
import { adoptProxy } from "../../src/switch/adopt-proxy.js";
import { initSwitch } from "../../src/switch/deploy-switch.js";
import { type SwitchFile, writeSwitchFile } from "../../src/switch/switch-file.js";
import { readArtifact } from "../helpers/box.js";
import { type RunningNode, startNode } from "../helpers/nodes.js";
import { httpEip1193 } from "./rpc-faults.js";

const METERS = "contracts/test/monitor/MonitorMeters.sol";
const PROXY = "@openzeppelin/contracts/proxy/transparent/TransparentUpgradeableProxy.sol";
export const EVIDENCE = keccak256("0x6d6f6e69746f72");
export const ROLLBACK_DELAY = 60;

export type GreenKind = "MonitorMeterV2" | "MonitorMeterV2Breaking";

export interface MonitorWorld {
  node: RunningNode;
  provider: JsonRpcProvider;
  chainId: number;
  deployer: JsonRpcSigner;
  approver: JsonRpcSigner;
  guardian: JsonRpcSigner;
  user: JsonRpcSigner;
  owner: JsonRpcSigner;
  switchAddress: string;
  /** The chain's switch.json, copied into each test's records folder. */
  switchFile: SwitchFile;
  sw: Contract;
  blue: string;
  /** The fleet: proxies running blue, adopted by the switch. */
  proxies: string[];
  router: string;
  meter: Interface;
  stop(): Promise<void>;
}

async function deploy(signer: JsonRpcSigner, source: string, name: string, args: unknown[] = []): Promise<Contract> {
  const artifact = await readArtifact(source, name);
  const contract = await new ContractFactory(artifact.abi, artifact.bytecode, signer).deploy(...args);
  await contract.waitForDeployment();
  return contract as Contract;
}

/** Starts a node with a switch and `fleet` adopted meter proxies running blue. */
export async function startWorld(fleet = 1): Promise<MonitorWorld> {
  const node = await startNode("hardhat");
  const provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true, cacheTimeout: -1, batchMaxCount: 1 });
  provider.pollingInterval = 100;
  const [deployer, approver, guardian, user, owner] = await Promise.all([0, 1, 2, 3, 4].map((i) => provider.getSigner(i)));
  const chainId = Number((await provider.getNetwork()).chainId);
  const setupStore = new ReleaseStore(await mkdtemp(path.join(tmpdir(), "bg-monitor-setup-")));
  const init = await initSwitch({
    store: setupStore,
    chainId,
    networkName: "hardhat-node",
    provider,
    signer: deployer!,
    parameters: { approver: await approver!.getAddress(), guardians: [await guardian!.getAddress()], rollbackDelay: ROLLBACK_DELAY, rollbackWindow: 3600 },
  });
  const switchAddress = init.file.address;
  const blueContract = await deploy(deployer!, METERS, "MonitorMeterV1");
  const blue = getAddress(await blueContract.getAddress());
  const meter = blueContract.interface;
  const proxies: string[] = [];
  for (let i = 0; i < fleet; i++) {
    const proxy = await deploy(owner!, PROXY, "TransparentUpgradeableProxy", [blue, await owner!.getAddress(), meter.encodeFunctionData("initialize", [await owner!.getAddress()])]);
    const address = getAddress(await proxy.getAddress());
    const adopted = await adoptProxy({
      provider: { request: ({ method, params }) => provider.send(method, (params as unknown[]) ?? []) },
      ethersProvider: provider,
      signers: [owner!, approver!],
      switchAddress,
      proxy: address,
      networkName: "hardhat-node",
    });
    if (!adopted.ok) throw new Error(`adopt failed: ${adopted.error}`);
    proxies.push(address);
  }
  const router = getAddress(await (await deploy(deployer!, METERS, "MonitorMeterRouter")).getAddress());
  const switchAbi = (await readArtifact("contracts/BlueGreenSwitch.sol", "BlueGreenSwitch")).abi;
  return {
    node,
    provider,
    chainId,
    deployer: deployer!,
    approver: approver!,
    guardian: guardian!,
    user: user!,
    owner: owner!,
    switchAddress,
    switchFile: init.file,
    sw: new Contract(switchAddress, switchAbi, approver!),
    blue,
    proxies,
    router,
    meter,
    async stop() {
      provider.destroy();
      await node.stop();
    },
  };
}

/** A fresh records folder holding the chain's switch file and a live-able release record of `green`. */
export async function releaseStore(
  w: MonitorWorld,
  green: string,
  greenKind: GreenKind,
  options: { id?: string; proxy?: string; store?: ReleaseStore } = {},
): Promise<ReleaseStore> {
  const id = options.id ?? "meter-v2";
  const proxy = options.proxy ?? w.proxies[0]!;
  const store = options.store ?? new ReleaseStore(await mkdtemp(path.join(tmpdir(), "bg-monitor-records-")));
  await writeSwitchFile(store, w.switchFile);
  const artifact = await readArtifact(METERS, greenKind);
  const at = new Date().toISOString();
  const staged: ReleaseRecord = {
    schemaVersion: RECORD_SCHEMA_VERSION,
    id,
    chainId: w.chainId,
    network: "hardhat-node",
    state: "staged",
    proxy,
    admin: getAddress("0x" + (await w.provider.getStorage(proxy, "0xb53127684a568b3173ae13b9f8a6016e243e63b6e8ee1178d6a717850b5d6103")).slice(-40)),
    blue: { address: w.blue, codehash: keccak256(await w.provider.getCode(w.blue)) },
    green: {
      address: green,
      codehash: keccak256(await w.provider.getCode(green)),
      contract: greenKind,
      fullyQualifiedName: `${METERS}:${greenKind}`,
      creationCodeHash: keccak256(artifact.bytecode),
      sourceHash: keccak256("0x01"),
      compiler: { version: "0.8.30", settings: {} },
      deployer: await w.deployer.getAddress(),
    },
    upgradeSafety: { ok: true, blueLayoutFrom: "reference", warnings: [] },
    rollbackRisks: [],
    steps: {},
    history: [{ at, state: "staged", actor: "test" }],
    createdAt: at,
    updatedAt: at,
  };
  await store.update(w.chainId, id, () => staged);
  return store;
}

/** Moves the record to live, as bg:switch does after its promote. */
export async function markLive(store: ReleaseStore, w: MonitorWorld, id = "meter-v2"): Promise<void> {
  await store.update(w.chainId, id, (r) => transition(transition(r!, "proposed", { actor: "test" }), "live", { actor: "test", note: "promoted directly in the test" }));
}

export async function deployGreen(w: MonitorWorld, kind: GreenKind): Promise<string> {
  return getAddress(await (await deploy(w.deployer, METERS, kind)).getAddress());
}

/** The approver promotes `green` on each of `proxies` (one transaction each). */
export async function promote(w: MonitorWorld, green: string, proxies: string[] = [w.proxies[0]!]): Promise<number[]> {
  const codehash = keccak256(await w.provider.getCode(green));
  const blocks: number[] = [];
  for (const proxy of proxies) {
    const receipt = await (await w.sw.getFunction("promote")(proxy, green, codehash, w.blue, "0x", EVIDENCE)).wait();
    blocks.push(receipt.blockNumber);
  }
  return blocks;
}

/**
 * `count` calls of tick() from the user, each its own block. Reverting calls
 * are mined too (explicit gas, no estimate). Returns how many succeeded.
 */
export async function tick(w: MonitorWorld, count: number, options: { proxy?: string; through?: "router" } = {}): Promise<{ ok: number; reverted: number }> {
  const proxy = options.proxy ?? w.proxies[0]!;
  let ok = 0;
  let reverted = 0;
  const from = await w.user.getAddress();
  for (let i = 0; i < count; i++) {
    const tx =
      options.through === "router"
        ? { from, to: w.router, data: new Interface(["function tickThrough(address)"]).encodeFunctionData("tickThrough", [proxy]), gas: "0x493e0" }
        : { from, to: proxy, data: w.meter.encodeFunctionData("tick"), gas: "0x30d40" };
    try {
      // A Hardhat node mines a failing transaction and answers with the revert.
      await w.provider.send("eth_sendTransaction", [tx]);
      ok++;
    } catch (error) {
      if (!/revert/i.test((error as Error).message)) throw error;
      reverted++;
    }
  }
  return { ok, reverted };
}

export async function mine(w: MonitorWorld, blocks = 1): Promise<void> {
  for (let i = 0; i < blocks; i++) await w.provider.send("evm_mine", []);
}

export async function increaseTime(w: MonitorWorld, seconds: number): Promise<void> {
  await w.provider.send("evm_increaseTime", [seconds]);
  await w.provider.send("evm_mine", []);
}

/** The monitor's provider: plain HTTP JSON-RPC to the node (or to a faulty proxy in front of it). */
export function monitorProvider(url: string) {
  return httpEip1193(url);
}

/** A short-interval config for tests; `overrides` replace top-level fields. */
export function testConfig(overrides: MonitorUserConfig = {}): MonitorConfig {
  return resolveMonitorConfig({
    confirmations: 1,
    interval: "2 blocks",
    pollInterval: "100ms",
    reorgDepth: 16,
    batchBlocks: 4,
    baseline: { blocks: 40 },
    metrics: [
      { name: "revert-rate", kind: "revertRate", failureCondition: "result > 0.2" },
      { name: "gas-p95", kind: "gas", quantile: 0.95, dryRun: true, failureCondition: "hasBaseline && result > baseline * 1.5" },
      { name: "requests", kind: "requestRate", dryRun: true },
      { name: "ticks", kind: "events", event: "Ticked(address,uint256)", dryRun: true },
    ],
    probes: [{ name: "healthy", call: "function healthy() view returns (bool)", successCondition: "result == true", interval: "4 blocks" }],
    rpc: { timeout: "2s", attempts: 3, backoff: "50ms", maxBackoff: "300ms" },
    ...overrides,
  });
}

/** A log that keeps its lines for assertions (and can echo them with DEBUG_MONITOR=1). */
export function memoryLog(): { log: MonitorLog; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log: MonitorLog = (level, event, fields = {}) => {
    const line = { ts: new Date().toISOString(), level, event, ...fields } as LogLine;
    lines.push(line);
    if (process.env.DEBUG_MONITOR === "1") process.stderr.write(JSON.stringify(line, (_k, v) => (typeof v === "bigint" ? v.toString() : v)) + "\n");
  };
  return { log, lines };
}

/** Waits until `check` is true (polling), or fails after `ms`. */
export async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A second records folder with the same switch and release record (without the monitor's work): for a clean reference pass. */
export async function cleanCopy(w: MonitorWorld, from: ReleaseStore, id = "meter-v2"): Promise<ReleaseStore> {
  const store = new ReleaseStore(await mkdtemp(path.join(tmpdir(), "bg-monitor-reference-")));
  await writeSwitchFile(store, w.switchFile);
  const record = await from.get(w.chainId, id);
  const { monitor: _monitor, ...steps } = record.steps;
  await store.update(w.chainId, id, () => ({ ...record, steps }));
  return store;
}

/** Traffic totals and measurements a checkpoint holds, in a form two runs can be compared by. */
export async function learnt(store: ReleaseStore, chainId: number, id = "meter-v2") {
  const cp = await readCheckpoint(store, chainId, id);
  if (cp === undefined) throw new Error("no checkpoint");
  const ledger = emptyTotals();
  for (const block of cp.ledger) addToTotals(ledger, block);
  const totals = mergeTotals(cp.archivedTotals, ledger);
  const measurements = Object.fromEntries(
    Object.values(cp.runs).flatMap((run) =>
      Object.values(run.metrics).map((m) => [`${run.subject}/${m.name}`, m.measurements.map((x) => [x.fromBlock, x.toBlock, x.phase, x.value, x.samples])]),
    ),
  );
  return { tip: cp.tip?.n, totals, measurements };
}
