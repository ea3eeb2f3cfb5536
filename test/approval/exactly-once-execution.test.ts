/**
 * Issue 19: the approval execution journal resumes the send by its nonce and
 * hash. Automine is off, so the switch transaction stays pending after the
 * first run "dies"; the re-run waits for that very transaction (or
 * re-broadcasts it at its nonce when the node dropped it) and never sends a
 * second one.
 */
import { expect } from "chai";

import { executionJournalSchema } from "../../src/approval/journal.js";
import { releaseProposalFolder } from "../../src/approval/proposal-folder.js";
import { proposeRelease, switchRelease } from "../../src/approval/release-switch.js";
import { type ApprovalWorld, approvalWorld, implementationOf, refusal } from "./fixture.js";

describe("the approval execution journal sends exactly once (automine off)", function () {
  let world: ApprovalWorld;
  afterEach(async () => world?.cleanup());

  const rpc = (method: string, params: unknown[] = []) => world.connection.provider.request({ method, params });
  const nonceOf = async (account: string, tag: "latest" | "pending") => Number(await rpc("eth_getTransactionCount", [account, tag]));

  /** The first run sends the switch, then dies before it is mined. */
  async function crashWhilePending(): Promise<{ sent: string; approver: string; nonce: number }> {
    world = await approvalWorld({ approver: "account" });
    const approver = await world.owners[0]!.getAddress();
    await proposeRelease(world.ctx, "box-v2", { actor: "tester" });
    await rpc("evm_setAutomine", [false]);
    const nonce = await nonceOf(approver, "latest");
    let sent = "";
    const crash = await refusal(() =>
      switchRelease(world.ctx, "box-v2", {
        executor: world.owners[0]!,
        afterSend: (hash) => {
          sent = hash;
          throw new Error("simulated crash after sending");
        },
      }),
    );
    expect(crash).to.equal("simulated crash after sending");
    const journal = (await releaseProposalFolder(world.store, world.env.chainId, "box-v2").read("execution.json", executionJournalSchema))!;
    expect(journal.send!.nonce).to.equal(nonce);
    expect(journal.send!.attempts.map((a) => a.hash)).to.deep.equal([sent]);
    return { sent, approver, nonce };
  }

  /** Runs `run` while mining a block now and then, until it settles. */
  async function whileMining<T>(run: Promise<T>): Promise<T> {
    let settled = false;
    const done = run.finally(() => (settled = true));
    while (!settled) {
      await rpc("evm_mine");
      await Promise.race([done.catch(() => undefined), new Promise((r) => setTimeout(r, 300))]);
    }
    return done;
  }

  it("a re-run waits for the pending switch transaction by its hash and sends nothing else", async () => {
    const { sent, approver, nonce } = await crashWhilePending();
    expect(await rpc("eth_getTransactionReceipt", [sent])).to.equal(null);
    const resumed = await whileMining(switchRelease(world.ctx, "box-v2", { executor: world.owners[0]! }));
    if (resumed.status !== "live") throw new Error("expected live");
    expect(resumed.txHash).to.equal(sent);
    expect(resumed.resumed).to.equal(true);
    expect(await nonceOf(approver, "latest")).to.equal(nonce + 1);
    expect(await implementationOf(world)).to.equal(world.record.green.address);
  });

  it("a re-run re-broadcasts a switch transaction the node dropped, at the same nonce and with the same hash", async () => {
    const { sent, approver, nonce } = await crashWhilePending();
    await rpc("hardhat_dropTransaction", [sent]);
    expect(await rpc("eth_getTransactionByHash", [sent])).to.equal(null);
    const resumed = await whileMining(switchRelease(world.ctx, "box-v2", { executor: world.owners[0]! }));
    if (resumed.status !== "live") throw new Error("expected live");
    expect(resumed.txHash).to.equal(sent);
    expect(await nonceOf(approver, "latest")).to.equal(nonce + 1);
    expect(await implementationOf(world)).to.equal(world.record.green.address);
  });
});
