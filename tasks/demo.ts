import path from "node:path";

import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { type DemoSummary, renderDemoEnd, runDemo } from "../src/demo/run-demo.js";
import { edrForkOpener } from "../src/replay/open-edr-fork.js";
import { runCommand } from "../src/ui/output.js";

interface DemoArgs {
  json: boolean;
}

export default async function demo(args: DemoArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runCommand<DemoSummary>(
    args.json,
    (out) =>
      runDemo({
        cacheDir: hre.config.paths.cache,
        // The replay forks the demo's "mainnet" in process; its chain (31337) runs Prague, like the node.
        openFork: edrForkOpener(hre.network, { hardfork: "prague", edrForkCache: path.join(hre.config.paths.cache, "edr-fork-cache") }),
        log: (line) => out.info(line),
      }),
    renderDemoEnd,
  );
}
