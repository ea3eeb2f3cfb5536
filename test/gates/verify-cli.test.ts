/**
 * bg:verify on the command line. Publishing needs an explorer, which this
 * machine cannot reach, so what is pinned here is what a user without the
 * verify plugin sees: a coded error that says what to install.
 */
import { expect } from "chai";

import { onlyJson, runHardhat } from "../helpers/cli.js";

describe("bg:verify on the command line", function () {
  it("says to install and configure @nomicfoundation/hardhat-verify when the project does not use it, and exits non-zero", async () => {
    const run = await runHardhat(["bg:verify", "--release", "vault-v2", "--json"], {});
    expect(run.code).to.equal(1);
    const doc = onlyJson(run);
    expect(doc.ok).to.equal(false);
    expect(doc.error).to.match(/^\[BG_VERIFY_PLUGIN\] bg:verify publishes green's source through @nomicfoundation\/hardhat-verify\. Install it/);
  });

  it("refuses a provider it does not know, naming the ones it does", async () => {
    const run = await runHardhat(["bg:verify", "--release", "vault-v2", "--provider", "etherscam", "--json"], {});
    expect(run.code).to.equal(1);
    expect(onlyJson(run).error).to.equal('[BG_VERIFY_PROVIDER] --provider "etherscam" is not one of etherscan, blockscout, sourcify.');
    expect(onlyJson(run).code).to.equal("BG_VERIFY_PROVIDER");
  });
});
