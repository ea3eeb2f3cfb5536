/**
 * bg:init refuses a chain the switch cannot run on (no PUSH0 or no
 * TLOAD/TSTORE), found by running the opcodes there, not by chain id.
 */
import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { network } from "hardhat";

import { ReleaseStore } from "../../src/release/store.js";
import { CHAIN_OPCODES_ERROR_CODE, checkChainOpcodes } from "../../src/switch/chain-opcodes.js";
import { initSwitch } from "../../src/switch/deploy-switch.js";

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (error) {
    return (error as Error).message;
  }
  expect.fail("expected a refusal");
}

describe("the chain-opcode check of bg:init", function () {
  it("passes on a chain at the default hardfork", async function () {
    const connection = await network.create();
    await checkChainOpcodes(connection.ethers.provider, "default");
    // The same creation, run by hand, returns the value it stored in transient storage.
    expect(await connection.ethers.provider.call({ data: "0x60015f5d5f5c5f5260205ff3" })).to.equal("0x" + "00".repeat(31) + "01");
  });

  for (const [hardfork, missing] of [
    ["shanghai", "TLOAD/TSTORE"],
    ["merge", "PUSH0"],
  ] as const) {
    it(`refuses a ${hardfork} chain (no ${missing}) with ${CHAIN_OPCODES_ERROR_CODE}, and deploys nothing`, async function () {
      const connection = await network.create({ override: { hardfork } });
      const message = await refusal(checkChainOpcodes(connection.ethers.provider, hardfork));
      expect(message).to.match(new RegExp(`^\\[${CHAIN_OPCODES_ERROR_CODE}\\] Network "${hardfork}" cannot run the BlueGreenSwitch`));
      expect(message).to.match(/EIP-1153/).and.to.match(/release included/).and.to.match(/hardfork to cancun/);

      const [deployer, approver] = await connection.ethers.getSigners();
      const store = new ReleaseStore(await mkdtemp(path.join(tmpdir(), "bg-opcodes-")));
      const chainId = Number((await connection.ethers.provider.getNetwork()).chainId);
      const initMessage = await refusal(
        initSwitch({
          store,
          chainId,
          networkName: hardfork,
          provider: connection.ethers.provider,
          signer: deployer!,
          parameters: { approver: await approver!.getAddress(), guardians: [], rollbackDelay: 3600, rollbackWindow: 604800 },
        }),
      );
      expect(initMessage).to.contain(`[${CHAIN_OPCODES_ERROR_CODE}]`);
      expect(await connection.ethers.provider.getTransactionCount(await deployer!.getAddress())).to.equal(0);
      expect(await readdir(store.chainDir(chainId)).catch(() => [])).to.deep.equal([]);
    });
  }
});
