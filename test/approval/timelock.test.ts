/**
 * A TimelockController as the switch's approver, with a 2-of-3 Safe as its
 * proposer, end to end on a local node: the Safe schedules, bg:switch reports
 * the operation and its ETA, executes it once the delay has passed and
 * verifies the proxy; rollback-now goes the same way; and the veto of a
 * guardian's rollback goes through the switch's canceller role, because the
 * timelock's own delay is longer than the rollback delay.
 */
import { expect } from "chai";
import { Contract, getAddress } from "ethers";

import { approvalStatus } from "../../src/approval/approval-status.js";
import { switchCallSpec } from "../../src/approval/approver-call.js";
import { executeProposal } from "../../src/approval/execute.js";
import { approveProposal, proposeApproverCall } from "../../src/approval/proposal.js";
import { callProposalFolder, releaseProposalFolder } from "../../src/approval/proposal-folder.js";
import { approveRelease, proposeRelease, switchRelease } from "../../src/approval/release-switch.js";
import { readStep } from "../../src/release/steps.js";
import { cancelRollback, finalizeRelease, rollbackNow, scheduleRollback } from "../../src/approval/release-window.js";
import { buildSafeTransaction, hashSafeTransaction, readSafeState, safeContract, safeTxFields } from "../../src/approval/safe-transaction.js";
import { type OwnerSignature, addOwnerSignature, packSignatures, signSafeTransaction } from "../../src/approval/signatures.js";
import { TIMELOCK, timelockVetoWarning } from "../../src/approval/timelock.js";
import { DELAY, TIMELOCK_DELAY, type ApprovalWorld, approvalWorld, implementationOf, increaseTime, refusal } from "./fixture.js";

/** Proposes and signs the promote, then runs bg:switch until it is live (schedule, wait, execute). */
async function promoteThroughTimelock(world: ApprovalWorld): Promise<void> {
  await proposeRelease(world.ctx, "box-v2", { actor: "test" });
  await approveRelease(world.ctx, "box-v2", { signer: world.owners[0]! });
  await approveRelease(world.ctx, "box-v2", { signer: world.owners[1]! });
  expect((await switchRelease(world.ctx, "box-v2", { executor: world.anyone })).status).to.equal("waiting");
  await increaseTime(world, TIMELOCK_DELAY);
  expect((await switchRelease(world.ctx, "box-v2", { executor: world.anyone })).status).to.equal("live");
}

/** Runs an approver call through the timelock: propose, two signatures, schedule, wait, execute. */
async function approverCallThroughTimelock(world: ApprovalWorld, fn: string, args: unknown[], id: string) {
  const spec = await switchCallSpec(world.env, { address: world.switchAddress, iface: world.env.errors }, fn, args, { id });
  const folder = callProposalFolder(world.store, world.env.chainId, id);
  await proposeApproverCall(world.env, folder, spec);
  await approveProposal(world.env, folder, { signer: world.owners[0]! });
  await approveProposal(world.env, folder, { signer: world.owners[2]! });
  expect((await executeProposal(world.env, folder, { executor: world.anyone })).status).to.equal("waiting");
  await increaseTime(world, TIMELOCK_DELAY);
  const done = await executeProposal(world.env, folder, { executor: world.anyone });
  expect(done.status).to.equal("executed");
  return done;
}

