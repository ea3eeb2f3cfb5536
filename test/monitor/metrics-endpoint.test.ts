/**
 * The Prometheus endpoint, scraped with a real HTTP request after the
 * monitor followed real traffic on a separate Hardhat node: the values match
 * the traffic that was sent.
 */
import { expect } from "chai";
import { Interface } from "ethers";

import { monitorRelease } from "../../src/monitor/monitor-release.js";
import { MonitorMetrics } from "../../src/monitor/prometheus.js";
import { readArtifact } from "../helpers/box.js";
import { type MonitorWorld, deployGreen, markLive, memoryLog, mine, monitorProvider, promote, releaseStore, startWorld, testConfig, tick } from "./world.js";

/** Parses the Prometheus text format into `name{labels}` → value. */
function parseExposition(text: string): Map<string, { labels: Record<string, string>; value: number }[]> {
  const out = new Map<string, { labels: Record<string, string>; value: number }[]>();
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) throw new Error(`not a sample line: ${line}`);
    const labels = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
    const list = out.get(match[1]!) ?? [];
    list.push({ labels, value: Number(match[3]) });
    out.set(match[1]!, list);
  }
  return out;
}

describe("bg:monitor Prometheus endpoint", function () {
  let w: MonitorWorld;
  let metrics: MonitorMetrics | undefined;

  before(async function () {
    w = await startWorld(1);
  });
  after(async () => {
    await metrics?.close();
    await w?.stop();
  });

  it("serves RED metrics, the analysis, the release state and blocks behind head, matching the traffic", async function () {
    const proxy = w.proxies[0]!;
    const green = await deployGreen(w, "MonitorMeterV2");
    const store = await releaseStore(w, green, "MonitorMeterV2", { id: "metrics", proxy });
    await tick(w, 2);
    await promote(w, green);
    await markLive(store, w, "metrics");
    expect(await tick(w, 7)).to.deep.equal({ ok: 7, reverted: 0 });
    expect(await tick(w, 3, { through: "router" })).to.deep.equal({ ok: 3, reverted: 0 });
    await mine(w, 1);

    metrics = new MonitorMetrics("metrics");
    const port = await metrics.serve(0);
    const abi = new Interface((await readArtifact("contracts/test/monitor/MonitorMeters.sol", "MonitorMeterV2")).abi);
    const outcome = await monitorRelease({
      provider: monitorProvider(w.node.url),
      store,
      chainId: w.chainId,
      releaseId: "metrics",
      config: testConfig(),
      abi,
      once: true,
      metrics,
      log: memoryLog().log,
    });
    expect(outcome.ok).to.equal(true);

    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).to.equal(200);
    expect(res.headers.get("content-type")).to.match(/^text\/plain/);
    const samples = parseExposition(await res.text());
    const p = proxy.toLowerCase();

    const requests = samples.get("bluegreen_proxy_requests_total")!;
    expect(requests.map((s) => [s.labels.selector, s.labels.origin, s.labels.status, s.value]).sort()).to.deep.equal([
      ["internal", "internal", "success", 3],
      ["tick()", "direct", "success", 7],
    ]);
    expect(requests.every((s) => s.labels.proxy === p && s.labels.wave === "release" && s.labels.release === "metrics")).to.equal(true);
    expect(samples.get("bluegreen_proxy_events_total")).to.deep.equal([{ labels: { release: "metrics", wave: "release", proxy: p, event: "Ticked(address,uint256)" }, value: 10 }]);

    const gas = samples.get("bluegreen_proxy_gas_used")!;
    expect(gas.map((s) => s.labels.quantile).sort()).to.deep.equal(["0.5", "0.95"]);
    const receipts = await Promise.all(
      (await w.provider.send("eth_getLogs", [{ address: proxy, fromBlock: "0x0", toBlock: "latest" }]) as Array<{ transactionHash: string }>).map((l) =>
        w.provider.getTransactionReceipt(l.transactionHash),
      ),
    );
    const directGas = receipts.filter((r) => r!.to?.toLowerCase() === p && r!.blockNumber > outcome.proxies[0]!.promotedBlock).map((r) => Number(r!.gasUsed));
    expect(directGas).to.have.length(7);
    expect(gas.find((s) => s.labels.quantile === "0.95")!.value).to.equal(Math.max(...directGas));

    const phase = samples.get("bluegreen_analysis_phase")!.filter((s) => s.value === 1);
    expect(phase.map((s) => s.labels.phase)).to.deep.equal(["Running"]);
    const state = samples.get("bluegreen_release_state")!.filter((s) => s.value === 1);
    expect(state.map((s) => s.labels.state)).to.deep.equal(["live"]);
    const status = samples.get("bluegreen_proxy_switch_status")!.filter((s) => s.value === 1);
    expect(status.map((s) => s.labels.status)).to.deep.equal(["live"]);
    const head = await w.provider.getBlockNumber();
    expect(samples.get("bluegreen_blocks_behind_head")![0]!.value).to.equal(1);
    expect(samples.get("bluegreen_last_processed_block")![0]!.value).to.equal(head - 1);
    const measured = samples.get("bluegreen_analysis_measurements_total")!.filter((s) => s.labels.metric === "revert-rate" && s.labels.phase === "Successful");
    expect(measured[0]!.value).to.equal(outcome.runs[0]!.metrics["revert-rate"]!.successful);
    expect(samples.get("bluegreen_analysis_metric_value")!.find((s) => s.labels.metric === "revert-rate")!.value).to.equal(0);

    const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { runs: Array<{ phase: string }> };
    expect(health.runs).to.deep.equal([{ wave: "release", phase: "Running" }]);
  });
});
