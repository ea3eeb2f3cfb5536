// A user's project for the gates CLI tests: every gate configured, networks
// and folders taken from the environment the test sets. Importing it has no
// side effects (mocha loads every file under test/).
import path from "node:path";

import hardhatEthers from "@nomicfoundation/hardhat-ethers";
import { configVariable, defineConfig } from "hardhat/config";

import type { GatesUserConfig } from "../../../src/gates/user-config.js";
import blueGreen from "../../../src/index.js";

const env = process.env;
const tmp = env.BG_TEST_TMP ?? path.join(import.meta.dirname, ".tmp");

const gates: GatesUserConfig = {
  audits: { min: 2, auditors: (env.BG_AUDITORS ?? "0x" + "1".repeat(40)).split(","), dir: path.join(tmp, "audits") },
  testnet: { network: "testnet", minDays: 14, ...(env.BG_TESTNET_SWITCH !== undefined ? { switch: env.BG_TESTNET_SWITCH } : {}) },
  replay: { max: 0 },
  coverage: { lcov: path.join(tmp, "coverage", "lcov.info"), min: 80 },
  // upgradeSafety re-checks the chain and the project's build: see test/gates/policy-project.
  rollbackSafety: {},
  // The rollback-path proof forks "mainnet"; only the test that adopts the proxy into a switch there sets it.
  ...(env.BG_ROLLBACK_PATH === "1" ? { rollbackPath: {} } : {}),
  custom: [
    {
      name: "same-chain",
      check: async (release, connection) => {
        const chainId = Number(BigInt((await connection.provider.request({ method: "eth_chainId" })) as string));
        return { ok: chainId === release.chainId, detail: `${connection.networkName} is chain ${chainId}`, evidence: { chainId } };
      },
    },
  ],
};

const blueGreenConfig = { recordsDir: path.join(tmp, ".bluegreen"), gates };

export default defineConfig({
  plugins: [hardhatEthers, blueGreen],
  networks: {
    localMainnet: { type: "http", chainType: "l1", url: env.BLUEGREEN_RPC_URL ?? "http://127.0.0.1:8545" },
    testnet: { type: "http", chainType: "l1", url: env.BG_TESTNET_URL ?? "http://127.0.0.1:8546" },
    // An auditor's network: only its key matters, no node is contacted.
    auditor: { type: "http", url: "http://127.0.0.1:9", accounts: [configVariable("AUDITOR_KEY")] },
  },
  paths: { cache: path.join(tmp, "cache"), artifacts: path.join(tmp, "artifacts") },
  blueGreen: blueGreenConfig,
});
