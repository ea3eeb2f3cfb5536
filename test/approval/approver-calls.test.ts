/**
 * The general approval path for approver-only calls other than promote
 * (guardian and approver changes), and a plain-account approver as on a
 * development network.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";

import { expect } from "chai";
import { Contract, ZeroHash, getAddress } from "ethers";

import { defaultCallId, switchCallSpec } from "../../src/approval/approver-call.js";
import { executeProposal } from "../../src/approval/execute.js";
import { showFactValue } from "../../src/approval/facts.js";
import { approveProposal, proposalSchema, proposeApproverCall } from "../../src/approval/proposal.js";
import { callProposalFolder } from "../../src/approval/proposal-folder.js";
import { approveRelease, proposeRelease, switchRelease } from "../../src/approval/release-switch.js";
import { fileExists } from "../../src/release/store.js";
import { type ApprovalWorld, approvalWorld, implementationOf, refusal } from "./fixture.js";

describe("approver calls through the general approval path", function () {
  let world: ApprovalWorld;
  afterEach(async () => {
    await world.cleanup();
  });

  it("adds a guardian through the Safe: proposal, two signatures, execution, with readable facts", async () => {
    world = await approvalWorld();
    const sw = { address: world.switchAddress, iface: world.env.errors };
    const newGuardian = await world.anyone.getAddress();
    const spec = await switchCallSpec(world.env, sw, "addGuardian", [newGuardian], { id: "pending" });
    const id = defaultCallId(spec);
    expect(id).to.match(/^add-guardian-[0-9a-f]{8}$/);
    const folder = callProposalFolder(world.store, world.env.chainId, id);
    const { proposal, builderFile } = await proposeApproverCall(world.env, folder, { ...spec, id });
    expect(proposal.title).to.equal(`Add guardian ${getAddress(newGuardian)}`);
    expect(builderFile).to.be.a("string");
    expect(proposal.facts.map((f) => f.label)).to.deep.equal(["switch approver", "switch guardians"]);
    expect(showFactValue(proposal.facts[0]!, proposal.facts[0]!.expected)).to.equal(world.safe);

    // Too few signatures: nothing happens.
    await approveProposal(world.env, folder, { signer: world.owners[1]! });
    const waiting = await executeProposal(world.env, folder, { executor: world.deployer });
    expect(waiting.status).to.equal("waiting");
    await approveProposal(world.env, folder, { signer: world.owners[2]! });
    const done = await executeProposal(world.env, folder, { executor: world.deployer });
    expect(done.status).to.equal("executed");
    const contract = new Contract(world.switchAddress, world.env.errors, world.connection.ethers.provider);
    expect(await contract.getFunction("isGuardian")(newGuardian)).to.equal(true);
    // Executing again returns the same transaction; proposing again is refused.
    const again = await executeProposal(world.env, folder, { executor: world.deployer });
    expect(again).to.deep.include({ status: "executed", resumed: true });
    if (done.status === "executed" && again.status === "executed") expect(again.txHash).to.equal(done.txHash);
    expect(await refusal(() => proposeApproverCall(world.env, folder, { ...spec, id }))).to.match(/already executed/);
  });

  it("names the implementation a proxy or beacon runs in the title of an adopt call, in proposal.json and summary.md", async () => {
    for (const kind of ["transparent", "beacon"] as const) {
      world = await approvalWorld({ kind });
      // The world's own adoption went through the approval path with the default title.
      const folder = callProposalFolder(world.store, world.env.chainId, "adopt-box");
      const proposal = (await folder.read("proposal.json", proposalSchema))!;
      const expected =
        kind === "beacon"
          ? `Adopt beacon ${world.proxy} (running ${world.blue}) into the switch`
          : `Adopt transparent proxy ${world.proxy} (ProxyAdmin ${world.proxyAdmin}, running ${world.blue}) into the switch`;
      expect(proposal.title).to.include(expected).and.not.include("undefined");
      const summary = await readFile(path.join(world.store.chainDir(world.env.chainId), "calls", "adopt-box", "summary.md"), "utf8");
      expect(summary).to.include(expected);
      if (kind === "transparent") {
        const sw = { address: world.switchAddress, iface: world.env.errors };
        const uups = await switchCallSpec(world.env, sw, "adoptUups", [world.proxy, world.blue, 0, ZeroHash], { id: "x" });
        expect(uups.title).to.equal(`Adopt UUPS proxy ${world.proxy} (running ${world.blue}) into the switch, its upgrade authority as owner()`);
        await world.cleanup();
      }
    }
  });

  it("shows the switch's record of a proxy decoded, not as hex", async () => {
    world = await approvalWorld();
    const sw = { address: world.switchAddress, iface: world.env.errors };
    const spec = await switchCallSpec(world.env, sw, "finalize", [world.proxy], { id: "x" });
    const folder = callProposalFolder(world.store, world.env.chainId, "x");
    const message = await refusal(() => proposeApproverCall(world.env, folder, spec));
    // No release is live, so the switch would refuse; the simulation names the switch's error.
    expect(message).to.match(/would fail .*ReleaseNotLive/);
    const { pinFacts } = await import("../../src/approval/facts.js");
    const [, record] = await pinFacts(world.connection.ethers.provider, spec.facts);
    expect(showFactValue(record!, record!.expected)).to.include(world.proxyAdmin).and.to.include(world.blue);
  });

  it("refuses functions that are not approver calls", async () => {
    world = await approvalWorld();
    const sw = { address: world.switchAddress, iface: world.env.errors };
    expect(await refusal(() => switchCallSpec(world.env, sw, "executeRollback", [world.proxy], { id: "x" }))).to.match(/open to anyone/);
    expect(await refusal(() => switchCallSpec(world.env, sw, "addGuardian", [], { id: "x" }))).to.match(/takes 1 argument/);
  });

  it("rotates the approver: the Safe proposes a plain account, which accepts by itself", async () => {
    world = await approvalWorld();
    const sw = { address: world.switchAddress, iface: world.env.errors };
    const next = await world.anyone.getAddress();
    const propose = await switchCallSpec(world.env, sw, "proposeApprover", [next], { id: "rotate" });
    const folder = callProposalFolder(world.store, world.env.chainId, "rotate");
    await proposeApproverCall(world.env, folder, propose);
    await approveProposal(world.env, folder, { signer: world.owners[0]! });
    await approveProposal(world.env, folder, { signer: world.owners[2]! });
    expect((await executeProposal(world.env, folder, { executor: world.deployer })).status).to.equal("executed");

    const accept = await switchCallSpec(world.env, sw, "acceptApprover", [], { id: "accept" });
    expect(accept.actor).to.equal(getAddress(next));
    const acceptFolder = callProposalFolder(world.store, world.env.chainId, "accept");
    const proposed = await proposeApproverCall(world.env, acceptFolder, accept);
    expect(proposed.proposal.actor).to.deep.equal({ kind: "account", address: getAddress(next) });
    expect(proposed.builderFile).to.equal(undefined);
    expect(await refusal(() => executeProposal(world.env, acceptFolder, { executor: world.deployer }))).to.match(/only it can make this call/);
    expect((await executeProposal(world.env, acceptFolder, { executor: world.anyone })).status).to.equal("executed");
    const contract = new Contract(world.switchAddress, world.env.errors, world.connection.ethers.provider);
    expect(await contract.getFunction("approver")()).to.equal(getAddress(next));
  });
});

describe("a plain-account approver (development networks)", function () {
  let world: ApprovalWorld;
  afterEach(async () => {
    await world.cleanup();
  });

  it("proposes without a Safe transaction, needs no signatures, and switches when the approver itself executes", async () => {
    world = await approvalWorld({ approver: "account" });
    const approver = world.owners[0]!;
    const { proposal, builderFile } = await proposeRelease(world.ctx, "box-v2", { actor: "tester" });
    expect(proposal.actor).to.deep.equal({ kind: "account", address: getAddress(await approver.getAddress()) });
    expect(proposal.safe).to.equal(undefined);
    expect(builderFile).to.equal(undefined);
    const dir = world.store.releaseDir(world.env.chainId, "box-v2");
    expect(await fileExists(path.join(dir, "safe-tx-builder.json"))).to.equal(false);
    expect(await readFile(path.join(dir, "summary.md"), "utf8")).to.include("plain account");

    expect(await refusal(() => approveRelease(world.ctx, "box-v2", { signer: approver }))).to.match(/nothing to sign/);
    expect(await refusal(() => switchRelease(world.ctx, "box-v2", { executor: world.anyone }))).to.match(/only it can make this call/);
    const done = await switchRelease(world.ctx, "box-v2", { executor: approver });
    expect(done.status).to.equal("live");
    expect(await implementationOf(world)).to.equal(world.record.green.address);
  });

  it("completes on a re-run when the process dies after the approver sent the switch", async () => {
    world = await approvalWorld({ approver: "account" });
    const approver = world.owners[0]!;
    await proposeRelease(world.ctx, "box-v2", { actor: "tester" });
    const crash = await refusal(() =>
      switchRelease(world.ctx, "box-v2", {
        executor: approver,
        afterSend: () => {
          throw new Error("crash");
        },
      }),
    );
    expect(crash).to.equal("crash");
    // Lose the journal's hash too: the re-run must find the transaction on chain by itself.
    const folder = (await import("../../src/approval/proposal-folder.js")).releaseProposalFolder(world.store, world.env.chainId, "box-v2");
    const { executionJournalSchema } = await import("../../src/approval/journal.js");
    const journal = (await folder.read("execution.json", executionJournalSchema))!;
    const { txHash, ...withoutHash } = journal;
    await folder.write("execution.json", { ...withoutHash, status: "sending" });
    const done = await switchRelease(world.ctx, "box-v2", { executor: approver });
    expect(done).to.deep.include({ status: "live", txHash, resumed: true });
  });
});
