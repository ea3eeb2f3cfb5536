/**
 * Proposal folders rewritten consistently (call data, safeTxHash, EIP-712
 * hashes, typed data, signatures) so that the Safe transaction does something
 * else than the record says: what a user found with a beacon release through
 * a Safe 1.3.0, whose doctored proposal promoted another green. Every hash in
 * the folder agrees with every other, so only rebuilding the transaction from
 * the release record shows it. bg:approve (with --signer or a --signature made
 * elsewhere) and bg:switch must refuse it, and nothing on chain may move; an
 * honest proposal still goes through. The same holds for a canary step and a
 * rollback window call (waves: test/approval/waves.test.ts).
 */
import { expect } from "chai";
import { Contract, getAddress, keccak256 } from "ethers";

import { approveCanaryStep, canaryProposalFolder, proposeCanaryStep, switchCanaryStep } from "../../src/approval/canary-switch.js";
import { approveFlow, executeFlow } from "../../src/approval/pipeline.js";
import { callProposalFolder, releaseProposalFolder } from "../../src/approval/proposal-folder.js";
import { proposalSchema } from "../../src/approval/proposal.js";
import { approveRelease, proposeRelease, switchRelease } from "../../src/approval/release-switch.js";
import { approverCallFlow, rollbackNow } from "../../src/approval/release-window.js";
import { signSafeTransaction, signatureSetSchema } from "../../src/approval/signatures.js";
import { readGatesStep } from "../../src/gates/gates-step.js";
import { resolveCanaryConfig } from "../../src/waves/canary-config.js";
import { doctorProposal, signDoctored } from "./doctor.js";
import { type ApprovalWorld, approvalWorld, implementationOf, refusal } from "./fixture.js";

const actor = "tester";
const MISMATCH = /^\[BG_APPROVAL_PROPOSAL_MISMATCH\]/;

const safeNonce = async (world: ApprovalWorld) =>
  (await new Contract(world.safe, ["function nonce() view returns (uint256)"], world.connection.ethers.provider).getFunction("nonce")()) as bigint;

