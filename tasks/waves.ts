import { getAddress } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { BlueGreenError } from "../src/errors.js";
import { ReleaseStore } from "../src/release/store.js";
import { parseAddressList } from "../src/switch/deploy-switch.js";
import { readProxyRelease } from "../src/switch/read-switch.js";
import { requireSwitchFile } from "../src/switch/switch-file.js";
import { runCommand } from "../src/ui/output.js";
import { renderWaves } from "../src/ui/waves-view.js";
import { type WaveDecision, mayPromoteWave } from "../src/waves/may-promote-wave.js";
import { recordWavePlan } from "../src/waves/plan-waves.js";
import { readWaveFacts } from "../src/waves/wave-facts.js";
import { type WaveStatus, wavesStatus } from "../src/waves/waves-status.js";
import { readWavesStep, requirePlannedWave } from "../src/waves/waves-step.js";
import { openConnection } from "../src/chain/hardhat-connection.js";

interface WavesArgs {
  release: string;
  proxies: string;
  wave: string;
  json: boolean;
}

interface WavesOutcome {
  ok: boolean;
  release: string;
  planned: boolean;
  fleet: string[];
  waves: WaveStatus[];
  decision?: WaveDecision;
}

export default async function waves(args: WavesArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runCommand(
    args.json,
    async (): Promise<WavesOutcome> => {
      if (args.release === "") throw new BlueGreenError("BG_RECORD_RELEASE_REQUIRED", "Which release? Pass --release <id> (`npx hardhat bg:status` lists them).");
      const connection = await openConnection(hre);
      const provider = connection.ethers.provider;
      const chainId = Number((await provider.getNetwork()).chainId);
      const store = new ReleaseStore(hre.config.blueGreen.recordsDir);
      let record = await store.get(chainId, args.release);
      const switchFile = await requireSwitchFile(store, chainId, connection.networkName);
      let planned = false;
      if (args.proxies !== "") {
        const config = hre.config.blueGreen.waves;
        if (config === undefined) {
          throw new BlueGreenError(
            "BG_WAVES_NOT_CONFIGURED",
            'No waves are configured. Add them to hardhat.config.ts, e.g. blueGreen: { waves: { waves: [{ name: "canary", proxies: 1, bake: "24h" }, { name: "all", proxies: "100%", bake: "48h" }] } }.',
          );
        }
        const fleet = parseAddressList(args.proxies);
        const facts = await Promise.all(
          fleet.map(async (p) => {
            const tracked = await readProxyRelease(provider, switchFile.address, getAddress(p.toLowerCase()));
            return { proxy: p, adopted: tracked.adopted, implementation: tracked.implementation };
          }),
        );
        const result = await recordWavePlan(store, record, fleet, config, facts);
        record = result.record;
        planned = !result.unchanged;
      }
      const plan = readWavesStep(record);
      if (plan === undefined) {
        throw new BlueGreenError("BG_WAVES_NO_PLAN", `Release "${record.id}" has no wave plan. Plan it: npx hardhat bg:waves --release ${record.id} --proxies <a,b,...>`);
      }
      if (args.wave !== "") requirePlannedWave(record.id, plan, args.wave);
      const facts = await readWaveFacts(connection.provider, switchFile.address, record);
      const statuses = wavesStatus(record, facts);
      const asked = args.wave !== "" ? args.wave : statuses.find((w) => w.live < w.proxies.length)?.name;
      const decision = asked !== undefined ? mayPromoteWave(record, facts, { wave: asked }) : undefined;
      return {
        ok: args.wave === "" || decision?.allowed === true,
        release: record.id,
        planned,
        fleet: plan.fleet,
        waves: statuses,
        ...(decision !== undefined ? { decision } : {}),
      };
    },
    (outcome) => renderWaves(outcome.release, outcome.waves, outcome.decision),
  );
}
