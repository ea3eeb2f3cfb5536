// A user's Hardhat project for the bg:monitor and bg:waves CLI tests: the
// plugin installed, a separate node as "mainnet", short analysis intervals,
// and every folder it writes kept out of the repository.
import hardhatEthers from "@nomicfoundation/hardhat-ethers";
import { defineConfig } from "hardhat/config";

import type { BlueGreenUserConfig } from "../../../src/config.js";
import blueGreen from "../../../src/index.js";

const blueGreenSection: BlueGreenUserConfig = {
  recordsDir: process.env.BG_TEST_RECORDS ?? ".bluegreen",
  monitor: {
    confirmations: 1,
    interval: "2 blocks",
    pollInterval: "200ms",
    metrics: [{ name: "revert-rate", kind: "revertRate", failureCondition: "result > 0.2" }],
    rpc: { timeout: "5s", attempts: 3, backoff: "100ms" },
  },
  waves: {
    waves: [
      { name: "canary", proxies: 1, bake: "1h" },
      { name: "all", proxies: "100%", bake: "1h" },
    ],
  },
  canary: { steps: [{ name: "1%", bps: 100 }, { name: "25%", bps: 2500 }], salt: "cli canary" },
  // The tests record the gate evidence they need themselves; the config checks none, on purpose.
  gates: { waive: { reason: "test project: each test records its own gate evidence" } },
};

export default defineConfig({
  plugins: [hardhatEthers, blueGreen],
  networks: {
    localMainnet: {
      type: "http",
      chainType: "l1",
      url: process.env.BLUEGREEN_RPC_URL ?? "http://127.0.0.1:8545",
      // Below the monitor's 5s: a request the fault proxy silences must not hold the process open for Hardhat's default 300s.
      timeout: 3_000,
    },
  },
  paths: {
    cache: process.env.BG_TEST_CACHE ?? "cache",
    artifacts: process.env.BG_TEST_ARTIFACTS ?? "artifacts",
  },
  blueGreen: blueGreenSection,
});
