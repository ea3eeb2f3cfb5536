/**
 * Signers usually finish in the Safe web app, or from another owner's
 * machine. Here Safe's own SDK (protocol-kit) plays that part: it signs and
 * executes our proposals outside the plugin, and bg:switch / bg:call execute
 * must recognize the execution (by the version's ExecutionSuccess for the
 * safeTxHash, and the Safe's nonce), record who sent it, and never call it
 * stale. A nonce spent on a different transaction is still stale, and says so.
 */
import { expect } from "chai";
import { Interface, getAddress } from "ethers";

import { approvalStatus } from "../../src/approval/approval-status.js";
import { switchCallSpec } from "../../src/approval/approver-call.js";
import { executeProposal } from "../../src/approval/execute.js";
import { proposeApproverCall } from "../../src/approval/proposal.js";
import { callProposalFolder, releaseProposalFolder } from "../../src/approval/proposal-folder.js";
import { proposeRelease, switchRelease } from "../../src/approval/release-switch.js";
import { readStep } from "../../src/release/steps.js";
import type { SafeVersion } from "../../src/approval/safe-contracts.js";
import { readSafeState } from "../../src/approval/safe-transaction.js";
import { type ApprovalWorld, approvalWorld, implementationOf, refusal } from "./fixture.js";
import { SigningMethod, kitTransaction, safeKit } from "./protocol-kit.js";

/** Two owners sign with protocol-kit and the second executes, as in the Safe web app. */
async function executeWithKit(world: ApprovalWorld, version: SafeVersion, call: { to: string; data: string }, nonce: number): Promise<string> {
  const [a, b] = await Promise.all(world.owners.slice(0, 2).map((o) => o.getAddress()));
  const chainId = BigInt(world.env.chainId);
  const kitA = await safeKit(world.connection.provider, chainId, world.safe, a!, version);
  const kitB = await safeKit(world.connection.provider, chainId, world.safe, b!, version);
  let tx = await kitA.signTransaction(await kitTransaction(kitA, call, nonce), SigningMethod.ETH_SIGN_TYPED_DATA_V4);
  tx = await kitB.signTransaction(tx, SigningMethod.ETH_SIGN_TYPED_DATA_V4);
  const result = await kitB.executeTransaction(tx);
  await world.connection.ethers.provider.waitForTransaction(result.hash);
  return result.hash;
}

describe("executions made outside the plugin", () => {
  it("Safe 1.3.0: a promote signed and executed with protocol-kit is recognized by bg:switch and recorded with its tx and executor", async () => {
    const world = await approvalWorld({ safeVersion: "1.3.0", singleton: "Safe" });
    try {
      const { proposal } = await proposeRelease(world.ctx, "box-v2", { actor: "test" });
      expect(proposal.actor.kind === "safe" && proposal.actor.version).to.equal("1.3.0");
      const txHash = await executeWithKit(world, "1.3.0", { to: proposal.safe!.tx.to, data: proposal.safe!.tx.data }, Number(proposal.safe!.tx.nonce));
      expect(await implementationOf(world)).to.equal(world.record.green.address);
      // bg:status sees it before anyone records it.
      const folder = releaseProposalFolder(world.store, world.env.chainId, "box-v2");
      expect(await approvalStatus(world.env, folder)).to.deep.equal({ status: "executed", txHash, executor: getAddress(await world.owners[1]!.getAddress()) });

      const done = await switchRelease(world.ctx, "box-v2", { executor: world.anyone });
      expect(done).to.deep.include({ status: "live", txHash, resumed: true });
      const step = readStep(done.record, "switch")!;
      expect(step.executor).to.equal(getAddress(await world.owners[1]!.getAddress()));
      expect(step.executedElsewhere).to.equal(true);
      expect(done.record.state).to.equal("live");
    } finally {
      await world.cleanup();
    }
  });

  it("SafeL2 1.4.1: an approver call executed with protocol-kit is recognized by bg:call execute, not called stale", async () => {
    const world = await approvalWorld({ safeVersion: "1.4.1", singleton: "SafeL2" });
    try {
      const sw = { address: world.switchAddress, iface: world.env.errors };
      const guardian = getAddress(await world.anyone.getAddress());
      const spec = await switchCallSpec(world.env, sw, "addGuardian", [guardian], { id: "add-guardian" });
      const folder = callProposalFolder(world.store, world.env.chainId, "add-guardian");
      const { proposal } = await proposeApproverCall(world.env, folder, spec);
      const txHash = await executeWithKit(world, "1.4.1", { to: proposal.safe!.tx.to, data: proposal.safe!.tx.data }, Number(proposal.safe!.tx.nonce));
      expect((await readSafeState(world.connection.ethers.provider, world.safe)).nonce).to.equal(BigInt(proposal.safe!.tx.nonce) + 1n);

      const outcome = await executeProposal(world.env, folder, { executor: world.deployer });
      expect(outcome.status).to.equal("executed");
      if (outcome.status !== "executed") return;
      expect(outcome).to.deep.include({ txHash, resumed: true, elsewhere: true, executor: getAddress(await world.owners[1]!.getAddress()) });
      // Running it again returns the recorded execution.
      const again = await executeProposal(world.env, folder, { executor: world.deployer });
      expect(again.status === "executed" && again.txHash).to.equal(txHash);
    } finally {
      await world.cleanup();
    }
  });

  it("SafeL2 1.3.0: a proposal whose nonce a different transaction took is stale, with a code and the transaction that took it", async () => {
    const world = await approvalWorld({ safeVersion: "1.3.0", singleton: "SafeL2" });
    try {
      const { proposal } = await proposeRelease(world.ctx, "box-v2", { actor: "test" });
      const data = new Interface(["function changeThreshold(uint256)"]).encodeFunctionData("changeThreshold", [3]);
      const other = await executeWithKit(world, "1.3.0", { to: world.safe, data }, Number(proposal.safe!.tx.nonce));
      const status = await approvalStatus(world.env, releaseProposalFolder(world.store, world.env.chainId, "box-v2"));
      expect(status?.status).to.equal("stale");
      const message = await refusal(() => switchRelease(world.ctx, "box-v2", { executor: world.anyone }));
      expect(message).to.match(/^\[BG_APPROVAL_NONCE_TAKEN\] The Safe's nonce \d+ was used by a different transaction/);
      expect(message).to.include(other);
      expect(message).to.match(/can never execute\. Propose again/);
      expect(await implementationOf(world)).to.equal(world.blue);
    } finally {
      await world.cleanup();
    }
  });
});