describe("a proposal folder rewritten to promote another green (beacon, Safe 1.3.0)", function () {
  let world: ApprovalWorld;
  /** Another implementation on chain, with other code: the green the doctored proposal promotes. */
  let other: string;

  beforeEach(async () => {
    world = await approvalWorld({ kind: "beacon", safeVersion: "1.3.0", singleton: "SafeL2" });
    const deployed = await world.connection.ethers.deployContract("FleetBoxV2");
    await deployed.waitForDeployment();
    other = getAddress(await deployed.getAddress());
  });
  afterEach(async () => {
    await world.cleanup();
  });

  const folder = () => releaseProposalFolder(world.store, world.env.chainId, "box-v2");

  /** The promote of `other` instead of the release's green, with the release's own beacon, blue and evidence. */
  async function promoteOther() {
    const codehash = keccak256(await world.connection.ethers.provider.getCode(other));
    const args = [world.proxy, other, codehash, world.blue, "0x", readGatesStep(world.record)!.evidenceHash];
    return { call: { data: world.env.errors.encodeFunctionData("promote", args), args: args.map(String) } };
  }

  it("bg:approve refuses to sign it, with --signer and with a --signature made elsewhere, naming the field and what the record says", async () => {
    await proposeRelease(world.ctx, "box-v2", { actor });
    const doctored = await doctorProposal(folder(), await promoteOther());

    const message = await refusal(() => approveRelease(world.ctx, "box-v2", { signer: world.owners[0]! }));
    expect(message).to.match(MISMATCH);
    expect(message).to.include(`argument green (address): the proposal has ${other}; release.json of box-v2 says ${world.record.green.address}`);
    expect(message).to.include("argument greenCodehash");
    expect(message).to.include("npx hardhat bg:propose --release box-v2");

    // An owner who signed the doctored typed data with their own tools hands the signature back.
    const signature = await signSafeTransaction(world.owners[1]!, world.env.chainId, world.safe, doctored.safe!.tx);
    expect(await refusal(() => approveRelease(world.ctx, "box-v2", { signature }))).to.match(MISMATCH);

    expect((await folder().read("signatures.json", signatureSetSchema))!.signatures).to.deep.equal([]);
    expect((await world.store.get(world.env.chainId, "box-v2")).state).to.equal("proposed");
    expect(await implementationOf(world)).to.equal(world.blue);
  });

  it("bg:switch refuses to execute it even with enough owner signatures over its hash, and the beacon does not move", async () => {
    const honest = (await proposeRelease(world.ctx, "box-v2", { actor })).proposal.safe!.safeTxHash;
    const doctored = await doctorProposal(folder(), await promoteOther());
    // Two owners signed the doctored transaction: the Safe itself would accept it.
    await signDoctored(folder(), doctored, world.owners.slice(0, 2));
    const nonce = await safeNonce(world);

    const message = await refusal(() => switchRelease(world.ctx, "box-v2", { executor: world.anyone }));
    expect(message).to.match(MISMATCH);
    expect(message).to.include(`the proposal has ${other}; release.json of box-v2 says ${world.record.green.address}`);
    // The safeTxHash is recomputed from the rebuilt transaction in the Safe's domain on this chain, not read from the file.
    expect(message).to.include(`safe.safeTxHash: the proposal has ${doctored.safe!.safeTxHash.toLowerCase()}; release.json of box-v2 says ${honest.toLowerCase()}`);

    expect(await implementationOf(world)).to.equal(world.blue);
    expect(await safeNonce(world)).to.equal(nonce);
    expect((await world.store.get(world.env.chainId, "box-v2")).state).to.equal("proposed");
  });

  it("refuses a Safe transaction whose call is the release's but whose other fields changed (a DELEGATECALL, a refund to someone)", async () => {
    await proposeRelease(world.ctx, "box-v2", { actor });
    await doctorProposal(folder(), { tx: { operation: 1 } });
    expect(await refusal(() => approveRelease(world.ctx, "box-v2", { signer: world.owners[0]! }))).to.match(/^\[BG_APPROVAL_PROPOSAL_MISMATCH\][^]*safe\.tx\.operation: the proposal has 1; release.json of box-v2 says 0/);

    await proposeRelease(world.ctx, "box-v2", { actor });
    await doctorProposal(folder(), { tx: { gasPrice: "1", refundReceiver: other } });
    const message = await refusal(() => approveRelease(world.ctx, "box-v2", { signer: world.owners[0]! }));
    expect(message).to.match(MISMATCH);
    expect(message).to.include("safe.tx.gasPrice").and.include("safe.tx.refundReceiver");
    expect(await implementationOf(world)).to.equal(world.blue);
  });

  it("refuses to resume an execution journal changed to carry another transaction: the executor's key signs nothing", async () => {
    const { proposal } = await proposeRelease(world.ctx, "box-v2", { actor });
    const executor = getAddress(await world.anyone.getAddress());
    const attacker = getAddress(await world.guardian.getAddress());
    const provider = world.connection.ethers.provider;
    const [nonce, balance, block] = await Promise.all([provider.getTransactionCount(executor), provider.getBalance(attacker), provider.getBlockNumber()]);
    // A journal of "this proposal's" execution, in flight and never broadcast, whose transaction pays the attacker.
    await folder().write("execution.json", {
      status: "sending",
      safeTxHash: proposal.safe!.safeTxHash,
      safeNonce: proposal.safe!.tx.nonce,
      to: world.safe,
      data: "0x",
      actor: world.safe,
      executor,
      fromBlock: block,
      startedAt: new Date().toISOString(),
      send: { from: executor, nonce, chainId: world.env.chainId, to: attacker, data: "0x", value: "1000000000000000000", gasLimit: "21000", type: 2, fromBlock: block, attempts: [] },
    });
    const message = await refusal(() => switchRelease(world.ctx, "box-v2", { executor: world.anyone }));
    expect(message).to.match(/^\[BG_APPROVAL_JOURNAL_MISMATCH\].*not this proposal's execution/);
    expect(await provider.getTransactionCount(executor)).to.equal(nonce);
    expect(await provider.getBalance(attacker)).to.equal(balance);
    expect(await implementationOf(world)).to.equal(world.blue);
  });

  it("an honest proposal still goes through: two owners sign (one with a signature made elsewhere), bg:switch executes, the beacon runs green", async () => {
    const { proposal } = await proposeRelease(world.ctx, "box-v2", { actor });
    await approveRelease(world.ctx, "box-v2", { signer: world.owners[0]! });
    const signature = await signSafeTransaction(world.owners[2]!, world.env.chainId, world.safe, proposal.safe!.tx);
    const approved = await approveRelease(world.ctx, "box-v2", { signature });
    expect(approved.missing).to.equal(0);
    const done = await switchRelease(world.ctx, "box-v2", { executor: world.anyone });
    expect(done.status).to.equal("live");
    expect(await implementationOf(world)).to.equal(world.record.green.address);
  });
});

describe("other proposals rewritten consistently: a canary step, a rollback window call", function () {
  let world: ApprovalWorld;
  afterEach(async () => {
    await world.cleanup();
  });

  it("a canary step whose promoteCanary carries another evidence hash is refused before signing and before sending", async () => {
    // A green with blue's storage layout: the reverse check is clean, so a canary may run.
    world = await approvalWorld({ green: "BoxV1Patched" });
    const config = resolveCanaryConfig({ steps: [{ name: "1%", bps: 100 }], salt: "tampered canary" })!;
    const { proposal } = await proposeCanaryStep(world.ctx, "box-v2", { step: "1%", actor, config });
    const [tuple] = world.env.errors.decodeFunctionData("promoteCanary", proposal.call.data);
    const forged = [...tuple];
    forged[8] = keccak256("0x1234");
    const folder = canaryProposalFolder(world.store, world.env.chainId, "box-v2", "1%");
    const doctored = await doctorProposal(folder, { call: { data: world.env.errors.encodeFunctionData("promoteCanary", [forged]) } });

    const message = await refusal(() => approveCanaryStep(world.ctx, "box-v2", "1%", { signer: world.owners[0]! }));
    expect(message).to.match(MISMATCH);
    expect(message).to.include("release.json of box-v2 (canary step 1%)");
    expect(message).to.include(`argument step.evidenceHash (bytes32): the proposal has ${forged[8]}; release.json of box-v2 (canary step 1%) says ${readGatesStep(world.record)!.evidenceHash}`);

    await signDoctored(folder, doctored, world.owners.slice(0, 2));
    expect(await refusal(() => switchCanaryStep(world.ctx, "box-v2", "1%", { executor: world.anyone }))).to.match(MISMATCH);
    expect(await implementationOf(world)).to.equal(world.blue);
  });

  it("bg:rollback --now's proposal rewritten into another approver call is refused by bg:approve --call and bg:call execute; bg:rollback --now proposes it anew", async () => {
    world = await approvalWorld();
    await proposeRelease(world.ctx, "box-v2", { actor });
    await approveRelease(world.ctx, "box-v2", { signer: world.owners[0]! });
    await approveRelease(world.ctx, "box-v2", { signer: world.owners[1]! });
    expect((await switchRelease(world.ctx, "box-v2", { executor: world.anyone })).status).to.equal("live");

    const proposed = await rollbackNow(world.ctx, "box-v2", { executor: world.anyone });
    if (proposed.status !== "proposed") throw new Error("expected a proposal");
    const folder = callProposalFolder(world.store, world.env.chainId, proposed.callId);
    // The rollback becomes `release(proxyAdmin, attacker)`: the switch would hand the ProxyAdmin away.
    const attacker = getAddress(await world.anyone.getAddress());
    const data = world.env.errors.encodeFunctionData("release", [world.proxyAdmin, attacker]);
    const doctored = await doctorProposal(folder, { call: { data, function: "release(address proxyAdmin, address newOwner)", functionName: "release", args: [world.proxyAdmin, attacker] } });

    const flow = await approverCallFlow(world.ctx, proposed.callId);
    const message = await refusal(() => approveFlow(world.env, flow, { signer: world.owners[0]! }));
    expect(message).to.match(MISMATCH);
    expect(message).to.include("release.json of box-v2 (rollbackNow)");
    expect(message).to.include("bg:rollback --release box-v2 --now");

    await signDoctored(folder, doctored, world.owners.slice(0, 2));
    expect(await refusal(() => executeFlow(world.env, flow, { executor: world.anyone }))).to.match(MISMATCH);
    expect(await implementationOf(world)).to.equal(world.record.green.address);
    const owner = new Contract(world.proxyAdmin, ["function owner() view returns (address)"], world.connection.ethers.provider);
    expect(await owner.getFunction("owner")()).to.equal(world.switchAddress);

    // Re-running bg:rollback --now replaces the doctored proposal with the call the record makes, and drops its signatures.
    const again = await rollbackNow(world.ctx, "box-v2", { executor: world.anyone });
    expect(again).to.deep.include({ status: "proposed", signatures: 0 });
    expect((await folder.read("proposal.json", proposalSchema))!.call.functionName).to.equal("rollbackNow");
  });
});
