/**
 * The secrets gate, the release policy's "no hardcoded keys": every account
 * of the release's networks (the release's own, and the testnet gate's)
 * comes from a configuration variable, i.e. the keystore or the
 * environment, never from a key written into hardhat.config.ts.
 *
 * Only where an account comes from is ever read or shown (network and
 * index); the key itself never reaches a result, a log or the evidence.
 */
import type { ReleaseRecord } from "../release/record.js";
import type { GatesConfig, NetworkAccounts, SecretsGateConfig } from "./config.js";
import { gateResult, type GateResult } from "./gate-result.js";

/** The networks a release's keys are used on. */
export function releaseNetworks(record: Pick<ReleaseRecord, "network">, gates: Pick<GatesConfig, "testnet">): string[] {
  return [...new Set([record.network, ...(gates.testnet !== undefined ? [gates.testnet.network] : [])])].sort();
}

function describe(accounts: NetworkAccounts | undefined): string {
  if (accounts === undefined) return "not in this config";
  switch (accounts.kind) {
    case "remote":
      return "remote (the node signs)";
    case "default":
      return "Hardhat's defaults";
    case "mnemonic":
      return `a mnemonic from ${accounts.source === "configVariable" ? "a configuration variable" : "a literal"}`;
    case "list":
      return `${accounts.accounts.length} account(s)`;
  }
}

export function evaluateSecretsGate(record: ReleaseRecord, config: SecretsGateConfig, gates: Pick<GatesConfig, "testnet">): GateResult {
  const name = "secrets";
  const networks = releaseNetworks(record, gates);
  const literal: string[] = [];
  const checked: Array<{ network: string; accounts: string }> = [];
  for (const network of networks) {
    const accounts = config.networks[network];
    checked.push({ network, accounts: describe(accounts) });
    if (accounts?.kind === "list") {
      accounts.accounts.forEach((source, index) => {
        if (source === "literal") literal.push(`network "${network}" account ${index}`);
      });
    } else if (accounts?.kind === "mnemonic" && accounts.source === "literal") {
      literal.push(`network "${network}" mnemonic`);
    }
  }
  const evidence = { networks: checked };
  if (literal.length === 0) {
    return gateResult(name, "pass", config.required, `no key is written in the config of ${networks.map((n) => `"${n}"`).join(", ")}: ${checked.map((c) => `${c.network}: ${c.accounts}`).join("; ")}`, {
      evidence,
    });
  }
  return gateResult(name, "fail", config.required, `[BG_SECRETS_LITERAL_KEY] a key is written into hardhat.config.ts: ${literal.join(", ")}`, {
    fix:
      'Replace each with configVariable("NAME") (from "hardhat/config") and store the key with `npx hardhat keystore set NAME` or in the environment; ' +
      "then treat the key that was in the file as leaked (rotate it: it is in your git history).",
    code: "BG_SECRETS_LITERAL_KEY",
    evidence: { ...evidence, literal },
  });
}
