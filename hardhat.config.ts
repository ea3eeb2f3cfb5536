// This repository's own Hardhat project: it compiles the plugin's contracts
// (shipped as artifacts), runs the test suite and the demo.
import { createRequire } from "node:module";

import hardhatEthers from "@nomicfoundation/hardhat-ethers";
import hardhatMocha from "@nomicfoundation/hardhat-mocha";
import { defineConfig } from "hardhat/config";

import blueGreen from "./src/index.js";

const require = createRequire(import.meta.url);

export default defineConfig({
  plugins: [hardhatEthers, hardhatMocha, blueGreen],
  solidity: {
    // solcjs from npm: this machine cannot download native compilers.
    version: "0.8.30",
    path: require.resolve("solc/soljson.js"),
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: "prague",
    },
    npmFilesToBuild: [
      "@openzeppelin/contracts/proxy/transparent/TransparentUpgradeableProxy.sol",
      "@openzeppelin/contracts/proxy/transparent/ProxyAdmin.sol",
    ],
  },
  networks: {
    // A separate node standing in for mainnet (tests point it at their own
    // hardhat node or anvil through BLUEGREEN_RPC_URL).
    localMainnet: {
      type: "http",
      chainType: "l1",
      url: process.env.BLUEGREEN_RPC_URL ?? "http://127.0.0.1:8545",
    },
    // An in-process network whose config names its hardfork, as users' often do: the replay's forks must open on it.
    namedHardfork: { type: "edr-simulated", chainType: "l1", hardfork: "prague" },
  },
  paths: {
    tests: { mocha: "test", solidity: "test/solidity" },
  },
  test: {
    mocha: { timeout: 300_000 },
  },
  blueGreen: {
    recordsDir: process.env.BLUEGREEN_RECORDS_DIR ?? ".bluegreen",
    // This project's releases are the tests' throwaway ones: each test records
    // its own gate results, so the config itself checks none, on purpose.
    gates: { waive: { reason: "test project: every test records the gate evidence it needs" } },
  },
});
