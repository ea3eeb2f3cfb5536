import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { BlueGreenError } from "../src/errors.js";
import { ReleaseStore } from "../src/release/store.js";
import { runCommand } from "../src/ui/output.js";
import { openConnection } from "../src/chain/hardhat-connection.js";

interface VerifyArgs {
  release: string;
  provider: string;
  json: boolean;
}

const PROVIDERS = ["etherscan", "blockscout", "sourcify"] as const;
type Provider = (typeof PROVIDERS)[number];

/**
 * Publishes green's source to a block explorer or Sourcify through
 * @nomicfoundation/hardhat-verify, the tool users already configure for
 * their explorers: one verification per run, with green's recorded address
 * and fully qualified name, so what is published is what was staged.
 */
export default async function verify(args: VerifyArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runCommand(
    args.json,
    async (out) => {
      if (args.release === "") throw new BlueGreenError("BG_VERIFY_RELEASE", "Which release? Pass --release <id> (`npx hardhat bg:status` lists them).");
      const provider = (args.provider === "" ? "etherscan" : args.provider) as Provider;
      if (!PROVIDERS.includes(provider)) {
        throw new BlueGreenError("BG_VERIFY_PROVIDER", `--provider "${args.provider}" is not one of ${PROVIDERS.join(", ")}.`);
      }
      // hardhat-verify adds its `verify` config section; without the plugin there is nothing to publish through.
      const verifyContract = (hre.config as { verify?: unknown }).verify === undefined ? undefined : await loadVerifyContract();
      if (verifyContract === undefined) {
        throw new BlueGreenError(
          "BG_VERIFY_PLUGIN",
          "bg:verify publishes green's source through @nomicfoundation/hardhat-verify. " +
            "Install it (npm install --save-dev @nomicfoundation/hardhat-verify), add it to `plugins` in hardhat.config.ts with your explorer's settings, and run bg:verify again.",
        );
      }
      const connection = await openConnection(hre);
      const chainId = Number(BigInt((await connection.provider.request({ method: "eth_chainId" })) as string));
      const record = await new ReleaseStore(hre.config.blueGreen.recordsDir).get(chainId, args.release);
      out.info(`Verifying green ${record.green.address} (${record.green.fullyQualifiedName}) on ${provider}...`);
      try {
        await verifyContract({ address: record.green.address, contract: record.green.fullyQualifiedName, provider }, hre);
      } catch (e) {
        throw new BlueGreenError(
          "BG_VERIFY_FAILED",
          `${provider} did not verify green ${record.green.address}: ${(e as Error).message.split("\n")[0]} ` +
            `Check the explorer settings of --network ${connection.networkName} in hardhat-verify's config (API key, URL) and that the explorer is reachable from here.`,
        );
      }
      return { ok: true, release: record.id, provider, green: record.green.address, contract: record.green.fullyQualifiedName };
    },
    (r) => `✔ Green ${r.green} (${r.contract}) of release ${r.release} is verified on ${r.provider}.`,
  );
}

type VerifyContract = (args: { address: string; contract: string; provider: Provider }, hre: HardhatRuntimeEnvironment) => Promise<boolean>;

async function loadVerifyContract(): Promise<VerifyContract | undefined> {
  try {
    const module = (await import("@nomicfoundation/hardhat-verify/verify" as string)) as { verifyContract: VerifyContract };
    return module.verifyContract;
  } catch {
    return undefined;
  }
}
