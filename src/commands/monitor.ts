// Command-line surface of the monitor and of wave rollouts. Actions load lazily.
import { task } from "hardhat/config";
import { ArgumentType } from "hardhat/types/arguments";

export const monitorTasks = [
  task("bg:monitor", "Watch a live release: analyse green's traffic against blue's baseline, alert, and roll back through a guardian on failure")
    .addOption({ name: "release", description: "Release id", type: ArgumentType.STRING, defaultValue: "" })
    .addOption({ name: "duration", description: "Stop after this long (seconds, or 90m, 48h); default: until the release is closed", type: ArgumentType.STRING, defaultValue: "" })
    .addFlag({ name: "once", description: "Catch up with the chain, judge once, and exit (0 healthy, 1 failing, 2 inconclusive: too few blocks analysed): for CI and cron" })
    .addOption({ name: "metricsPort", description: "Serve Prometheus metrics on this port (/metrics)", type: ArgumentType.STRING, defaultValue: "" })
    .addFlag({ name: "autoRollback", description: "On a failed analysis, schedule the rollback as a guardian and execute it once ready" })
    .addOption({ name: "signer", description: "The guardian's account for --auto-rollback (address of one of the network's accounts)", type: ArgumentType.STRING, defaultValue: "" })
    .addFlag({ name: "acknowledge", description: "Resume an analysis that ended inconclusive or failed, after a person checked it" })
    .addFlag({ name: "json", description: "Print one JSON document on stdout (log lines go to stderr)" })
    .setAction(() => import("../../tasks/monitor.js"))
    .build(),
  task("bg:waves", "Plan a release's waves over a fleet of proxies, and show where each wave stands and whether the next may go")
    .addOption({ name: "release", description: "Release id", type: ArgumentType.STRING, defaultValue: "" })
    .addOption({ name: "proxies", description: "Comma-separated proxies of the fleet, in promotion order (plans the waves)", type: ArgumentType.STRING, defaultValue: "" })
    .addOption({ name: "wave", description: "Say whether this wave may be promoted now", type: ArgumentType.STRING, defaultValue: "" })
    .addFlag({ name: "json", description: "Print one JSON document on stdout" })
    .setAction(() => import("../../tasks/waves.js"))
    .build(),
];
