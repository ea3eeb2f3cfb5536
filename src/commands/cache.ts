// Command-line surface of the shared source cache: bg:cache prune. Actions load lazily.
import { emptyTask, task } from "hardhat/config";
import { ArgumentType } from "hardhat/types/arguments";

export const cacheTasks = [
  emptyTask("bg:cache", "The shared source cache of bg:replay (state read from source chains, reused by every run)").build(),
  task(["bg:cache", "prune"], "Shrink the shared source cache to a size (least recently read first), or empty it")
    .addOption({ name: "maxMb", description: "Size to shrink to, in MB (default: blueGreen.replay.sourceCache.maxMb)", type: ArgumentType.STRING, defaultValue: "" })
    .addFlag({ name: "all", description: "Remove everything" })
    .addFlag({ name: "json", description: "Print one JSON document on stdout" })
    .setAction(() => import("../../tasks/cache-prune.js"))
    .build(),
];
