import { expect } from "chai";

import { networkAccountSources, resolveGatesConfig } from "../../src/gates/config.js";
import { evaluateSecretsGate } from "../../src/gates/secrets-gate.js";
import { stagedRecord } from "../helpers/record-fixture.js";

const configVariable = (name: string) => ({ _type: "ConfigurationVariable", name });
const LITERAL = "0x" + "11".repeat(32);

describe("the secrets gate", () => {
  const record = { ...stagedRecord(), network: "mainnet" };
  const gate = (networks: Record<string, unknown>, testnet?: string) => {
    const config = resolveGatesConfig(
      { secrets: {}, ...(testnet !== undefined ? { testnet: { network: testnet } } : {}) },
      "/project",
      networkAccountSources(networks),
    );
    return evaluateSecretsGate(record, config.secrets!, config);
  };

  it("passes keys from configuration variables and remote accounts", () => {
    const result = gate({ mainnet: { accounts: [configVariable("DEPLOYER_KEY")] }, sepolia: { accounts: "remote" } }, "sepolia");
    expect(result.status).to.equal("pass");
    expect(result.evidence).to.deep.equal({ networks: [{ network: "mainnet", accounts: "1 account(s)" }, { network: "sepolia", accounts: "remote (the node signs)" }] });
  });

  it("fails a literal key of the release's network or the testnet's, naming network and index, never the key", () => {
    const result = gate({ mainnet: { accounts: [configVariable("A"), LITERAL] }, sepolia: { accounts: { mnemonic: "test test test test test test test test test test test junk" } } }, "sepolia");
    expect(result.status).to.equal("fail");
    expect(result.detail).to.equal('[BG_SECRETS_LITERAL_KEY] a key is written into hardhat.config.ts: network "mainnet" account 1, network "sepolia" mnemonic');
    expect(result.code).to.equal("BG_SECRETS_LITERAL_KEY");
    expect(JSON.stringify(result)).to.not.include("11".repeat(32)).and.not.include("test test");
  });

  it("checks in-process accounts by their privateKey, and ignores networks the release does not use", () => {
    expect(gate({ mainnet: { accounts: [{ privateKey: configVariable("K"), balance: "1" }] }, other: { accounts: [LITERAL] } }).status).to.equal("pass");
    expect(gate({ mainnet: { accounts: [{ privateKey: LITERAL, balance: "1" }] } }).status).to.equal("fail");
  });
});
