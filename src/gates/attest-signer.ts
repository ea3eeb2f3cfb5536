/**
 * Which key signs an attestation: one of the accounts configured for the
 * network in hardhat.config.ts. Keys come from configuration variables
 * (`configVariable("AUDITOR_KEY")`, resolved from the environment or
 * hardhat-keystore) or from an HD mnemonic, and sign locally: no RPC call,
 * no chain. Networks with `accounts: "remote"` sign through the node.
 */
import { HDNodeWallet, Wallet, getAddress, isAddress } from "ethers";
import type { NetworkConfig } from "hardhat/types/config";

import { BlueGreenError } from "../errors.js";

interface Resolvable {
  get(): Promise<string>;
}

/** The locally held keys of a network's configured accounts, in config order. */
export async function configuredWallets(network: NetworkConfig, networkName: string): Promise<Wallet[] | "remote"> {
  const accounts = (network as { accounts?: unknown }).accounts;
  if (accounts === "remote") return "remote";
  if (Array.isArray(accounts)) {
    const keys: string[] = [];
    for (const entry of accounts as Array<Resolvable | { privateKey: Resolvable }>) {
      const variable = "privateKey" in entry ? entry.privateKey : entry;
      keys.push(await variable.get());
    }
    return keys.map((k) => new Wallet(k.startsWith("0x") ? k : "0x" + k));
  }
  if (accounts !== null && typeof accounts === "object" && "mnemonic" in accounts) {
    const hd = accounts as { mnemonic: Resolvable; passphrase: Resolvable; path: string; initialIndex: number; count: number };
    const mnemonic = (await hd.mnemonic.get()).trim();
    const passphrase = await hd.passphrase.get();
    const base = hd.path.endsWith("/") ? hd.path : hd.path + "/";
    // The seed is the slow part (PBKDF2); derive it once and walk from the root.
    const root = HDNodeWallet.fromPhrase(mnemonic, passphrase, "m");
    const wallets: Wallet[] = [];
    for (let i = hd.initialIndex; i < hd.initialIndex + hd.count; i++) {
      wallets.push(new Wallet(root.derivePath(base + i).privateKey));
    }
    return wallets;
  }
  throw new BlueGreenError(
    "BG_CONFIG_NO_ACCOUNTS",
    `Network "${networkName}" has no accounts to sign with. Add the auditor's key to it, e.g. accounts: [configVariable("AUDITOR_KEY")], ` +
      "and provide AUDITOR_KEY through an environment variable or hardhat-keystore.",
  );
}

/**
 * Picks the wallet for `--signer`: an address among the configured
 * accounts, an index into them, or (empty) the first one.
 */
export function pickWallet(wallets: Wallet[], signer: string, networkName: string): Wallet {
  if (wallets.length === 0) {
    throw new BlueGreenError("BG_CONFIG_NO_ACCOUNTS", `Network "${networkName}" has an empty accounts list. Add the auditor's key to it.`);
  }
  const wanted = signer.trim();
  if (wanted === "") return wallets[0]!;
  if (/^\d+$/.test(wanted)) {
    const wallet = wallets[Number(wanted)];
    if (wallet === undefined) {
      throw new BlueGreenError("BG_CONFIG_SIGNER_UNKNOWN", `--signer ${wanted}: network "${networkName}" has ${wallets.length} account(s), numbered from 0.`);
    }
    return wallet;
  }
  if (!isAddress(wanted)) {
    throw new BlueGreenError("BG_CONFIG_SIGNER_UNKNOWN", `--signer "${wanted}" is neither an address nor an account number. Pass one of the network's account addresses.`);
  }
  const found = wallets.find((w) => w.address.toLowerCase() === wanted.toLowerCase());
  if (found === undefined) {
    throw new BlueGreenError(
      "BG_CONFIG_SIGNER_UNKNOWN",
      `--signer ${getAddress(wanted.toLowerCase())} is not among the accounts of network "${networkName}" ` +
        `(${wallets.slice(0, 5).map((w) => w.address).join(", ")}${wallets.length > 5 ? ", ..." : ""}). ` +
        "Add its key to that network's accounts (configVariable or hardhat-keystore), or pick one of those.",
    );
  }
  return found;
}
