import path from "node:path";

import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { BlueGreenError } from "../src/errors.js";
import { evaluateGates } from "../src/gates/evaluate-gates.js";
import { checkEvidenceDrift, recordGatesRun } from "../src/gates/gates-step.js";
import { gatesJson, renderGates, type GatesOutcome } from "../src/ui/gates-view.js";
import { ReleaseStore } from "../src/release/store.js";
import { readSwitchFile } from "../src/switch/switch-file.js";
import { runCommand } from "../src/ui/output.js";

interface GatesArgs {
  release: string;
  json: boolean;
}

export default async function gates(args: GatesArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runCommand(
    args.json,
    async (out): Promise<GatesOutcome> => {
      if (args.release === "") {
        throw new BlueGreenError("Which release? Pass --release <id> (`npx hardhat bg:status` lists them).");
      }
      const connection = await hre.network.getOrCreate();
      const chainId = Number(BigInt((await connection.provider.request({ method: "eth_chainId" })) as string));
      const store = new ReleaseStore(hre.config.blueGreen.recordsDir);
      const record = await store.get(chainId, args.release);
      const projectRoot = hre.config.paths.root;
      const config = hre.config.blueGreen.gates;
      const driftBefore = await checkEvidenceDrift(record, projectRoot);

      const results = await evaluateGates(record, config, {
        projectRoot,
        releaseDir: store.releaseDir(chainId, record.id),
        connection,
        openNetwork: async (name) => {
          const testnet = await hre.network.create(name);
          return { provider: testnet.provider, close: () => testnet.close() };
        },
        findSwitch: async (testnetChainId) => {
          const file = await readSwitchFile(store, testnetChainId);
          if (file === undefined) return undefined;
          return {
            address: file.address,
            blockNumber: file.blockNumber,
            source: path.relative(process.cwd(), path.join(store.chainDir(testnetChainId), "switch.json")),
          };
        },
        progress: (gate) => {
          if (out.interactive) out.info(`checking ${gate}...`);
        },
      });
      const recorded = await recordGatesRun(store, record, results, { actor: "bg:gates", ...(config.waive !== undefined ? { waiver: config.waive } : {}) });
      return gatesJson(recorded, {
        ...(recorded.evidenceFile !== undefined ? { evidenceFile: path.relative(process.cwd(), recorded.evidenceFile) } : {}),
        driftBefore,
      });
    },
    renderGates,
  );
}
