import type { Signer } from "ethers";

import { BlueGreenError } from "../errors.js";

interface SignerSource {
  getSigners(): Promise<Signer[]>;
}

/**
 * The account that acts for the user: `--signer <address>` if given (it must
 * be one of the network's configured accounts), else the first one.
 */
export async function firstSigner(ethers: SignerSource, networkName: string, wanted?: string): Promise<Signer> {
  const signers = await ethers.getSigners();
  if (signers.length === 0) {
    throw new BlueGreenError(
      "BG_CONFIG_NO_ACCOUNTS",
      `Network "${networkName}" has no accounts. Add one in hardhat.config.ts, e.g. accounts: [configVariable("DEPLOYER_KEY")], ` +
        "and set DEPLOYER_KEY in the environment or with `npx hardhat keystore set DEPLOYER_KEY`.",
    );
  }
  if (wanted === undefined || wanted === "") return signers[0]!;
  for (const signer of signers) {
    if ((await signer.getAddress()).toLowerCase() === wanted.toLowerCase()) return signer;
  }
  const known = await Promise.all(signers.map((s) => s.getAddress()));
  throw new BlueGreenError(
    "BG_CONFIG_SIGNER_UNKNOWN",
    `--signer ${wanted} is not an account of network "${networkName}". Its accounts are: ${known.join(", ")}. ` +
      "Add the key to the network's accounts (through a configuration variable or the keystore), or pick one of these.",
  );
}
