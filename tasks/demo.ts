import path from "node:path";

import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { runStageDemo, type DemoResult } from "../src/demo/stage-demo.js";
import { firstSigner } from "../src/stage/signers.js";
import { runCommand } from "../src/ui/output.js";
import { renderStaged, stageJson } from "../src/ui/release-view.js";

interface DemoArgs {
  json: boolean;
}

export default async function demo(args: DemoArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  let result: DemoResult | undefined;
  await runCommand(
    args.json,
    async (out) => {
      // A fresh in-process chain every time: the demo needs no node and leaves none running.
      const connection = await hre.network.create({ network: "default" });
      try {
        out.info("hardhat-bluegreen demo: staging a real upgrade on an embedded chain");
        result = await runStageDemo({
          provider: connection.provider,
          signer: await firstSigner(connection.ethers, connection.networkName),
          recordsDir: path.join(hre.config.paths.cache, "bluegreen-demo", String(Date.now())),
          networkName: "embedded",
          log: (line) => out.info(line),
        });
      } finally {
        await connection.close();
      }
      return { ...stageJson(result.record, { unchanged: false, greenDeployment: "deployed" }), recordPath: result.recordPath };
    },
    () => `\n${renderStaged(result!.record, false, path.relative(process.cwd(), result!.recordPath), false)}`,
  );
}
