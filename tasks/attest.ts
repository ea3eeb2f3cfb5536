import type { Signer } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { BlueGreenError } from "../src/errors.js";
import { attestRelease } from "../src/gates/attest-release.js";
import { configuredWallets, pickWallet } from "../src/gates/attest-signer.js";
import { attestJson, renderAttest, type AttestOutcome } from "../src/ui/gates-view.js";
import { ReleaseStore } from "../src/release/store.js";
import { runCommand } from "../src/ui/output.js";
import { openConnection } from "../src/chain/hardhat-connection.js";

interface AttestArgs {
  release: string;
  report: string;
  uri: string;
  critical: number;
  high: number;
  medium: number;
  low: number;
  signer: string;
  json: boolean;
}

export default async function attest(args: AttestArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runCommand(
    args.json,
    async (): Promise<AttestOutcome> => {
      for (const [option, value] of [["--release", args.release], ["--report", args.report], ["--uri", args.uri]] as const) {
        if (value === "") {
          throw new BlueGreenError("BG_GATES_ATTEST_ARGUMENT", `${option} is required: npx hardhat bg:attest --release <id> --report <file> --uri <url> [--critical n] [--high n]`);
        }
      }
      const networkName = hre.globalOptions.network ?? "default";
      const network = hre.config.networks[networkName];
      if (network === undefined) throw new BlueGreenError("BG_CONFIG_NETWORK_UNKNOWN", `Network "${networkName}" is not in hardhat.config.ts. Pass --network <name> of a network with the auditor's key.`);
      const wallets = await configuredWallets(network, networkName);
      let signer: Signer;
      if (wallets === "remote") {
        // The node holds the keys: sign through it (eth_signTypedData_v4).
        const connection = await openConnection(hre);
        const signers = await connection.ethers.getSigners();
        const wanted = args.signer.trim();
        const found = wanted === "" ? signers[0] : /^\d+$/.test(wanted) ? signers[Number(wanted)] : signers.find((s) => s.address.toLowerCase() === wanted.toLowerCase());
        if (found === undefined) {
          throw new BlueGreenError(
            "BG_CONFIG_SIGNER_UNKNOWN",
            `--signer ${wanted || "(default)"} is not among the ${signers.length} account(s) the node of network "${networkName}" manages. Pass one of: ${signers.map((s) => s.address).join(", ") || "(none)"}.`,
          );
        }
        signer = found;
      } else {
        signer = pickWallet(wallets, args.signer, networkName);
      }
      const gates = hre.config.blueGreen.gates;
      const result = await attestRelease({
        store: new ReleaseStore(hre.config.blueGreen.recordsDir),
        release: args.release,
        reportFile: args.report,
        reportUri: args.uri,
        findings: { critical: args.critical, high: args.high, medium: args.medium, low: args.low },
        signer,
        dir: gates.auditsDir,
        projectRoot: hre.config.paths.root,
        ...(gates.audits !== undefined ? { auditors: gates.audits.auditors } : {}),
      });
      return attestJson(result, args.release);
    },
    renderAttest,
  );
}
