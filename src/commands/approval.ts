// Command-line surface of approval and the switch: propose, sign, execute,
// roll back, finalize, and the same path for every other approver call.
import { emptyTask, task } from "hardhat/config";
import { ArgumentType } from "hardhat/types/arguments";

const signerOption = {
  name: "signer",
  description: "Address of the account that acts (one of the network's configured accounts; default: the first)",
  type: ArgumentType.STRING,
  defaultValue: "",
} as const;
const releaseOption = { name: "release", description: "Release id (`npx hardhat bg:status` lists them)", type: ArgumentType.STRING, defaultValue: "" } as const;
const waveOption = {
  name: "wave",
  description: "Wave of a release planned with bg:waves: its proxies are promoted together in one promoteBatch",
  type: ArgumentType.STRING,
  defaultValue: "",
} as const;
const stepOption = {
  name: "step",
  description: "Canary step of blueGreen.canary.steps (e.g. 1%): a share of the proxy's callers on green, through a CanaryRouter",
  type: ArgumentType.STRING,
  defaultValue: "",
} as const;
const jsonFlag = { name: "json", description: "Print one JSON document on stdout" } as const;

export const approvalTasks = [
  task("bg:propose", "Propose the switch of a release to the approver: Safe transaction, safeTxHash, Transaction Builder file, summary")
    .addOption(releaseOption)
    .addOption({ name: "nonce", description: "Safe nonce to use (default: the Safe's next one)", type: ArgumentType.STRING, defaultValue: "" })
    .addOption(waveOption)
    .addOption(stepOption)
    .addOption({
      name: "overrideBake",
      description: "With --wave: promote it before the previous wave has baked healthy, for this reason (recorded, and shown to signers)",
      type: ArgumentType.STRING,
      defaultValue: "",
    })
    .addFlag(jsonFlag)
    .setAction(() => import("../../tasks/propose.js"))
    .build(),
  task("bg:approve", "Add one Safe owner's signature to a proposal (a release's switch, or an approver call)")
    .addOption(releaseOption)
    .addOption({ name: "call", description: "Id of an approver call proposed with bg:call propose, bg:rollback or bg:finalize", type: ArgumentType.STRING, defaultValue: "" })
    .addOption(waveOption)
    .addOption(stepOption)
    .addOption(signerOption)
    .addOption({ name: "signature", description: "A signature made elsewhere (e.g. a hardware wallet) over the proposal's safeTxHash", type: ArgumentType.STRING, defaultValue: "" })
    .addFlag(jsonFlag)
    .setAction(() => import("../../tasks/approve.js"))
    .build(),
  task("bg:switch", "Execute an approved release's switch: drift checks, simulation, execTransaction, implementation check")
    .addOption(releaseOption)
    .addOption(waveOption)
    .addOption(stepOption)
    .addOption(signerOption)
    .addFlag(jsonFlag)
    .setAction(() => import("../../tasks/switch.js"))
    .build(),
  task("bg:rollback", "Schedule a rollback to blue (guardian), or --execute it (anyone), --cancel it or roll back --now (approver)")
    .addOption(releaseOption)
    .addFlag({ name: "execute", description: "Execute a scheduled rollback whose delay has passed" })
    .addFlag({ name: "cancel", description: "Veto a scheduled rollback (approver, through a proposal)" })
    .addFlag({ name: "now", description: "Roll back at once, skipping the delay (approver, through a proposal)" })
    .addOption(signerOption)
    .addFlag(jsonFlag)
    .setAction(() => import("../../tasks/rollback.js"))
    .build(),
  task("bg:finalize", "Close a release's rollback window: anyone after it ends, the approver (through a proposal) before")
    .addOption(releaseOption)
    .addOption(signerOption)
    .addFlag(jsonFlag)
    .setAction(() => import("../../tasks/finalize.js"))
    .build(),
  emptyTask("bg:call", "Any approver-only call of the switch (adopt, release, approver and guardian changes...) through the approval path").build(),
  task(["bg:call", "propose"], "Propose an approver call of the switch; owners then sign it with bg:approve --call <id>")
    .addOption({ name: "function", description: "Switch function, e.g. adopt, addGuardian, proposeApprover, release", type: ArgumentType.STRING, defaultValue: "" })
    .addOption({ name: "args", description: 'Its arguments as a JSON array, e.g. \'["0xabc..."]\'', type: ArgumentType.STRING, defaultValue: "[]" })
    .addOption({ name: "id", description: "Id of the call (default: function name and a hash of its calldata)", type: ArgumentType.STRING, defaultValue: "" })
    .addOption({ name: "nonce", description: "Safe nonce to use (default: the Safe's next one)", type: ArgumentType.STRING, defaultValue: "" })
    .addFlag(jsonFlag)
    .setAction(() => import("../../tasks/call-propose.js"))
    .build(),
  task(["bg:call", "execute"], "Execute a proposed approver call once it has enough signatures")
    .addOption({ name: "call", description: "Id of the call", type: ArgumentType.STRING, defaultValue: "" })
    .addOption(signerOption)
    .addFlag(jsonFlag)
    .setAction(() => import("../../tasks/call-execute.js"))
    .build(),
];
