import path from "node:path";

import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import type { ReleaseRecord } from "../src/release/record.js";
import { ReleaseStore } from "../src/release/store.js";
import { withBuildLock } from "../src/stage/build-lock.js";
import { stageRelease } from "../src/stage/stage-release.js";
import { firstSigner } from "../src/stage/signers.js";
import { runCommand } from "../src/ui/output.js";
import { renderStaged, stageJson } from "../src/ui/release-view.js";
import { openConnection } from "../src/chain/hardhat-connection.js";
import { forkOfConnection } from "../src/switch/rollback-path.js";
import { stagedRollbackPathProver } from "../src/switch/staged-rollback-path.js";
import { readSwitchFile } from "../src/switch/switch-file.js";

interface StageArgs {
  proxy: string;
  contract: string;
  reference: string;
  allowReferenceMismatch: boolean;
  release: string;
  json: boolean;
}

/**
 * What a deployment is built with unless the user says otherwise: the same
 * default as `ignition deploy`, so green is optimized like a blue that
 * Ignition deployed, and never an unoptimized test build.
 */
export const STAGE_BUILD_PROFILE = "production";

export default async function stage(args: StageArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  let staged: { record: ReleaseRecord; unchanged: boolean; recordPath: string } | undefined;
  await runCommand(
    args.json,
    async (out) => {
      // Hardhat's global --build-profile wins over this default, as it does for Ignition.
      const buildProfile = hre.globalOptions.buildProfile ?? STAGE_BUILD_PROFILE;
      await withBuildLock(hre.config.paths.cache, () => hre.tasks.getTask("build").run({ quiet: true, noTests: true, defaultBuildProfile: STAGE_BUILD_PROFILE }));
      const connection = await openConnection(hre);
      const store = new ReleaseStore(hre.config.blueGreen.recordsDir);
      const chainId = Number(BigInt((await connection.provider.request({ method: "eth_chainId" })) as string));
      const switchFile = await readSwitchFile(store, chainId);
      // Ignition's paths.ignition exists only when its plugin is loaded; its folder is the same either way.
      const ignitionDir = (hre.config.paths as { ignition?: string }).ignition ?? path.join(hre.config.paths.root, "ignition");
      const result = await stageRelease({
        provider: connection.provider,
        signer: await firstSigner(connection.ethers, connection.networkName),
        artifacts: hre.artifacts,
        store,
        networkName: connection.networkName,
        config: hre.config.blueGreen.stage,
        proxy: args.proxy,
        contract: args.contract,
        ...(args.reference !== "" ? { reference: args.reference } : {}),
        ...(args.allowReferenceMismatch ? { allowReferenceMismatch: true } : {}),
        ...(args.release !== "" ? { releaseId: args.release } : {}),
        buildProfile,
        ignitionDeploymentsDir: path.join(ignitionDir, "deployments"),
        compileBuildInfo: (buildInfo) => hre.solidity.compileBuildInfo(buildInfo, { quiet: true }),
        log: (line) => out.info(line),
        // UUPS: green is switched in and back on a fork of this chain before anything is sent.
        proveRollbackPath: stagedRollbackPathProver({
          openFork: forkOfConnection(hre.network, connection, { chainId, edrForkCache: path.join(hre.config.paths.cache, "edr-fork-cache") }),
          ...(switchFile !== undefined ? { switchAddress: switchFile.address } : {}),
        }),
      });
      const recordPath = path.relative(process.cwd(), store.recordPath(result.record.chainId, result.record.id));
      staged = { record: result.record, unchanged: result.unchanged, recordPath };
      return stageJson(result.record, result);
    },
    () => renderStaged(staged!.record, staged!.unchanged, staged!.recordPath),
  );
}
