/**
 * bg:monitor of a beacon release on a separate Hardhat node: an
 * UpgradeableBeacon adopted by a real switch, three BeaconProxy contracts
 * (and a fourth created after the promotion), green promoted through the
 * beacon. The monitor watches every proxy: Prometheus counts each under its
 * own `proxy` label, the analysis measures them together, and a metric
 * marked `perProxy` judges each on its own.
 */
import { expect } from "chai";
import { ContractFactory, Interface, getAddress } from "ethers";

import { monitorRelease } from "../../src/monitor/monitor-release.js";
import { readCheckpoint } from "../../src/monitor/checkpoint.js";
import { readMonitorStep } from "../../src/monitor/monitor-step.js";
import { MonitorMetrics } from "../../src/monitor/prometheus.js";
import type { ReleaseStore } from "../../src/release/store.js";
import { adoptProxy } from "../../src/switch/adopt-proxy.js";
import { readArtifact } from "../helpers/box.js";
import { type GreenKind, type MonitorWorld, deployGreen, markLive, memoryLog, mine, monitorProvider, promote, releaseStore, startWorld, testConfig } from "./world.js";

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
});
