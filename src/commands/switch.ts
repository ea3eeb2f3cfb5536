// Command-line surface of the switch contract: deploy it, move proxies under it.
import { task } from "hardhat/config";
import { ArgumentType } from "hardhat/types/arguments";

export const switchTasks = [
  task("bg:init", "Deploy the BlueGreenSwitch on this network (or reuse the recorded one) and record its address")
    .addOption({ name: "approver", description: "Approver of releases: a Safe (1.3.0 or 1.4.1), a TimelockController or an account", type: ArgumentType.STRING, defaultValue: "" })
    .addOption({ name: "guardians", description: "Comma-separated guardians, who may schedule a rollback (at least one, or --no-guardians)", type: ArgumentType.STRING, defaultValue: "" })
    .addFlag({ name: "noGuardians", description: "Deploy without guardians: only the approver can start a rollback, and no automatic rollback" })
    .addOption({ name: "rollbackDelay", description: "Seconds before a scheduled rollback can be executed (default 3600)", type: ArgumentType.STRING, defaultValue: "" })
    .addOption({ name: "rollbackWindow", description: "Seconds after a promote during which a rollback can start (default 604800)", type: ArgumentType.STRING, defaultValue: "" })
    .addFlag({ name: "json", description: "Print one JSON document on stdout" })
    .setAction(() => import("../../tasks/init.js"))
    .build(),
  task("bg:adopt", "Move a proxy under the switch: hand it the upgrade authority (ProxyAdmin, UUPS owner or role, beacon), then adopt it")
    .addOption({ name: "proxy", description: "Address of the proxy (transparent, UUPS or beacon proxy) or of an UpgradeableBeacon", type: ArgumentType.STRING, defaultValue: "" })
    .addOption({
      name: "role",
      description: "UUPS AccessControl: the upgrader role, bytes32 or a name (default UPGRADER_ROLE)",
      type: ArgumentType.STRING,
      defaultValue: "",
    })
    .addFlag({ name: "json", description: "Print one JSON document on stdout" })
    .setAction(() => import("../../tasks/adopt.js"))
    .build(),
];
