/**
 * The monitor compares the proxy's ERC-1967 slots with the switch's record:
 * a green that rewrote the implementation slot behind the switch's back is
 * critical, and fails the analysis however healthy the traffic looks.
 */
import { expect } from "chai";
import { zeroPadValue } from "ethers";

import { monitorRelease } from "../../src/monitor/monitor-release.js";
import { type MonitorWorld, deployGreen, markLive, memoryLog, mine, monitorProvider, promote, releaseStore, startWorld, testConfig, tick } from "./world.js";

const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";

describe("bg:monitor against the switch's record", function () {
  let w: MonitorWorld;

  before(async function () {
    w = await startWorld(1);
  });
  after(async () => w?.stop());

  it("fails the analysis with a critical alert when the implementation slot leaves the switch's record, and not before", async function () {
    const green = await deployGreen(w, "MonitorMeterV2");
    const store = await releaseStore(w, green, "MonitorMeterV2", { id: "drifted" });
    await tick(w, 3);
    await promote(w, green);
    await markLive(store, w, "drifted");
    await tick(w, 3);
    await mine(w, 2);
    const config = testConfig({ probes: [] });
    const run = async () => {
      const { log, lines } = memoryLog();
      const outcome = await monitorRelease({ provider: monitorProvider(w.node.url), store, chainId: w.chainId, releaseId: "drifted", config, once: true, log });
      return { outcome, lines };
    };

    const before = await run();
    expect(before.lines.filter((l) => l.event === "switch-record-mismatch")).to.deep.equal([]);
    expect(before.outcome.verdict).to.not.equal("failed");

    // What a green that writes its proxy's implementation slot leaves behind: the proxy runs other code, the switch still records green.
    const other = await deployGreen(w, "MonitorMeterV2");
    await w.provider.send("hardhat_setStorageAt", [w.proxies[0]!, IMPLEMENTATION_SLOT, zeroPadValue(other, 32)]);
    await tick(w, 2);
    await mine(w, 2);

    const after = await run();
    const alert = after.lines.find((l) => l.event === "switch-record-mismatch");
    expect(alert).to.deep.include({ level: "alert", severity: "critical", kind: "implementation-drift", recorded: green, onChain: other });
    expect(after.outcome).to.deep.include({ ok: false, verdict: "failed" });
    expect(after.outcome.runs[0]!.cause!.metric).to.equal("switch-record");
    expect(after.outcome.runs[0]!.cause!.reason).to.match(/^Critical: proxy .* runs .* but the switch records/);
  });
});
