/**
 * bg:propose → bg:approve → bg:switch with a real 2-of-3 Safe v1.4.1 as the
 * switch's approver, and the general approval path for the other approver
 * calls.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";

import { expect } from "chai";
import { Contract, Interface, TypedDataEncoder, getAddress } from "ethers";

import { verifyBuilderFileChecksum, builderFileSchema } from "../../src/approval/builder-file.js";
import { execTransactionData } from "../../src/approval/execute.js";
import { approveProposal, proposalSchema } from "../../src/approval/proposal.js";
import { releaseProposalFolder } from "../../src/approval/proposal-folder.js";
import { approveRelease, proposeRelease, switchRelease } from "../../src/approval/release-switch.js";
import { readStep } from "../../src/release/steps.js";
import { safeContract } from "../../src/approval/safe-transaction.js";
import { packSignatures, signSafeTransaction, signatureSetSchema } from "../../src/approval/signatures.js";
import { recordGatesRun } from "../../src/gates/gates-step.js";
import { gateResult } from "../../src/gates/gate-result.js";
import { canTransition } from "../../src/release/record.js";
import { type ApprovalWorld, approvalWorld, implementationOf, refusal } from "./fixture.js";

describe("bg:propose, bg:approve and bg:switch through a 2-of-3 Safe", function () {
  let world: ApprovalWorld;
  beforeEach(async () => {
    world = await approvalWorld();
  });
  afterEach(async () => {
    await world.cleanup();
  });

  const actor = "tester";

  it("proposes promote with a safeTxHash the Safe itself computes, a valid Transaction Builder file and a summary", async () => {
    const outcome = await proposeRelease(world.ctx, "box-v2", { actor });
    const { proposal } = outcome;
    expect(outcome.record.state).to.equal("proposed");
    expect(proposal.actor).to.deep.include({ kind: "safe", address: world.safe, threshold: 2 });
    expect(proposal.call.functionName).to.equal("promote");
    expect(proposal.call.to).to.equal(world.switchAddress);

    // The Safe's own getTransactionHash agrees with the recorded safeTxHash.
    const tx = proposal.safe!.tx;
    const onChain = await safeContract(world.safe, world.connection.ethers.provider).getFunction("getTransactionHash")(
      tx.to, tx.value, tx.data, tx.operation, tx.safeTxGas, tx.baseGas, tx.gasPrice, tx.gasToken, tx.refundReceiver, tx.nonce,
    );
    expect(proposal.safe!.safeTxHash).to.equal(onChain);
    expect(tx.nonce).to.equal("1"); // nonce 0 went to the adoption

    // The call carries the release's values and its gates' evidence hash.
    const decoded = world.env.errors.decodeFunctionData("promote", proposal.call.data);
    const record = outcome.record;
    expect(decoded.proxy).to.equal(world.proxy);
    expect(decoded.green).to.equal(record.green.address);
    expect(decoded.greenCodehash).to.equal(record.green.codehash);
    expect(decoded.expectedBlue).to.equal(world.blue);
    expect(decoded.evidenceHash).to.equal((record.steps.gates as { evidenceHash: string }).evidenceHash);
    expect(readStep(record, "proposal")).to.deep.include({ safeTxHash: proposal.safe!.safeTxHash, evidenceHash: decoded.evidenceHash });

    // Files beside the record: builder file with a valid checksum, summary with the hashes.
    const dir = world.store.releaseDir(world.env.chainId, "box-v2");
    const builder = builderFileSchema.parse(JSON.parse(await readFile(path.join(dir, "safe-tx-builder.json"), "utf8")));
    expect(verifyBuilderFileChecksum(builder)).to.equal(true);
    expect(builder.transactions).to.have.length(1);
    expect(builder.transactions[0]).to.include({ to: world.switchAddress, data: proposal.call.data, value: "0" });
    expect(builder.meta.createdFromSafeAddress).to.equal(world.safe);
    const summary = await readFile(path.join(dir, "summary.md"), "utf8");
    for (const value of [proposal.safe!.safeTxHash, proposal.safe!.domainHash, proposal.safe!.messageHash, record.green.codehash, decoded.evidenceHash]) {
      expect(summary).to.include(value);
    }
    expect(summary).to.include("cast call");
    proposalSchema.parse(JSON.parse(await readFile(path.join(dir, "proposal.json"), "utf8")));
    // The typed-data document for signing with one's own tools hashes to the same safeTxHash.
    const typed = JSON.parse(await readFile(path.join(dir, "safe-tx-typed-data.json"), "utf8"));
    const { EIP712Domain: _domainType, ...types } = typed.types;
    expect(typed.primaryType).to.equal("SafeTx");
    expect(TypedDataEncoder.hash(typed.domain, types, typed.message)).to.equal(proposal.safe!.safeTxHash);
  });

  it("with one signature bg:switch says one is missing and changes nothing; with two it executes and the proxy runs green", async () => {
    await proposeRelease(world.ctx, "box-v2", { actor });
    const first = await approveRelease(world.ctx, "box-v2", { signer: world.owners[0]! });
    expect(first).to.deep.include({ threshold: 2, missing: 1 });
    expect(first.record.state).to.equal("proposed");

    const waiting = await switchRelease(world.ctx, "box-v2", { executor: world.anyone });
    expect(waiting).to.deep.include({ status: "waiting", signatures: 1, threshold: 2, missing: 1 });
    expect(await implementationOf(world)).to.equal(world.blue);
    expect((await world.store.get(world.env.chainId, "box-v2")).state).to.equal("proposed");

    const second = await approveRelease(world.ctx, "box-v2", { signer: world.owners[1]! });
    expect(second.missing).to.equal(0);
    expect(second.record.state).to.equal("approved");

    const done = await switchRelease(world.ctx, "box-v2", { executor: world.anyone });
    if (done.status !== "live") throw new Error("expected live");
    expect(done.implementation).to.equal(world.record.green.address);
    expect(await implementationOf(world)).to.equal(world.record.green.address);
    expect(done.record.state).to.equal("live");
    const step = readStep(done.record, "switch")!;
    expect(step.txHash).to.equal(done.txHash);
    expect(step.executor).to.equal(getAddress(await world.anyone.getAddress()));
    expect(Date.parse(step.windowEnd) - Date.parse(step.promotedAt)).to.equal(3600 * 1000);
    expect(done.record.history.at(-1)).to.include({ state: "live", txHash: done.txHash });
    // The box now answers as green.
    const box = new Contract(world.proxy, ["function version() view returns (string)"], world.connection.ethers.provider);
    expect(await box.getFunction("version")()).to.equal("2");

    // Running it again is idempotent: nothing is sent.
    const nonce = await world.anyone.getNonce();
    const again = await switchRelease(world.ctx, "box-v2", { executor: world.anyone });
    expect(again).to.deep.include({ status: "live", alreadyLive: true, txHash: done.txHash });
    expect(await world.anyone.getNonce()).to.equal(nonce);
  });

  it("takes signatures in any owner order, and refuses duplicates and non-owners", async () => {
    await proposeRelease(world.ctx, "box-v2", { actor });
    // Sign in descending owner-address order; execution must still sort them.
    const byAddress = await Promise.all(world.owners.map(async (s) => ({ s, a: await s.getAddress() })));
    byAddress.sort((x, y) => (BigInt(y.a) > BigInt(x.a) ? 1 : -1));
    await approveRelease(world.ctx, "box-v2", { signer: byAddress[0]!.s });
    expect(await refusal(() => approveRelease(world.ctx, "box-v2", { signer: byAddress[0]!.s }))).to.match(/already signed/);
    expect(await refusal(() => approveRelease(world.ctx, "box-v2", { signer: world.anyone }))).to.match(/not an owner/);
    // A signature made elsewhere (e.g. a hardware wallet) is pasted in; one by a non-owner is refused.
    const proposal = (await proposeRelease(world.ctx, "box-v2", { actor })).proposal; // same nonce: signatures kept
    const foreign = await signSafeTransaction(world.anyone, world.env.chainId, world.safe, proposal.safe!.tx);
    expect(await refusal(() => approveRelease(world.ctx, "box-v2", { signature: foreign }))).to.match(/not an owner/);
    const pasted = await signSafeTransaction(byAddress[1]!.s, world.env.chainId, world.safe, proposal.safe!.tx);
    const second = await approveRelease(world.ctx, "box-v2", { signature: pasted });
    expect(second.missing).to.equal(0);
    const stored = signatureSetSchema.parse(
      JSON.parse(await readFile(path.join(world.store.releaseDir(world.env.chainId, "box-v2"), "signatures.json"), "utf8")),
    );
    expect(stored.signatures.map((s) => s.owner)).to.deep.equal([byAddress[0]!.a, byAddress[1]!.a]);

    const done = await switchRelease(world.ctx, "box-v2", { executor: world.anyone });
    expect(done.status).to.equal("live");
    expect(await implementationOf(world)).to.equal(world.record.green.address);
  });

  it("refuses drift: another upgrade between proposal and switch makes the proposal stale", async () => {
    // Release A is proposed at a later Safe nonce (queued behind another transaction).
    const a = await proposeRelease(world.ctx, "box-v2", { actor, nonce: 2n });
    await approveRelease(world.ctx, "box-v2", { signer: world.owners[0]! });
    await approveRelease(world.ctx, "box-v2", { signer: world.owners[1]! });

    // Meanwhile release B (another green for the same proxy) is proposed at nonce 1 and switched.
    const greenB = await world.connection.ethers.deployContract("BoxV2");
    await greenB.waitForDeployment();
    const greenBAddress = getAddress(await greenB.getAddress());
    await world.store.update(world.env.chainId, "box-v2-b", () => ({
      ...world.record,
      id: "box-v2-b",
      state: "staged",
      green: { ...world.record.green, address: greenBAddress },
      steps: {},
      history: [world.record.history[0]!],
    }));
    const recordB = (await world.store.get(world.env.chainId, "box-v2-b"))!;
    await recordGatesRun(world.store, recordB, [gateResult("safety", "pass", true, "ok")], { actor });
    await proposeRelease(world.ctx, "box-v2-b", { actor });
    await approveRelease(world.ctx, "box-v2-b", { signer: world.owners[1]! });
    await approveRelease(world.ctx, "box-v2-b", { signer: world.owners[2]! });
    expect((await switchRelease(world.ctx, "box-v2-b", { executor: world.anyone })).status).to.equal("live");

    // A's nonce is still free, but what it rests on changed: refused, nothing sent.
    expect(a.proposal.safe!.tx.nonce).to.equal("2");
    const message = await refusal(() => switchRelease(world.ctx, "box-v2", { executor: world.anyone }));
    expect(message).to.match(/chain changed since the proposal/);
    expect(message).to.include(`switch's record of proxy ${world.proxy}`);
    expect(message).to.include("Propose again");
    expect(await implementationOf(world)).to.equal(greenBAddress);
    // Signing the stale proposal is refused too.
    expect(await refusal(() => approveRelease(world.ctx, "box-v2", { signer: world.owners[2]! }))).to.match(/chain changed/);
    // And proposing it again is refused: the switch no longer tracks its blue (or, while the
    // lifecycle has no way back from approved, because it is approved).
    expect(await refusal(() => proposeRelease(world.ctx, "box-v2", { actor }))).to.match(
      canTransition("approved", "proposed") ? /Another upgrade happened/ : /is approved/,
    );
  });

  it("refuses a proposal whose Safe nonce another transaction used", async () => {
    await proposeRelease(world.ctx, "box-v2", { actor });
    await approveRelease(world.ctx, "box-v2", { signer: world.owners[0]! });
    // The owners spend nonce 1 on something else (raising the threshold to 3).
    const data = new Interface(["function changeThreshold(uint256)"]).encodeFunctionData("changeThreshold", [3]);
    const { buildSafeTransaction } = await import("../../src/approval/safe-transaction.js");
    const other = buildSafeTransaction({ to: world.safe, data, nonce: 1n });
    const sigs = await Promise.all(
      world.owners.slice(0, 2).map(async (s) => ({
        owner: getAddress(await s.getAddress()),
        signature: await signSafeTransaction(s, world.env.chainId, world.safe, other),
        kind: "eip712" as const,
        addedAt: new Date().toISOString(),
      })),
    );
    const fake = { safe: { tx: other } } as Parameters<typeof execTransactionData>[0];
    await (await world.deployer.sendTransaction({ to: world.safe, data: execTransactionData(fake, packSignatures(sigs)) })).wait();

    expect(await refusal(() => approveRelease(world.ctx, "box-v2", { signer: world.owners[1]! }))).to.match(/nonce 2, past this proposal's nonce 1/);
    expect(await refusal(() => switchRelease(world.ctx, "box-v2", { executor: world.anyone }))).to.match(/can never execute/);
    expect(await implementationOf(world)).to.equal(world.blue);
  });

  it("completes on a re-run when the process dies after the switch transaction was sent", async () => {
    await proposeRelease(world.ctx, "box-v2", { actor });
    await approveRelease(world.ctx, "box-v2", { signer: world.owners[0]! });
    await approveRelease(world.ctx, "box-v2", { signer: world.owners[2]! });
    let sentHash = "";
    const crash = await refusal(() =>
      switchRelease(world.ctx, "box-v2", {
        executor: world.anyone,
        afterSend: (hash) => {
          sentHash = hash;
          throw new Error("simulated crash after sending");
        },
      }),
    );
    expect(crash).to.equal("simulated crash after sending");
    // The transaction went out, the record did not move.
    expect((await world.store.get(world.env.chainId, "box-v2")).state).to.equal("approved");
    const nonce = await world.anyone.getNonce();

    const resumed = await switchRelease(world.ctx, "box-v2", { executor: world.anyone });
    if (resumed.status !== "live") throw new Error("expected live");
    expect(resumed.txHash).to.equal(sentHash);
    expect(resumed.resumed).to.equal(true);
    expect(await world.anyone.getNonce()).to.equal(nonce); // nothing sent twice
    expect(resumed.record.state).to.equal("live");
    expect(await implementationOf(world)).to.equal(world.record.green.address);
  });

  it("completes the record when the signed transaction was executed elsewhere (e.g. the Safe web app)", async () => {
    const { proposal } = await proposeRelease(world.ctx, "box-v2", { actor });
    await approveRelease(world.ctx, "box-v2", { signer: world.owners[0]! });
    await approveRelease(world.ctx, "box-v2", { signer: world.owners[1]! });
    const set = signatureSetSchema.parse(
      JSON.parse(await readFile(path.join(world.store.releaseDir(world.env.chainId, "box-v2"), "signatures.json"), "utf8")),
    );
    const tx = await world.deployer.sendTransaction({ to: world.safe, data: execTransactionData(proposal, packSignatures(set.signatures)) });
    await tx.wait();

    const done = await switchRelease(world.ctx, "box-v2", { executor: world.anyone });
    expect(done).to.deep.include({ status: "live", txHash: tx.hash, resumed: true });
  });

  it("refuses a hand-edited proposal", async () => {
    await proposeRelease(world.ctx, "box-v2", { actor });
    const folder = releaseProposalFolder(world.store, world.env.chainId, "box-v2");
    const proposal = (await folder.read("proposal.json", proposalSchema))!;
    await folder.write("proposal.json", { ...proposal, safe: { ...proposal.safe!, tx: { ...proposal.safe!.tx, to: world.proxy } } });
    expect(await refusal(() => approveProposal(world.env, folder, { signer: world.owners[0]! }))).to.match(/changed after it was made/);
  });
});
