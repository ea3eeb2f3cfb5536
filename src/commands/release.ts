// Command-line surface of the release steps. Actions load lazily.
import { task } from "hardhat/config";
import { ArgumentType } from "hardhat/types/arguments";

export const releaseTasks = [
  task("bg:stage", "Stage green beside blue (transparent, UUPS or beacon proxy), after OpenZeppelin's upgrade-safety checks both ways and, for UUPS, the rollback-path proof")
    .addOption({ name: "proxy", description: "Address of the proxy (transparent, UUPS, a BeaconProxy) or of an UpgradeableBeacon", type: ArgumentType.STRING, defaultValue: "" })
    .addOption({ name: "contract", description: "Name of the green contract in this project", type: ArgumentType.STRING, defaultValue: "" })
    .addOption({
      name: "reference",
      description: "Blue's contract in this project, when neither OpenZeppelin's manifest, an earlier release nor Ignition's deployments know it",
      type: ArgumentType.STRING,
      defaultValue: "",
    })
    .addFlag({ name: "allowReferenceMismatch", description: "Accept a --reference that does not compile to blue's code (recorded in the release)" })
    .addOption({ name: "release", description: "Release id (default: derived from contract and proxy)", type: ArgumentType.STRING, defaultValue: "" })
    .addFlag({ name: "json", description: "Print one JSON document on stdout" })
    .setAction(() => import("../../tasks/stage.js"))
    .build(),
  task("bg:status", "List releases with their state, blue and green, and any drift from the chain")
    .addOption({ name: "release", description: "Show only this release", type: ArgumentType.STRING, defaultValue: "" })
    .addFlag({ name: "json", description: "Print one JSON document on stdout" })
    .setAction(() => import("../../tasks/status.js"))
    .build(),

  task("bg:demo", "Run the demo: a good and a buggy release end to end (stage, replay, gates, Safe approvals, switch, monitor, rollback) on local nodes")
    .addFlag({ name: "json", description: "Print one JSON document on stdout" })
    .setAction(() => import("../../tasks/demo.js"))
    .build(),
];
