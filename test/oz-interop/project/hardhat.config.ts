// A user's project that already uses OpenZeppelin's hardhat-upgrades and
// Hardhat Ignition, with bg:* added beside them. Its default build profile
// leaves the optimizer off (Hardhat's own default), so the production
// profile that Ignition and bg:stage deploy with really differs from it.
// Every folder it writes is kept out of the repository through environment
// variables set by the test.
import { createRequire } from "node:module";

import hardhatEthers from "@nomicfoundation/hardhat-ethers";
import hardhatIgnitionEthers from "@nomicfoundation/hardhat-ignition-ethers";
import hardhatUpgrades from "@openzeppelin/hardhat-upgrades";
import { defineConfig } from "hardhat/config";

import blueGreen from "../../../src/index.js";

const require = createRequire(import.meta.url);

export default defineConfig({
  plugins: [hardhatEthers, hardhatIgnitionEthers, hardhatUpgrades, blueGreen],
  solidity: {
    // solcjs from npm: this machine cannot download native compilers.
    version: "0.8.30",
    path: require.resolve("solc/soljson.js"),
    settings: { evmVersion: "prague" },
    npmFilesToBuild: ["@openzeppelin/contracts/proxy/transparent/TransparentUpgradeableProxy.sol"],
  },
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
    ignition: process.env.BG_TEST_IGNITION ?? "ignition",
  },
  blueGreen: { recordsDir: process.env.BG_TEST_RECORDS ?? ".bluegreen" },
});
