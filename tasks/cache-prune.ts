import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { BlueGreenError } from "../src/errors.js";
import { SourceCache } from "../src/replay/source-cache.js";
import { renderCachePrune } from "../src/ui/cache-terminal.js";
import { runCommand } from "../src/ui/output.js";

interface PruneArgs {
  maxMb: string;
  all: boolean;
  json: boolean;
}

export default async function cachePrune(args: PruneArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runCommand(
    args.json,
    async () => {
      const { dir, maxBytes } = hre.config.blueGreen.replay.sourceCache;
      let limit = maxBytes;
      if (args.maxMb !== "") {
        const mb = Number(args.maxMb);
        if (!Number.isFinite(mb) || mb < 0) throw new BlueGreenError("BG_CACHE_OPTION", `--max-mb "${args.maxMb}" is not a size. Pass a number of MB, e.g. --max-mb 500, or --all.`);
        limit = Math.round(mb * 1024 * 1024);
      }
      const cache = new SourceCache(dir, limit);
      const before = await cache.usage();
      const { removed, left } = await cache.prune({ maxBytes: limit, all: args.all });
      return { ok: true, dir, maxBytes: args.all ? 0 : limit, before, removed, left };
    },
    (r) => renderCachePrune(r),
  );
}
