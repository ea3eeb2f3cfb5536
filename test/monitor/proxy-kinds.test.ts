/**
 * bg:monitor of a beacon release on a separate Hardhat node: an
 * UpgradeableBeacon adopted by a real switch, three BeaconProxy contracts
 * (and a fourth created after the promotion), green promoted through the
 * beacon. The monitor watches every proxy: Prometheus counts each under its
 * own `proxy` label, the analysis measures them together, and a metric
 * marked `perProxy` judges each on its own. An upgrade outside the switch
 * fails the analysis, for a beacon and for a UUPS proxy.
 */
import { expect } from "chai";
import { ContractFactory, Interface, getAddress, keccak256, zeroPadValue } from "ethers";

import { monitorRelease } from "../../src/monitor/monitor-release.js";
import { readCheckpoint } from "../../src/monitor/checkpoint.js";
import { readMonitorStep } from "../../src/monitor/monitor-step.js";
import { MonitorMetrics } from "../../src/monitor/prometheus.js";
import type { ReleaseStore } from "../../src/release/store.js";
import { adoptProxy } from "../../src/switch/adopt-proxy.js";
import { readArtifact } from "../helpers/box.js";
import { EVIDENCE, type GreenKind, type MonitorWorld, deployGreen, markLive, memoryLog, mine, monitorProvider, promote, releaseStore, startWorld, testConfig } from "./world.js";

const BEACON = "contracts/examples/beacon/BeaconBox.sol";
const METER = new Interface(["function initialize(address)", "function tick()"]);
const ROUTER = new Interface(["function tickThrough(address)"]);

