import path from "node:path";

import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import type { Eip1193Provider } from "../src/chain/eip1193.js";
import { BlueGreenError } from "../src/errors.js";
import type { GatesConfig } from "../src/gates/config.js";
import type { ProjectChain } from "../src/gates/project-chain.js";
import type { ReleaseRecord } from "../src/release/record.js";
import { STAGE_BUILD_PROFILE } from "./stage.js";
import { evaluateGates } from "../src/gates/evaluate-gates.js";
import { checkEvidenceDrift, GATES_RECHECK_STEP, GATES_STEP, readGatesStep, recordGatesRun } from "../src/gates/gates-step.js";
import { gatesJson, renderGates, type GatesOutcome } from "../src/ui/gates-view.js";
import { ReleaseStore } from "../src/release/store.js";
import { readSwitchFile } from "../src/switch/switch-file.js";
import { findDrift, readChainView, type Drift } from "../src/status/reconcile.js";
import { runCommand } from "../src/ui/output.js";
import { readWavesStep } from "../src/waves/waves-step.js";
import { openConnection } from "../src/chain/hardhat-connection.js";
import { forkOfConnection } from "../src/switch/rollback-path.js";

/**
 * The chain and the project's build for the gates that re-check them. The
 * project is built at the profile green was staged with, so "this project's
 * build" means the same compiler settings as green's deployment.
 */
async function projectChain(
  hre: HardhatRuntimeEnvironment,
  record: ReleaseRecord,
  provider: ProjectChain["provider"],
  store: ReleaseStore,
  config: GatesConfig,
): Promise<ProjectChain | undefined> {
  const buildProfile = record.green.buildProfile ?? STAGE_BUILD_PROFILE;
  const needsBuild = config.upgradeSafety !== undefined || config.source !== undefined;
  if (needsBuild) {
    const asked = hre.globalOptions.buildProfile;
    if (asked !== undefined && asked !== buildProfile) {
      throw new BlueGreenError(
        "BG_GATES_BUILD_PROFILE",
        `green of release "${record.id}" was staged with build profile "${buildProfile}", but --build-profile ${asked} was given. ` +
          `Drop --build-profile (or pass ${buildProfile}): the gates compare green with the build it was deployed from.`,
      );
    }
    await hre.tasks.getTask("build").run({ quiet: true, noTests: true, defaultBuildProfile: buildProfile });
  }
  return { provider, artifacts: hre.artifacts, store, stageConfig: hre.config.blueGreen.stage, buildProfile };
}

// bg:gates records evidence only about the release bg:status would show
// clean: when the chain differs from the record (green's code is not the
// staged code, the proxy no longer runs what its state says, blue's code or
// the admin changed), an evidence hash would vouch for code that is not on
// chain. The comparison is bg:status's own (src/status/reconcile.ts), read
// here in the command because the gates sit below status.

/**
 * The drift bg:status reports for this record that bars recording evidence.
 * Left out: the proxy's implementation of a release planned in waves (each
 * proxy goes by its own wave there, and bg:status judges them one by one
 * from the switch), and, when the upgradeSafety gate is required, the
 * proxy's implementation too: that gate re-reads it from the chain and fails
 * naming what the proxy runs, so the run cannot pass.
 */
async function chainDriftBeforeGates(provider: Eip1193Provider, record: ReleaseRecord, config: Pick<GatesConfig, "upgradeSafety">): Promise<Drift[]> {
  const drift = findDrift(record, await readChainView(provider, record));
  const implementationJudgedElsewhere = readWavesStep(record) !== undefined || config.upgradeSafety?.required === true;
  return implementationJudgedElsewhere ? drift.filter((d) => d.field !== "implementation") : drift;
}

