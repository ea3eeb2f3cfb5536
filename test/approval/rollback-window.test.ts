/**
 * bg:rollback and bg:finalize on a live release: a guardian schedules, anyone
 * executes after the delay, the Safe vetoes or rolls back at once through
 * the same proposal path as promote; finalize closes the path for good.
 */
import { expect } from "chai";
import { getAddress } from "ethers";

import { approveProposal } from "../../src/approval/proposal.js";
import { callProposalFolder } from "../../src/approval/proposal-folder.js";
import { approveRelease, proposeRelease, switchRelease } from "../../src/approval/release-switch.js";
import { readStep } from "../../src/release/steps.js";
import { cancelRollback, executeRollback, finalizeRelease, rollbackNow, scheduleRollback } from "../../src/approval/release-window.js";
import { DELAY, WINDOW, type ApprovalWorld, approvalWorld, implementationOf, increaseTime, refusal } from "./fixture.js";

async function liveWorld(): Promise<ApprovalWorld> {
  const world = await approvalWorld();
  await proposeRelease(world.ctx, "box-v2", { actor: "tester" });
  await approveRelease(world.ctx, "box-v2", { signer: world.owners[0]! });
  await approveRelease(world.ctx, "box-v2", { signer: world.owners[1]! });
  const live = await switchRelease(world.ctx, "box-v2", { executor: world.anyone });
  expect(live.status).to.equal("live");
  return world;
}

