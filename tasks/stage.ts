import path from "node:path";

import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import type { ReleaseRecord } from "../src/release/record.js";
import { ReleaseStore } from "../src/release/store.js";
import { stageRelease } from "../src/stage/stage-release.js";
import { firstSigner } from "../src/stage/signers.js";
import { runCommand } from "../src/ui/output.js";
import { renderStaged, stageJson } from "../src/ui/release-view.js";

interface StageArgs {
  proxy: string;
  contract: string;
  reference: string;
  release: string;
  json: boolean;
}

export default async function stage(args: StageArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  let staged: { record: ReleaseRecord; unchanged: boolean; recordPath: string } | undefined;
  await runCommand(
    args.json,
    async (out) => {
      await hre.tasks.getTask("build").run({ quiet: true, noTests: true });
      const connection = await hre.network.getOrCreate();
      const store = new ReleaseStore(hre.config.blueGreen.recordsDir);
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
        ...(args.release !== "" ? { releaseId: args.release } : {}),
        log: (line) => out.info(line),
      });
      const recordPath = path.relative(process.cwd(), store.recordPath(result.record.chainId, result.record.id));
      staged = { record: result.record, unchanged: result.unchanged, recordPath };
      return stageJson(result.record, result);
    },
    () => renderStaged(staged!.record, staged!.unchanged, staged!.recordPath),
  );
}