describe("bg:monitor of a beacon release (hardhat node, three BeaconProxy contracts)", function () {
  let w: MonitorWorld;
  let metrics: MonitorMetrics | undefined;

  before(async function () {
    w = await startWorld(0);
  });
  after(async () => {
    await metrics?.close();
    await w?.stop();
  });

  async function deploy(name: string, args: unknown[]): Promise<string> {
    const artifact = await readArtifact(BEACON, name);
    const contract = await new ContractFactory(artifact.abi, artifact.bytecode, w.owner).deploy(...args);
    await contract.waitForDeployment();
    return getAddress(await contract.getAddress());
  }

  async function beaconProxy(beacon: string): Promise<string> {
    return deploy("BoxBeaconProxy", [beacon, METER.encodeFunctionData("initialize", [await w.owner.getAddress()])]);
  }

  /** A beacon of blue with three proxies, adopted by the switch, and a release of `greenKind` through it. */
  async function beaconRelease(id: string, greenKind: GreenKind): Promise<{ beacon: string; proxies: string[]; green: string; store: ReleaseStore }> {
    const beacon = await deploy("BoxBeacon", [w.blue, await w.owner.getAddress()]);
    const proxies = [await beaconProxy(beacon), await beaconProxy(beacon), await beaconProxy(beacon)];
    const adopted = await adoptProxy({
      provider: { request: ({ method, params }) => w.provider.send(method, (params as unknown[]) ?? []) },
      ethersProvider: w.provider,
      signers: [w.owner, w.approver],
      switchAddress: w.switchAddress,
      proxy: beacon,
      networkName: "hardhat-node",
    });
    expect(adopted).to.include({ ok: true, kind: "beacon" });
    const green = await deployGreen(w, greenKind);
    const store = await releaseStore(w, green, greenKind, { id, proxy: beacon });
    await store.update(w.chainId, id, (r) => ({ ...r!, kind: "beacon", beacon: { address: beacon, proxies: [] } }));
    return { beacon, proxies, green, store };
  }

  /** Sends `calls` (to, data) from the user and mines them in one block; reverting calls are mined too. */
  async function oneBlock(calls: Array<{ to: string; data: string }>): Promise<void> {
    await w.provider.send("evm_setAutomine", [false]);
    try {
      const from = await w.user.getAddress();
      for (const c of calls) await w.provider.send("eth_sendTransaction", [{ from, ...c, gas: "0x493e0" }]);
      await w.provider.send("evm_mine", []);
    } finally {
      await w.provider.send("evm_setAutomine", [true]);
    }
  }
  const tick = (proxy: string) => ({ to: proxy, data: METER.encodeFunctionData("tick") });

  it("watches every proxy of the beacon, one created after the promotion too: per-proxy Prometheus counts and the aggregate analysis", async function () {
    const { beacon, proxies, green, store } = await beaconRelease("beacon-healthy", "MonitorMeterV2");
    await promote(w, green, [beacon]);
    await markLive(store, w, "beacon-healthy");
    await oneBlock([tick(proxies[0]!), tick(proxies[0]!), tick(proxies[1]!)]);
    await mine(w, 2);

    metrics = new MonitorMetrics("beacon-healthy");
    const port = await metrics.serve(0);
    const { log, lines } = memoryLog();
    const config = testConfig({ interval: "1 blocks", probes: [{ name: "healthy", call: "function healthy() view returns (bool)", successCondition: "result == true", interval: "1 blocks" }] });
    const run = () => monitorRelease({ provider: monitorProvider(w.node.url), store, chainId: w.chainId, releaseId: "beacon-healthy", config, once: true, metrics, log });
    const first = await run();
    expect(first.ok).to.equal(true);
    // The switch's unit is the beacon; the traffic is its proxies'.
    expect(first.proxies.map((p) => p.proxy)).to.deep.equal([beacon]);
    const lower = (list: unknown) => (list as string[]).map((p) => p.toLowerCase()).sort();
    expect(lower(lines.find((l) => l.event === "beacon-proxies")!.proxies)).to.deep.equal(lower(proxies));

    // A factory makes a fourth proxy while the release is live: it runs green too, and the next step watches it.
    const late = await beaconProxy(beacon);
    await oneBlock([tick(proxies[0]!), tick(proxies[1]!), tick(late), { to: w.router, data: ROUTER.encodeFunctionData("tickThrough", [proxies[2]]) }]);
    await oneBlock([tick(late)]);
    await mine(w, 2);
    const outcome = await run();
    expect(outcome.ok).to.equal(true);
    expect(lower(lines.find((l) => l.event === "beacon-proxies-added")!.proxies)).to.deep.equal(lower([late]));
    const sent: Record<string, number> = { [proxies[0]!]: 3, [proxies[1]!]: 2, [proxies[2]!]: 1, [late]: 2 };
    const cp = (await readCheckpoint(store, w.chainId, "beacon-healthy"))!;
    expect(Object.keys(cp.fleets![beacon.toLowerCase()]!.proxies).sort()).to.deep.equal([...proxies, late].map((p) => p.toLowerCase()).sort());
    expect([...cp.runs.release!.proxies].sort()).to.deep.equal([...proxies, late].map((p) => p.toLowerCase()).sort());

    const scrape = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    for (const [proxy, n] of Object.entries(sent)) {
      const origin = proxy === proxies[2] ? "internal" : "direct";
      const selector = origin === "internal" ? "internal" : METER.getFunction("tick")!.selector;
      const line = `bluegreen_proxy_requests_total{wave="release",proxy="${proxy.toLowerCase()}",selector="${selector}",origin="${origin}",status="success",release="beacon-healthy"} ${n}`;
      expect(scrape, line).to.contain(line);
    }
    expect(scrape).to.not.contain(`proxy="${beacon.toLowerCase()}",selector`);
    // Together: the analysis counted every proxy's calls in the block they were in (3, 4 and 1), and the late
    // proxy's creation, whose initializer ran green (seen through its logs, as an internal call).
    const step = readMonitorStep(await store.get(w.chainId, "beacon-healthy"))!;
    const requests = cp.runs.release!.metrics.requests!.measurements.filter((m) => m.samples > 0).map((m) => m.samples);
    expect(requests).to.deep.equal([3, 1, 4, 1]);
    // The probe asked every proxy, the late one included.
    expect(step.runs.release!.metrics.healthy!.failed).to.equal(0);
    expect(step.runs.release!.proxies.map((p) => p.toLowerCase()).sort()).to.deep.equal([...proxies, late].map((p) => p.toLowerCase()).sort());
  });

  it("judges the aggregate by default, and each proxy on its own where a metric asks (perProxy): one failing proxy among healthy ones fails the latter", async function () {
    const { beacon, proxies, green, store } = await beaconRelease("beacon-breaking", "MonitorMeterV2Breaking");
    await promote(w, green, [beacon]);
    await markLive(store, w, "beacon-breaking");
    // Green's meter allows 3 ticks per proxy: the first proxy uses them up, then its 3 more revert.
    await oneBlock([tick(proxies[0]!), tick(proxies[0]!), tick(proxies[0]!)]);
    await oneBlock([tick(proxies[0]!), tick(proxies[0]!), tick(proxies[0]!), tick(proxies[1]!), tick(proxies[1]!), tick(proxies[1]!), tick(proxies[2]!), tick(proxies[2]!), tick(proxies[2]!)]);
    await mine(w, 2);

    const outcome = await monitorRelease({
      provider: monitorProvider(w.node.url),
      store,
      chainId: w.chainId,
      releaseId: "beacon-breaking",
      config: testConfig({
        interval: "1 blocks",
        metrics: [
          { name: "fleet-reverts", kind: "revertRate", failureCondition: "result > 0.5" },
          { name: "worst-proxy-reverts", kind: "revertRate", perProxy: true, failureCondition: "result > 0.5" },
        ],
        probes: [],
      }),
      once: true,
      log: memoryLog().log,
    });
    expect(outcome.ok).to.equal(false);
    const run = readMonitorStep(await store.get(w.chainId, "beacon-breaking"))!.runs.release!;
    expect(run.phase).to.equal("Failed");
    expect(run.cause?.metric).to.equal("worst-proxy-reverts");
    // Together, 3 of 9 calls reverted in that block: not above the limit.
    expect(run.metrics["fleet-reverts"]!.failed).to.equal(0);
    expect(run.metrics["worst-proxy-reverts"]!.failed).to.equal(1);
    expect(run.metrics["worst-proxy-reverts"]!.lastMessage).to.match(new RegExp(`^${proxies[0]!.toLowerCase()}: failureCondition`));
    const cp = (await readCheckpoint(store, w.chainId, "beacon-breaking"))!;
    const fleetRate = cp.runs.release!.metrics["fleet-reverts"]!.measurements.map((m) => m.value);
    expect(fleetRate).to.deep.include(3 / 9);
  });

  it("fails the analysis when the beacon is upgraded outside the switch (every proxy then runs that code)", async function () {
    const { beacon, proxies, green, store } = await beaconRelease("beacon-drift", "MonitorMeterV2");
    await promote(w, green, [beacon]);
    await markLive(store, w, "beacon-drift");
    await oneBlock([tick(proxies[0]!), tick(proxies[1]!)]);
    await mine(w, 2);
    const config = testConfig({ probes: [] });
    const run = async () => {
      const { log, lines } = memoryLog();
      return { outcome: await monitorRelease({ provider: monitorProvider(w.node.url), store, chainId: w.chainId, releaseId: "beacon-drift", config, once: true, log }), lines };
    };
    const before = await run();
    expect(before.lines.filter((l) => l.event === "switch-record-mismatch")).to.deep.equal([]);
    expect(before.outcome.verdict).to.not.equal("failed");

    // What an upgrade by anyone but the switch leaves: UpgradeableBeacon's _implementation (after Ownable's _owner) holds other code.
    const other = await deployGreen(w, "MonitorMeterV2");
    await w.provider.send("hardhat_setStorageAt", [beacon, "0x1", zeroPadValue(other, 32)]);
    await oneBlock([tick(proxies[2]!)]);
    await mine(w, 2);
    const after = await run();
    expect(after.lines.find((l) => l.event === "switch-record-mismatch")).to.deep.include({ level: "alert", proxy: beacon, kind: "implementation-drift", recorded: green, onChain: other });
    expect(after.outcome).to.deep.include({ ok: false, verdict: "failed" });
    expect(after.outcome.runs[0]!.cause!.metric).to.equal("switch-record");
    expect(after.outcome.runs[0]!.cause!.reason).to.match(/^Critical: beacon .* was upgraded without the switch/);
  });
});

