/**
 * The approval path refuses an approver (or a timelock proposer) it cannot
 * make act, and says what really recovers: never `bg:call propose --function
 * proposeApprover`, an approver call the refused contract would itself have
 * to sign.
 */
import { expect } from "chai";
import { ZeroAddress, getAddress } from "ethers";
import { network } from "hardhat";

import { describeActor, resolveApprover } from "../../src/approval/approver.js";
import type { ApprovalEnv } from "../../src/approval/proposal-schema.js";
import { BlueGreenError } from "../../src/errors.js";

async function refusal(p: Promise<unknown>): Promise<BlueGreenError> {
  try {
    await p;
  } catch (error) {
    if (BlueGreenError.is(error)) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("the approval path's refusal of an approver it cannot drive", function () {
  let env: ApprovalEnv;
  let router: string;
  let switchAddress: string;
  let connection: Awaited<ReturnType<typeof network.create>>;

  before(async () => {
    connection = await network.create();
    const [, , guardian] = await connection.ethers.getSigners();
    const forwarder = await connection.ethers.deployContract("CallForwarder");
    router = getAddress(await forwarder.getAddress());
    // A switch governed by that contract, as one deployed outside bg:init can be.
    const sw = await connection.ethers.deployContract("BlueGreenSwitch", [router, [await guardian!.getAddress()], 60, 3600]);
    switchAddress = getAddress(await sw.getAddress());
    env = { provider: connection.provider, chainId: Number((await connection.ethers.provider.getNetwork()).chainId) };
  });

  it("names the recovery that works: the contract itself calls proposeApprover on the switch, or a new switch with bg:init", async () => {
    const error = await refusal(resolveApprover(env, router, "add-guardian", { to: switchAddress, data: "0x" }));
    expect(error.code).to.equal("BG_APPROVAL_APPROVER_KIND");
    expect(error.shortMessage).to.contain(`The switch's approver ${router} is a contract, but neither a Safe (1.3.0 or 1.4.1) nor a TimelockController`);
    expect(error.shortMessage).to.contain("including proposeApprover. Nothing was proposed or sent.");
    expect(error.hint).to.contain(`it must call proposeApprover(<new approver>) on the switch ${switchAddress} with its own means, then the new approver`);
    expect(error.hint).to.contain("bg:call cannot send proposeApprover for it");
    expect(error.hint).to.contain("deploy a new switch instead");
    expect(error.message).to.not.match(/Rotate the switch's approver|bg:call propose --function proposeApprover/);
    expect((await refusal(describeActor(connection.ethers.provider, router))).code).to.equal("BG_APPROVAL_APPROVER_KIND");
  });

  it("refuses a timelock proposer that is neither a Safe nor an account, saying to set another", async () => {
    const timelock = await connection.ethers.deployContract("ApprovalTimelock", [600, [router], [ZeroAddress], ZeroAddress]);
    const address = getAddress(await timelock.getAddress());
    const error = await refusal(resolveApprover({ ...env, timelockProposer: router }, address, "add-guardian", { to: switchAddress, data: "0x" }));
    expect(error.code).to.equal("BG_APPROVAL_APPROVER_KIND");
    expect(error.shortMessage).to.contain(`blueGreen.approval.timelockProposer ${router} is a contract but neither a Safe (1.3.0 or 1.4.1) nor an account`);
    expect(error.hint).to.match(/^Set timelockProposer to the Safe or account that holds PROPOSER_ROLE/);
  });
});