describe("bg:rollback and bg:finalize", function () {
  let world: ApprovalWorld;
  beforeEach(async () => {
    world = await liveWorld();
  });
  afterEach(async () => {
    await world.cleanup();
  });

  it("a guardian schedules a rollback; it is refused before the delay and executed by anyone after it", async () => {
    const scheduled = await scheduleRollback(world.ctx, "box-v2", { signer: world.guardian });
    expect(scheduled).to.deep.include({ status: "done", state: "rollback-scheduled", already: false });
    const readyAt = Date.parse(scheduled.readyAt!);
    const block = await world.connection.ethers.provider.getBlock("latest");
    expect(readyAt).to.equal((block!.timestamp + DELAY) * 1000);
    expect(readStep(scheduled.record, "rollback")).to.deep.include({ scheduledBy: getAddress(await world.guardian.getAddress()) });

    expect(await refusal(() => executeRollback(world.ctx, "box-v2", { signer: world.anyone }))).to.match(/executable from .* Run this again then/);
    expect(await implementationOf(world)).to.equal(world.record.green.address);

    await increaseTime(world, DELAY);
    const done = await executeRollback(world.ctx, "box-v2", { signer: world.anyone });
    expect(done).to.deep.include({ status: "done", state: "rolled-back" });
    expect(await implementationOf(world)).to.equal(world.blue);
    expect(readStep(done.record, "rollback")).to.deep.include({ immediate: false, implementation: world.blue, rolledBackBy: getAddress(await world.anyone.getAddress()) });
  });

  it("only a guardian or the approver may schedule", async () => {
    expect(await refusal(() => scheduleRollback(world.ctx, "box-v2", { signer: world.anyone }))).to.match(/neither a guardian nor the approver/);
  });

  it("the Safe cancels a scheduled rollback through a proposal, two signatures, then execution", async () => {
    const scheduled = await scheduleRollback(world.ctx, "box-v2", { signer: world.guardian });
    const proposed = await cancelRollback(world.ctx, "box-v2", { executor: world.anyone });
    if (proposed.status !== "proposed") throw new Error("expected a proposal");
    expect(proposed).to.deep.include({ signatures: 0, threshold: 2, missing: 2, state: "rollback-scheduled" });

    const folder = callProposalFolder(world.store, world.env.chainId, proposed.callId);
    await approveProposal(world.env, folder, { signer: world.owners[2]! });
    const still = await cancelRollback(world.ctx, "box-v2", { executor: world.anyone });
    expect(still).to.deep.include({ status: "proposed", signatures: 1, missing: 1 });
    await approveProposal(world.env, folder, { signer: world.owners[0]! });

    const cancelled = await cancelRollback(world.ctx, "box-v2", { executor: world.anyone });
    expect(cancelled).to.deep.include({ status: "done", state: "live" });
    expect(readStep(cancelled.record, "rollback")).to.deep.include({ readyAt: scheduled.readyAt });
    // After the delay there is nothing to execute: the veto held.
    await increaseTime(world, DELAY);
    expect(await refusal(() => executeRollback(world.ctx, "box-v2", { signer: world.anyone }))).to.match(/no rollback scheduled/);
    expect(await implementationOf(world)).to.equal(world.record.green.address);
  });

  it("a canceller vetoes with its own key, no proposal, but only while the delay runs", async () => {
    const canceller = (await world.connection.ethers.getSigners())[9]!;
    // The Safe adds the canceller; impersonated here, since its proposal path is tested above.
    await world.connection.provider.request({ method: "hardhat_impersonateAccount", params: [world.safe] });
    await world.connection.provider.request({ method: "hardhat_setBalance", params: [world.safe, "0xde0b6b3a7640000"] });
    const asSafe = await world.connection.ethers.getSigner(world.safe);
    const data = world.env.errors.encodeFunctionData("addCanceller", [await canceller.getAddress()]);
    await (await asSafe.sendTransaction({ to: world.switchAddress, data })).wait();

    await scheduleRollback(world.ctx, "box-v2", { signer: world.guardian });
    const vetoed = await cancelRollback(world.ctx, "box-v2", { executor: canceller });
    expect(vetoed).to.deep.include({ status: "done", state: "live", already: false });
    expect(vetoed.record.history.at(-1)).to.deep.include({ state: "live", actor: getAddress(await canceller.getAddress()), note: "rollback vetoed by a canceller" });

    // The guardian has used its one schedule of this release; the approver may schedule again.
    expect(await refusal(() => scheduleRollback(world.ctx, "box-v2", { signer: world.guardian }))).to.match(/AlreadyScheduledInRelease/);
    await (await asSafe.sendTransaction({ to: world.switchAddress, data: world.env.errors.encodeFunctionData("scheduleRollback", [world.proxy]) })).wait();
    await increaseTime(world, DELAY);
    const late = await refusal(() => cancelRollback(world.ctx, "box-v2", { executor: canceller }));
    expect(late).to.match(/a canceller can no longer veto it\. Only the approver can still cancel it/);
  });

  it("the Safe rolls back at once, skipping the delay", async () => {
    const proposed = await rollbackNow(world.ctx, "box-v2", { executor: world.anyone });
    if (proposed.status !== "proposed") throw new Error("expected a proposal");
    const folder = callProposalFolder(world.store, world.env.chainId, proposed.callId);
    await approveProposal(world.env, folder, { signer: world.owners[0]! });
    await approveProposal(world.env, folder, { signer: world.owners[1]! });
    const done = await rollbackNow(world.ctx, "box-v2", { executor: world.anyone });
    expect(done).to.deep.include({ status: "done", state: "rolled-back" });
    expect(readStep(done.record, "rollback")).to.deep.include({ immediate: true });
    expect(await implementationOf(world)).to.equal(world.blue);
  });

  it("after the window anyone finalizes, and a rollback after finalize is refused", async () => {
    await increaseTime(world, WINDOW);
    const done = await finalizeRelease(world.ctx, "box-v2", { signer: world.anyone });
    expect(done).to.deep.include({ status: "done", state: "finalized", early: false });
    expect(await refusal(() => scheduleRollback(world.ctx, "box-v2", { signer: world.guardian }))).to.match(/finalized: its rollback path is closed/);
    expect(await refusal(() => rollbackNow(world.ctx, "box-v2", { executor: world.anyone }))).to.match(/finalized/);
    // Idempotent.
    expect(await finalizeRelease(world.ctx, "box-v2", { signer: world.anyone })).to.deep.include({ already: true });
    expect(await implementationOf(world)).to.equal(world.record.green.address);
  });

  it("an early finalize needs the Safe; a rollback after it is refused by the record and by the switch", async () => {
    const proposed = await finalizeRelease(world.ctx, "box-v2", { signer: world.anyone });
    if (proposed.status !== "proposed") throw new Error("expected a proposal");
    const folder = callProposalFolder(world.store, world.env.chainId, proposed.callId);
    await approveProposal(world.env, folder, { signer: world.owners[1]! });
    await approveProposal(world.env, folder, { signer: world.owners[2]! });
    const done = await finalizeRelease(world.ctx, "box-v2", { signer: world.anyone });
    expect(done).to.deep.include({ status: "done", state: "finalized", early: true });
    expect(await refusal(() => scheduleRollback(world.ctx, "box-v2", { signer: world.guardian }))).to.match(/finalized/);
    // The switch itself refuses too (the record is not the only guard).
    const { Contract } = await import("ethers");
    const sw = new Contract(world.switchAddress, world.env.errors, world.guardian);
    expect(await refusal(() => sw.getFunction("scheduleRollback").staticCall(world.proxy))).to.not.equal("");
  });

  it("reconciles a rollback a guardian bot scheduled outside bg:rollback", async () => {
    const { Contract } = await import("ethers");
    const sw = new Contract(world.switchAddress, world.env.errors, world.guardian);
    const tx = await sw.getFunction("scheduleRollback")(world.proxy);
    await tx.wait();
    const again = await scheduleRollback(world.ctx, "box-v2", { signer: world.guardian });
    expect(again).to.deep.include({ status: "done", state: "rollback-scheduled", already: true });
    expect(again.record.history.at(-1)).to.include({ txHash: tx.hash });
  });
});