describe("bg:monitor of a UUPS release (hardhat node)", function () {
  const UUPS = "contracts/examples/uups/UupsOwnableBox.sol";
  const BOX = new Interface(["function initialize(address)", "function store(uint256)"]);
  let w: MonitorWorld;

  before(async function () {
    w = await startWorld(0);
  });
  after(async () => w?.stop());

  async function deploy(source: string, name: string, args: unknown[] = []): Promise<string> {
    const artifact = await readArtifact(source, name);
    const contract = await new ContractFactory(artifact.abi, artifact.bytecode, w.owner).deploy(...args);
    await contract.waitForDeployment();
    return getAddress(await contract.getAddress());
  }

  it("follows the proxy's traffic after a promotion through upgradeToAndCall, and fails on an upgrade the switch did not make", async function () {
    const blue = await deploy(UUPS, "UupsOwnableBoxV1");
    const proxy = await deploy("contracts/examples/uups/UupsBoxProxy.sol", "UupsBoxProxy", [blue, BOX.encodeFunctionData("initialize", [await w.owner.getAddress()])]);
    const adopted = await adoptProxy({
      provider: { request: ({ method, params }) => w.provider.send(method, (params as unknown[]) ?? []) },
      ethersProvider: w.provider,
      signers: [w.owner, w.approver],
      switchAddress: w.switchAddress,
      proxy,
      networkName: "hardhat-node",
    });
    expect(adopted).to.include({ ok: true, kind: "uups-ownable" });
    const green = await deploy(UUPS, "UupsOwnableBoxV2");
    // The record is the meters' shape with this proxy, blue and green: the monitor reads only addresses and the kind.
    const store = await releaseStore(w, green, "MonitorMeterV2", { id: "uups", proxy });
    await store.update(w.chainId, "uups", (r) => ({ ...r!, kind: "uups", blue: { ...r!.blue, address: blue } }));
    const codehash = keccak256(await w.provider.getCode(green));
    await (await w.sw.getFunction("promote")(proxy, green, codehash, blue, "0x", EVIDENCE)).wait();
    await markLive(store, w, "uups");
    const from = await w.user.getAddress();
    for (let i = 0; i < 3; i++) await w.provider.send("eth_sendTransaction", [{ from, to: proxy, data: BOX.encodeFunctionData("store", [i + 1]) }]);
    await mine(w, 2);
    const config = testConfig({ interval: "1 blocks", probes: [] });
    const run = async () => {
      const { log, lines } = memoryLog();
      return { outcome: await monitorRelease({ provider: monitorProvider(w.node.url), store, chainId: w.chainId, releaseId: "uups", config, once: true, log }), lines };
    };
    const before = await run();
    expect(before.outcome.ok).to.equal(true);
    expect(before.outcome.proxies.map((p) => p.proxy)).to.deep.equal([proxy]);
    const cp = (await readCheckpoint(store, w.chainId, "uups"))!;
    expect(cp.fleets).to.equal(undefined);
    expect(cp.runs.release!.metrics.requests!.measurements.reduce((n, m) => n + m.samples, 0)).to.equal(3);

    // Someone other than the switch upgrades the proxy (a green whose _authorizeUpgrade let them): the slot leaves the record.
    const other = await deploy(UUPS, "UupsOwnableBoxV2");
    await w.provider.send("hardhat_setStorageAt", [proxy, "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc", zeroPadValue(other, 32)]);
    await mine(w, 2);
    const after = await run();
    expect(after.lines.find((l) => l.event === "switch-record-mismatch")).to.deep.include({ level: "alert", proxy, kind: "implementation-drift", recorded: green, onChain: other });
    expect(after.outcome).to.deep.include({ ok: false, verdict: "failed" });
  });
});