/** Throws BG_GATES_CHAIN_DRIFT, naming each difference and the fix, when `drift` is not empty. */
function assertNoChainDrift(record: ReleaseRecord, drift: readonly Drift[], options: { afterRun?: boolean } = {}): void {
  if (drift.length === 0) return;
  const greenMoved = drift.some((d) => d.field === "green.codehash");
  throw new BlueGreenError(
    "BG_GATES_CHAIN_DRIFT",
    `Release "${record.id}" does not match the chain, as bg:status shows, so bg:gates ${options.afterRun === true ? "recorded nothing (the chain changed while the gates ran)" : "evaluated and recorded nothing"}. ` +
      drift.map((d) => `${d.field}: ${d.message} Recorded ${d.recorded}, on chain ${d.onChain}.`).join(" "),
    {
      hint: greenMoved
        ? `Do not propose this green: stage it again (npx hardhat bg:stage --network <net> --proxy ${record.proxy} --contract ${record.green.contract}), then run bg:gates on the staged release.`
        : "Find out who changed the proxy (npx hardhat bg:status shows the same drift); put it back, or stage a new release from what it runs now, then run bg:gates.",
    },
  );
}

interface GatesArgs {
  release: string;
  json: boolean;
}

export default async function gates(args: GatesArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runCommand(
    args.json,
    async (out): Promise<GatesOutcome> => {
      if (args.release === "") {
        throw new BlueGreenError("BG_GATES_RELEASE_MISSING", "Which release? Pass --release <id> (`npx hardhat bg:status` lists them).");
      }
      const connection = await openConnection(hre);
      const chainId = Number(BigInt((await connection.provider.request({ method: "eth_chainId" })) as string));
      const store = new ReleaseStore(hre.config.blueGreen.recordsDir);
      const record = await store.get(chainId, args.release);
      const file = path.relative(process.cwd(), store.recordPath(chainId, record.id));
      // A damaged gates step is named as such; any other damaged step stops the run too, before
      // anything is evaluated or written: bg:gates never rewrites a record it cannot read whole.
      readGatesStep(record, GATES_STEP, file);
      readGatesStep(record, GATES_RECHECK_STEP, file);
      await store.readIntact(chainId, record.id);
      const projectRoot = hre.config.paths.root;
      const config = hre.config.blueGreen.gates;
      // Evidence is only recorded about a release bg:status shows matching the chain.
      assertNoChainDrift(record, await chainDriftBeforeGates(connection.provider, record, config));
      const driftBefore = await checkEvidenceDrift(record, projectRoot);
      const chain = await projectChain(hre, record, connection.provider, store, config);

      const results = await evaluateGates(record, config, {
        projectRoot,
        releaseDir: store.releaseDir(chainId, record.id),
        connection,
        openNetwork: async (name) => {
          const testnet = await openConnection(hre, name);
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
        ...(chain !== undefined ? { chain } : {}),
        monitor: hre.config.blueGreen.monitor,
        ...(config.rollbackPath !== undefined ? { openFork: forkOfConnection(hre.network, connection, { chainId, edrForkCache: path.join(hre.config.paths.cache, "edr-fork-cache") }) } : {}),
      });
      // The chain may have moved while the gates ran (a long testnet or replay gate): check again before recording.
      assertNoChainDrift(record, await chainDriftBeforeGates(connection.provider, record, config), { afterRun: true });
      const recorded = await recordGatesRun(store, record, results, { actor: "bg:gates", ...(config.waive !== undefined ? { waiver: config.waive } : {}) });
      // Files the gates wrote into the release folder, for people to find them.
      const wrote = recorded.step.evidenceFiles
        .map((f) => f.path)
        .filter((p) => path.resolve(projectRoot, p).startsWith(store.releaseDir(chainId, record.id) + path.sep));
      return gatesJson(recorded, {
        ...(recorded.evidenceFile !== undefined ? { evidenceFile: path.relative(process.cwd(), recorded.evidenceFile) } : {}),
        driftBefore,
        wrote: wrote.filter((p) => !/\/replay-[^/]*$/.test(p)),
      });
    },
    renderGates,
  );
}
