// Command-line surface of the replay: bg:replay and the bg:mirror tee. Actions load lazily.
import { task } from "hardhat/config";
import { ArgumentType } from "hardhat/types/arguments";

export const replayTasks = [
  task("bg:replay", "Replay the proxy's real traffic on a fork, as blue and with green switched in, and report every divergence")
    .addOption({ name: "release", description: "Release id", type: ArgumentType.STRING, defaultValue: "" })
    .addOption({ name: "fromBlock", description: "First block of the range to replay", type: ArgumentType.STRING, defaultValue: "" })
    .addOption({ name: "toBlock", description: "Last block of the range to replay", type: ArgumentType.STRING, defaultValue: "" })
    .addOption({ name: "lastBlocks", description: "Replay the last K blocks of the source instead of a range", type: ArgumentType.STRING, defaultValue: "" })
    .addOption({ name: "traffic", description: "Replay a capture file (JSON Lines, see docs/replay.md) instead of a range", type: ArgumentType.STRING, defaultValue: "" })
    .addOption({ name: "mode", description: "faithful (whole blocks, in order) or fast (the proxy's traffic only); default from config", type: ArgumentType.STRING, defaultValue: "" })
    .addOption({ name: "proxies", description: "A beacon release: the beacon's proxies to replay, comma-separated (default: found from BeaconUpgraded events)", type: ArgumentType.STRING, defaultValue: "" })
    .addFlag({ name: "cascade", description: "Also run a world where green's own state carries forward, and report the propagated differences" })
    .addOption({ name: "canary", description: "Replay with a CanaryRouter sending this many basis points of callers to green (500 = 5%); reports the split and the router's gas", type: ArgumentType.STRING, defaultValue: "" })
    .addOption({ name: "canarySalt", description: "The canary's salt (bytes32); default: blueGreen.canary.salt, else derived from the release id", type: ArgumentType.STRING, defaultValue: "" })
    .addOption({ name: "canaryCohort", description: "Who a caller is for the canary: origin (tx.origin, default) or sender (msg.sender)", type: ArgumentType.STRING, defaultValue: "" })
    .addOption({ name: "shard", description: "Replay only the i-th of n slices of the range (i/n, e.g. 2/4) and write a partial report for bg:replay merge", type: ArgumentType.STRING, defaultValue: "" })
    .addFlag({ name: "json", description: "Print one JSON document on stdout" })
    .setAction(() => import("../../tasks/replay.js"))
    .build(),
  task(["bg:replay", "merge"], "Merge the partial reports of bg:replay --shard i/n into the release's one replay report, and record it")
    .addVariadicArgument({ name: "reports", description: "The partial reports of all n shards (replay-shard-<i>-of-<n>-<time>.json)" })
    .addFlag({ name: "json", description: "Print one JSON document on stdout" })
    .setAction(() => import("../../tasks/replay-merge.js"))
    .build(),
  task("bg:mirror", "Run a local JSON-RPC tee that forwards to a node and captures the proxy's traffic for bg:replay --traffic")
    .addOption({ name: "upstream", description: "URL of the node to forward to", type: ArgumentType.STRING, defaultValue: "" })
    .addOption({ name: "proxy", description: "Address of the proxy whose traffic to capture", type: ArgumentType.STRING, defaultValue: "" })
    .addOption({ name: "port", description: "Port to listen on (loopback)", type: ArgumentType.INT, defaultValue: 8546 })
    .addOption({ name: "out", description: "Capture file to append to", type: ArgumentType.STRING, defaultValue: "bluegreen-capture.jsonl" })
    .setAction(() => import("../../tasks/mirror.js"))
    .build(),
];
