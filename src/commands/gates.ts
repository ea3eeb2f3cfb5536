// Command-line surface of the gates: evaluating them, and auditors attesting. Actions load lazily.
import { task } from "hardhat/config";
import { ArgumentType } from "hardhat/types/arguments";

export const gatesTasks = [
  task("bg:gates", "Evaluate the release's gates (audits, testnet bake, replay, coverage, safety, source, observability, secrets, custom) and record the evidence hash")
    .addOption({ name: "release", description: "Release id", type: ArgumentType.STRING, defaultValue: "" })
    .addFlag({ name: "json", description: "Print one JSON document on stdout" })
    .setAction(() => import("../../tasks/gates.js"))
    .build(),
  task("bg:attest", "Sign an EIP-712 audit attestation of a release's green bytecode with a configured account")
    .addOption({ name: "release", description: "Release id", type: ArgumentType.STRING, defaultValue: "" })
    .addOption({ name: "report", description: "The audit report file (its sha256 is signed)", type: ArgumentType.STRING, defaultValue: "" })
    .addOption({ name: "uri", description: "Where the report is published (https://, ipfs://...)", type: ArgumentType.STRING, defaultValue: "" })
    .addOption({ name: "critical", description: "Open critical findings", type: ArgumentType.INT, defaultValue: 0 })
    .addOption({ name: "high", description: "Open high findings", type: ArgumentType.INT, defaultValue: 0 })
    .addOption({ name: "medium", description: "Open medium findings", type: ArgumentType.INT, defaultValue: 0 })
    .addOption({ name: "low", description: "Open low findings", type: ArgumentType.INT, defaultValue: 0 })
    .addOption({
      name: "signer",
      description: "Address or index of one of the network's configured accounts (default: the first)",
      type: ArgumentType.STRING,
      defaultValue: "",
    })
    .addFlag({ name: "json", description: "Print one JSON document on stdout" })
    .setAction(() => import("../../tasks/attest.js"))
    .build(),
  task("bg:verify", "Publish green's source to a block explorer or Sourcify through @nomicfoundation/hardhat-verify")
    .addOption({ name: "release", description: "Release id", type: ArgumentType.STRING, defaultValue: "" })
    .addOption({ name: "provider", description: "etherscan (default), blockscout or sourcify", type: ArgumentType.STRING, defaultValue: "" })
    .addFlag({ name: "json", description: "Print one JSON document on stdout" })
    .setAction(() => import("../../tasks/verify.js"))
    .build(),
];
