// A user's project for the CLI tests of the gates that re-check the chain and
// the build (upgradeSafety, source, observability, secrets) and of failing
// closed. It is this repository's own project (same sources, compiler and
// artifacts, so nothing is rebuilt) with the gates the test passes as JSON in
// BG_GATES. Importing it has no side effects (mocha loads every file under test/).
import path from "node:path";

import { configVariable } from "hardhat/config";

import repository from "../../../hardhat.config.js";

const env = process.env;
const tmp = env.BG_TEST_TMP ?? path.join(import.meta.dirname, ".tmp");
const solidity = repository.solidity as { version: string; path: string; settings: object; npmFilesToBuild: string[] };

export default {
  ...repository,
  ...(env.BG_SOLC_SETTINGS !== undefined
    ? {
        // The project's compiler settings changed after green was staged; built apart from the repository's artifacts.
        // An explicit production profile: Hardhat's implicit one keeps none of the project's settings.
        solidity: {
          profiles: {
            default: { version: solidity.version, path: solidity.path, settings: solidity.settings },
            production: { version: solidity.version, path: solidity.path, settings: JSON.parse(env.BG_SOLC_SETTINGS) },
          },
          npmFilesToBuild: solidity.npmFilesToBuild,
        },
        paths: { ...repository.paths, artifacts: path.join(tmp, "artifacts"), cache: path.join(tmp, "cache") },
      }
    : {}),
  networks: {
    ...repository.networks,
    localMainnet: {
      type: "http",
      chainType: "l1",
      url: env.BLUEGREEN_RPC_URL ?? "http://127.0.0.1:8545",
      // The secrets gate's failing case: a key written into the config.
      accounts: env.BG_LITERAL_KEY !== undefined ? [env.BG_LITERAL_KEY] : [configVariable("BG_DEPLOYER_KEY")],
    },
  },
  blueGreen: {
    recordsDir: path.join(tmp, ".bluegreen"),
    gates: JSON.parse(env.BG_GATES ?? "{}"),
    ...(env.BG_MONITOR !== undefined ? { monitor: JSON.parse(env.BG_MONITOR) } : {}),
  },
} as typeof repository;