describe("a TimelockController approver with a Safe as proposer", () => {
  let world: ApprovalWorld;
  beforeEach(async () => {
    // The fixture's adoption already went through the timelock: schedule, delay, execute.
    world = await approvalWorld({ approver: "timelock" });
  });
  afterEach(async () => world.cleanup());

  it("bg:propose makes the Safe transaction that schedules the promote on the timelock", async () => {
    const { proposal } = await proposeRelease(world.ctx, "box-v2", { actor: "test" });
    expect(proposal.timelock).to.not.equal(undefined);
    const op = proposal.timelock!;
    expect(op.address).to.equal(world.timelock);
    expect(op.target).to.equal(world.switchAddress);
    expect(op.data).to.equal(proposal.call.data.toLowerCase());
    expect(op.delay).to.equal(String(TIMELOCK_DELAY));
    // What the Safe signs is the schedule call, and the operation id is the timelock's own.
    expect(proposal.safe!.tx.to).to.equal(world.timelock);
    expect(proposal.safe!.tx.data).to.equal(op.scheduleData.toLowerCase());
    const timelock = new Contract(world.timelock!, TIMELOCK, world.connection.ethers.provider);
    expect(await timelock.getFunction("hashOperation")(op.target, 0, op.data, op.predecessor, op.salt)).to.equal(op.operationId);
    expect(readStep(await world.store.get(world.env.chainId, "box-v2"), "proposal")!.timelock).to.deep.equal({
      address: world.timelock,
      operationId: op.operationId,
      delay: String(TIMELOCK_DELAY),
    });
  });

  it("bg:switch schedules and reports the operation and its ETA, refuses nothing early, then executes after the delay and verifies the proxy", async () => {
    await proposeRelease(world.ctx, "box-v2", { actor: "test" });
    await approveRelease(world.ctx, "box-v2", { signer: world.owners[0]! });
    await approveRelease(world.ctx, "box-v2", { signer: world.owners[1]! });

    const scheduled = await switchRelease(world.ctx, "box-v2", { executor: world.anyone });
    expect(scheduled.status).to.equal("waiting");
    if (scheduled.status !== "waiting") return;
    const wait = scheduled.timelock!;
    expect(wait.ready).to.equal(false);
    expect(wait.timelock).to.equal(world.timelock);
    const block = await world.connection.ethers.provider.getBlock("latest");
    expect(wait.eta).to.equal(block!.timestamp + TIMELOCK_DELAY);
    expect(readStep(scheduled.record, "timelock")).to.deep.include({ operationId: wait.operationId, eta: wait.eta, ready: false });
    expect(await implementationOf(world)).to.equal(world.blue);
    // bg:status shows the queued operation, its id and its ETA.
    expect(await approvalStatus(world.env, releaseProposalFolder(world.store, world.env.chainId, "box-v2"))).to.deep.equal({
      status: "scheduled",
      timelock: world.timelock,
      operationId: wait.operationId,
      eta: wait.etaIso,
      ready: false,
    });

    // Before the ETA a re-run sends nothing and says the same.
    const safeNonce = (await readSafeState(world.connection.ethers.provider, world.safe)).nonce;
    const anyoneNonce = await world.anyone.getNonce();
    const early = await switchRelease(world.ctx, "box-v2", { executor: world.anyone });
    expect(early.status === "waiting" && early.timelock?.operationId).to.equal(wait.operationId);
    expect((await readSafeState(world.connection.ethers.provider, world.safe)).nonce).to.equal(safeNonce);
    expect(await world.anyone.getNonce()).to.equal(anyoneNonce);

    await increaseTime(world, TIMELOCK_DELAY);
    const live = await switchRelease(world.ctx, "box-v2", { executor: world.anyone });
    expect(live.status).to.equal("live");
    if (live.status !== "live") return;
    expect(live.implementation).to.equal(world.record.green.address);
    expect(await implementationOf(world)).to.equal(world.record.green.address);
    expect(readStep(live.record, "switch")).to.deep.include({ timelock: world.timelock, operationId: wait.operationId });
  });

  it("rollback-now goes through the timelock the same way: proposed, signed, scheduled, then executed to exactly blue", async () => {
    await promoteThroughTimelock(world);
    const proposed = await rollbackNow(world.ctx, "box-v2", { executor: world.anyone });
    expect(proposed).to.deep.include({ status: "proposed", missing: 2 });
    if (proposed.status !== "proposed") return;
    const folder = callProposalFolder(world.store, world.env.chainId, proposed.callId);
    await approveProposal(world.env, folder, { signer: world.owners[1]! });
    await approveProposal(world.env, folder, { signer: world.owners[2]! });
    const scheduled = await rollbackNow(world.ctx, "box-v2", { executor: world.anyone });
    expect(scheduled.status === "proposed" && scheduled.timelock?.ready).to.equal(false);
    expect(await implementationOf(world)).to.equal(world.record.green.address);
    await increaseTime(world, TIMELOCK_DELAY);
    const done = await rollbackNow(world.ctx, "box-v2", { executor: world.anyone });
    expect(done).to.deep.include({ status: "done", state: "rolled-back" });
    expect(await implementationOf(world)).to.equal(world.blue);
  });

  it("an early finalize goes through the timelock the same way", async () => {
    await promoteThroughTimelock(world);
    const proposed = await finalizeRelease(world.ctx, "box-v2", { signer: world.anyone });
    expect(proposed).to.deep.include({ status: "proposed", missing: 2, early: true });
    if (proposed.status !== "proposed") return;
    const folder = callProposalFolder(world.store, world.env.chainId, proposed.callId);
    await approveProposal(world.env, folder, { signer: world.owners[0]! });
    await approveProposal(world.env, folder, { signer: world.owners[1]! });
    const scheduled = await finalizeRelease(world.ctx, "box-v2", { signer: world.anyone });
    expect(scheduled.status === "proposed" && scheduled.timelock?.operationId).to.match(/^0x[0-9a-f]{64}$/);
    await increaseTime(world, TIMELOCK_DELAY);
    const done = await finalizeRelease(world.ctx, "box-v2", { signer: world.anyone });
    expect(done).to.deep.include({ status: "done", state: "finalized", early: true });
    expect(readStep(done.record, "finalize")!.by).to.equal(world.timelock);
  });

  it("the veto of a guardian's rollback goes through the canceller role, which the slow timelock adds", async () => {
    await promoteThroughTimelock(world);
    const canceller = world.owners[2]!;
    await approverCallThroughTimelock(world, "addCanceller", [await canceller.getAddress()], "add-canceller");

    const scheduled = await scheduleRollback(world.ctx, "box-v2", { signer: world.guardian });
    expect(scheduled.state).to.equal("rollback-scheduled");
    // The timelock itself could not veto in time: its delay is longer than the rollback's.
    expect(TIMELOCK_DELAY).to.be.greaterThan(DELAY);
    const vetoed = await cancelRollback(world.ctx, "box-v2", { executor: canceller });
    expect(vetoed).to.deep.include({ status: "done", state: "live" });
    await increaseTime(world, DELAY);
    expect(await implementationOf(world)).to.equal(world.record.green.address);
  });

  it("an operation cancelled on the timelock is reported with a code and status, and the call can be proposed again", async () => {
    const guardian = await world.anyone.getAddress();
    const spec = await switchCallSpec(world.env, { address: world.switchAddress, iface: world.env.errors }, "addGuardian", [guardian], { id: "add-guardian" });
    const folder = callProposalFolder(world.store, world.env.chainId, "add-guardian");
    const { proposal } = await proposeApproverCall(world.env, folder, spec);
    await approveProposal(world.env, folder, { signer: world.owners[0]! });
    await approveProposal(world.env, folder, { signer: world.owners[1]! });
    expect((await executeProposal(world.env, folder, { executor: world.anyone })).status).to.equal("waiting");

    // The Safe, a proposer and so a canceller on the timelock, cancels the operation directly.
    const state = await readSafeState(world.connection.ethers.provider, world.safe);
    const cancel = buildSafeTransaction({ to: world.timelock!, data: TIMELOCK.encodeFunctionData("cancel", [proposal.timelock!.operationId]), nonce: state.nonce });
    const hash = hashSafeTransaction(world.env.chainId, world.safe, cancel).safeTxHash;
    let set = { safeTxHash: hash, signatures: [] as OwnerSignature[] };
    for (const owner of world.owners.slice(0, 2)) set = addOwnerSignature(set, await signSafeTransaction(owner, world.env.chainId, world.safe, cancel), state.owners);
    await (await safeContract(world.safe, world.deployer).getFunction("execTransaction")(...safeTxFields(cancel), packSignatures(set.signatures))).wait();

    expect(await refusal(() => executeProposal(world.env, folder, { executor: world.anyone }))).to.match(/^\[BG_APPROVAL_TIMELOCK_CANCELLED\].*cancelled/);
    expect(await approvalStatus(world.env, folder)).to.deep.equal({ status: "cancelled", timelock: world.timelock, operationId: proposal.timelock!.operationId });

    const again = await proposeApproverCall(world.env, folder, spec);
    expect(again.proposal.safe!.tx.nonce).to.not.equal(proposal.safe!.tx.nonce);
    await approveProposal(world.env, folder, { signer: world.owners[1]! });
    await approveProposal(world.env, folder, { signer: world.owners[2]! });
    expect((await executeProposal(world.env, folder, { executor: world.anyone })).status).to.equal("waiting");
    await increaseTime(world, TIMELOCK_DELAY);
    expect((await executeProposal(world.env, folder, { executor: world.anyone })).status).to.equal("executed");
    const sw = new Contract(world.switchAddress, world.env.errors, world.connection.ethers.provider);
    expect(await sw.getFunction("guardians")()).to.include(getAddress(guardian));
  });

  it("bg:init's check warns when the timelock is slower than the rollback delay and no canceller is set, and not otherwise", async () => {
    const slow = await timelockVetoWarning(world.connection.ethers.provider, world.timelock!, DELAY, []);
    expect(slow).to.match(/TimelockController.*600 s.*rollback delay of 60 s.*addCanceller/);
    expect(await timelockVetoWarning(world.connection.ethers.provider, world.timelock!, DELAY, [getAddress(await world.guardian.getAddress())])).to.equal(undefined);
    expect(await timelockVetoWarning(world.connection.ethers.provider, world.timelock!, TIMELOCK_DELAY, [])).to.equal(undefined);
    expect(await timelockVetoWarning(world.connection.ethers.provider, world.safe, DELAY, [])).to.equal(undefined);
  });

  it("refuses a timelock approver without a configured proposer, with a code that says what to set", async () => {
    const { timelockProposer: _p, ...env } = world.env;
    const message = await refusal(() => proposeRelease({ ...world.ctx, env }, "box-v2", { actor: "test" }));
    expect(message).to.match(/^\[BG_APPROVAL_APPROVER_KIND\].*TimelockController.*blueGreen\.approval\.timelockProposer/);
  });
});

