// Command-line surface of the switch contract: deploy it, move proxies under it.
import { task } from "hardhat/config";
import { ArgumentType } from "hardhat/types/arguments";

export const switchTasks = [
  task("bg:init", "Deploy the BlueGreenSwitch on this network (or reuse the recorded one) and record its address")
    .addOption({ name: "approver", description: "Approver of releases: a Safe, a timelock, a governor or an account", type: ArgumentType.STRING, defaultValue: "" })
    .addOption({ name: "guardians", description: "Comma-separated guardians, who may schedule a rollback (at least one, or --no-guardians)", type: ArgumentType.STRING, defaultValue: "" })
    .addFlag({ name: "noGuardians", description: "Deploy without guardians: only the approver can start a rollback, and no automatic rollback" })
    .addOption({ name: "rollbackDelay", description: "Seconds before a scheduled rollback can be executed (default 3600)", type: ArgumentType.STRING, defaultValue: "" })
    .addOption({ name: "rollbackWindow", description: "Seconds after a promote during which a rollback can start (default 604800)", type: ArgumentType.STRING, defaultValue: "" })
    .addFlag({ name: "json", description: "Print one JSON document on stdout" })
    .setAction(() => import("../../tasks/init.js"))
    .build(),
  task("bg:adopt", "Move a transparent proxy under the switch: hand it its ProxyAdmin, then adopt it")
    .addOption({ name: "proxy", description: "Address of the TransparentUpgradeableProxy", type: ArgumentType.STRING, defaultValue: "" })
    .addFlag({ name: "json", description: "Print one JSON document on stdout" })
    .setAction(() => import("../../tasks/adopt.js"))
    .build(),
];
