/**
 * The Safe Transaction Service flow, against a local stand-in that follows the
 * service's published API (the real service is not reachable from here):
 * bg:propose posts the Safe transaction through @safe-global/api-kit so it
 * shows in every owner's Safe{Wallet} queue, a confirmation given in the Safe
 * app is read back by bg:switch, and bg:approve shares its signatures.
 */
import { expect } from "chai";
import { getAddress } from "ethers";

import { type ApprovalEnv } from "../../src/approval/proposal.js";
import { approveRelease, proposeRelease, switchRelease } from "../../src/approval/release-switch.js";
import { readStep } from "../../src/release/steps.js";
import { connectSafeService } from "../../src/approval/safe-service.js";
import { signSafeTransaction } from "../../src/approval/signatures.js";
import { type SafeServiceStandIn, startSafeServiceStandIn } from "../fixtures/safe-transaction-service.js";
import { type ApprovalWorld, approvalWorld, implementationOf, refusal } from "./fixture.js";

describe("the Safe Transaction Service (local stand-in)", () => {
  let world: ApprovalWorld;
  let service: SafeServiceStandIn;
  let ctx: ApprovalWorld["ctx"];
  beforeEach(async () => {
    world = await approvalWorld({ safeVersion: "1.3.0", singleton: "SafeL2" });
    service = await startSafeServiceStandIn(world.connection.ethers.provider, BigInt(world.env.chainId));
    const env: ApprovalEnv & { errors: typeof world.env.errors } = { ...world.env, safeService: await connectSafeService(service.url, world.env.chainId) };
    ctx = { ...world.ctx, env };
  });
  afterEach(async () => {
    await service.close();
    await world.cleanup();
  });

  it("bg:propose by an owner posts the Safe transaction with the owner's signature; a confirmation from the Safe app lets bg:switch execute", async () => {
    const owner = world.owners[0]!;
    const outcome = await proposeRelease(ctx, "box-v2", { actor: "test", proposer: owner });
    const hash = outcome.proposal.safe!.safeTxHash;
    expect(outcome.service).to.deep.equal({ url: service.url, status: "posted" });
    expect(readStep(outcome.record, "proposal")!.service).to.deep.equal({ url: service.url, status: "posted" });
    const queued = service.transactions.get(hash.toLowerCase())!;
    expect(queued).to.deep.include({ safe: world.safe, to: world.switchAddress, nonce: outcome.proposal.safe!.tx.nonce, origin: "hardhat-bluegreen" });
    expect(queued.confirmations.map((c) => c.owner)).to.deep.equal([getAddress(await owner.getAddress())]);
    expect(service.requests).to.include(`POST /v2/safes/${world.safe}/multisig-transactions/`);

    // A second owner confirms in Safe{Wallet}: the app posts the confirmation to the service, not to us.
    const second = world.owners[1]!;
    const signature = await signSafeTransaction(second, world.env.chainId, world.safe, outcome.proposal.safe!.tx);
    const response = await fetch(`${service.url}/v1/multisig-transactions/${hash}/confirmations/`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ signature }),
    });
    expect(response.status).to.equal(201);

    const live = await switchRelease(ctx, "box-v2", { executor: world.anyone });
    expect(live.status).to.equal("live");
    expect(await implementationOf(world)).to.equal(world.record.green.address);
    expect(service.requests).to.include(`GET /v1/multisig-transactions/${hash}/confirmations/`);
  });

  it("a proposer who is not an owner leaves posting to the first bg:approve, whose signatures then reach the service", async () => {
    const outcome = await proposeRelease(ctx, "box-v2", { actor: "test", proposer: world.deployer });
    expect(outcome.service?.status).to.equal("deferred");
    expect(outcome.service?.reason).to.match(/not an owner.*first bg:approve posts it/);
    const hash = outcome.proposal.safe!.safeTxHash.toLowerCase();
    expect(service.transactions.has(hash)).to.equal(false);

    await approveRelease(ctx, "box-v2", { signer: world.owners[2]! });
    expect(service.transactions.get(hash)!.confirmations.map((c) => c.owner)).to.deep.equal([getAddress(await world.owners[2]!.getAddress())]);
    const approved = await approveRelease(ctx, "box-v2", { signer: world.owners[0]! });
    expect(approved.missing).to.equal(0);
    expect(service.transactions.get(hash)!.confirmations).to.have.length(2);
  });

  it("an unreachable service is a coded error that names the URL and the config key", async () => {
    const url = service.url;
    await service.close();
    service = { ...service, close: async () => {} };
    const message = await refusal(() => proposeRelease(ctx, "box-v2", { actor: "test", proposer: world.owners[0]! }));
    expect(message).to.match(/^\[BG_APPROVAL_SERVICE\] The Safe Transaction Service at /);
    expect(message).to.include(url);
    expect(message).to.include("blueGreen.approval.safeService");
  });
});