describe("a TimelockController approver with a plain account as proposer (development networks)", () => {
  it("the account schedules with no signatures, only it may, and anyone executes after the delay", async () => {
    const world = await approvalWorld({ approver: "timelock", timelockProposer: "account" });
    try {
      const proposer = world.owners[0]!;
      const { proposal } = await proposeRelease(world.ctx, "box-v2", { actor: "test" });
      expect(proposal.actor).to.deep.equal({ kind: "account", address: getAddress(await proposer.getAddress()) });
      expect(proposal.safe).to.equal(undefined);
      expect(await refusal(() => switchRelease(world.ctx, "box-v2", { executor: world.anyone }))).to.match(/^\[BG_APPROVAL_ACCOUNT_EXECUTOR\].*--signer/);
      const scheduled = await switchRelease(world.ctx, "box-v2", { executor: proposer });
      expect(scheduled.status === "waiting" && scheduled.timelock?.operationId).to.equal(proposal.timelock!.operationId);
      await increaseTime(world, TIMELOCK_DELAY);
      const live = await switchRelease(world.ctx, "box-v2", { executor: world.anyone });
      expect(live.status).to.equal("live");
      expect(await implementationOf(world)).to.equal(world.record.green.address);
    } finally {
      await world.cleanup();
    }
  });
});
