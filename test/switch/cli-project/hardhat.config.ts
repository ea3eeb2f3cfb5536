// A user's Hardhat project, for the switch CLI tests: the plugin installed,
// no contracts of its own (so the switch must come from the plugin's shipped
// artifact), a separate node as "mainnet", and every folder it writes kept
// out of the repository through environment variables.
import hardhatEthers from "@nomicfoundation/hardhat-ethers";
import { defineConfig } from "hardhat/config";

import blueGreen from "../../../src/index.js";

export default defineConfig({
  plugins: [hardhatEthers, blueGreen],
  networks: {
    localMainnet: {
      type: "http",
      chainType: "l1",
      url: process.env.BLUEGREEN_RPC_URL ?? "http://127.0.0.1:8545",
    },
  },
  paths: {
    cache: process.env.BG_TEST_CACHE ?? "cache",
    artifacts: process.env.BG_TEST_ARTIFACTS ?? "artifacts",
  },
  blueGreen: {
    recordsDir: process.env.BG_TEST_RECORDS ?? ".bluegreen",
    ...(process.env.BG_TEST_RPC_TIMEOUT !== undefined ? { rpc: { timeout: process.env.BG_TEST_RPC_TIMEOUT } } : {}),
  },
});
