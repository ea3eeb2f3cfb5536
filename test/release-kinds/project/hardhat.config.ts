// A user's project with UUPS proxies and a beacon fleet deployed by
// OpenZeppelin's hardhat-upgrades, released with bg:*. Every folder it
// writes is kept out of the repository through environment variables set
// by the test (test/release-kinds/release-kinds.test.ts).
import { createRequire } from "node:module";

import hardhatEthers from "@nomicfoundation/hardhat-ethers";
import hardhatUpgrades from "@openzeppelin/hardhat-upgrades";
import { defineConfig } from "hardhat/config";

import blueGreen from "../../../src/index.js";

const require = createRequire(import.meta.url);

export default defineConfig({
  plugins: [hardhatEthers, hardhatUpgrades, blueGreen],
  solidity: {
    // solcjs from npm: this machine cannot download native compilers.
    version: "0.8.30",
    path: require.resolve("solc/soljson.js"),
    settings: { evmVersion: "prague" },
  },
  networks: {
    localMainnet: { type: "http", chainType: "l1", url: process.env.BLUEGREEN_RPC_URL ?? "http://127.0.0.1:8545" },
  },
  paths: {
    cache: process.env.BG_TEST_CACHE ?? "cache",
    artifacts: process.env.BG_TEST_ARTIFACTS ?? "artifacts",
  },
  blueGreen: {
    recordsDir: process.env.BG_TEST_RECORDS ?? ".bluegreen",
    // A local 31337 "mainnet" runs prague; EDR knows only public chains' hardfork history.
    replay: { hardfork: "prague", gasTolerance: 1 },
    gates: { replay: { max: 0, minTxs: 3 }, rollbackPath: {} },
  },
});
