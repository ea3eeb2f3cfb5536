/**
 * Issue 19: green is deployed exactly once, even when a run dies while its
 * deploy is pending, when the deploy is replaced at its nonce, and when two
 * runs from one deployer race. Against anvil with automine off, so the
 * deploy stays pending until the test mines a block.
 */
import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { getCreateAddress, keccak256 } from "ethers";
import hre from "hardhat";
import { Manifest } from "@openzeppelin/upgrades-core";
import { z } from "zod";

import { sendJournalSchema } from "../../src/chain/send-once.js";
import { ReleaseStore } from "../../src/release/store.js";
import { loadContractBuild } from "../../src/stage/contract-build.js";
import { DEPLOY_JOURNAL } from "../../src/stage/deploy-green.js";
import { listOrphanedDeployments } from "../../src/switch/orphans.js";
import { stageRelease, type StageParams } from "../../src/stage/stage-release.js";
import { deployBoxBehindProxy, type DeployedBox } from "../helpers/box.js";
import { startNode, type RunningNode } from "../helpers/nodes.js";

const stageConfig = { unsafeAllow: [], unsafeAllowRenames: false };
const journalSchema = z.object({ nonce: z.number(), deployer: z.string(), send: sendJournalSchema }).passthrough();

describe("bg:stage sends green's deploy exactly once (anvil, automine off)", function () {
  let node: RunningNode;
  let box: DeployedBox;
  let store: ReleaseStore;
  let deployer: string;

  before(async () => {
    node = await startNode("anvil");
    box = await deployBoxBehindProxy(node.url);
    deployer = await box.owner.getAddress();
  });
  after(async () => node?.stop());
  beforeEach(async () => {
    store = new ReleaseStore(await mkdtemp(path.join(tmpdir(), "bg-once-")));
    const manifest = await Manifest.forNetwork({ send: (m: string, p: unknown[]) => box.provider.send(m, p) });
    await manifest.lockedRun(async () => {
      const data = await manifest.read();
      data.impls = {};
      data.proxies = [];
      await manifest.write(data);
    });
    await box.provider.send("evm_setAutomine", [false]);
  });
  afterEach(async () => {
    await box.provider.send("evm_setAutomine", [true]);
  });

  const provider = () => ({ request: ({ method, params }: { method: string; params?: unknown }) => box.provider.send(method, (params as unknown[]) ?? []) });
  const params = (overrides: Partial<StageParams> = {}): StageParams => ({
    provider: provider(),
    signer: box.owner,
    artifacts: hre.artifacts,
    store,
    networkName: "anvil",
    config: stageConfig,
    proxy: box.proxy,
    contract: "BoxV2",
    reference: "BoxV1",
    sending: { pollMs: 50 },
    ...overrides,
  });
  const nonceOf = async (tag: "latest" | "pending") => Number(await box.provider.send("eth_getTransactionCount", [deployer, tag]));
  const mine = () => box.provider.send("evm_mine", []);

  /** Runs `run` while mining a block now and then, until it settles. */
  async function whileMining<T>(run: Promise<T>): Promise<T> {
    let settled = false;
    const done = run.finally(() => (settled = true));
    while (!settled) {
      await mine();
      await Promise.race([done.catch(() => undefined), new Promise((r) => setTimeout(r, 200))]);
    }
    return done;
  }

  /** Contract creations sent by the deployer in blocks from `from` on. */
  async function creationsSince(from: number): Promise<string[]> {
    const latest = await box.provider.getBlockNumber();
    const created: string[] = [];
    for (let n = from; n <= latest; n++) {
      const block = await box.provider.send("eth_getBlockByNumber", ["0x" + n.toString(16), true]);
      for (const tx of block.transactions) if (tx.to === null && tx.from.toLowerCase() === deployer.toLowerCase()) created.push(tx.hash);
    }
    return created;
  }

  async function crashAfterBroadcast(releaseId: string): Promise<string> {
    let sent = "";
    try {
      await stageRelease(
        params({
          releaseId,
          afterBroadcast: (hash) => {
            sent = hash;
            throw new Error("simulated crash after broadcast");
          },
        }),
      );
    } catch (e) {
      expect((e as Error).message).to.include("simulated crash after broadcast");
      return sent;
    }
    throw new Error("expected the first run to crash");
  }

  it("a re-run while the deploy is still pending waits for it: the same contract at the journaled nonce, one deployment", async () => {
    const startBlock = (await box.provider.getBlockNumber()) + 1;
    const nonce = await nonceOf("latest");
    const sent = await crashAfterBroadcast("pending-resume");
    const journal = (await store.readReleaseFile(31337, "pending-resume", DEPLOY_JOURNAL, journalSchema))!;
    expect(journal.nonce).to.equal(nonce);
    expect(journal.send.attempts.map((a) => a.hash)).to.deep.equal([sent]);
    expect(journal.send.attempts[0]!.raw).to.match(/^0x02/); // the signed transaction was journaled before it was broadcast
    expect((await box.provider.send("eth_getTransactionByHash", [sent])).blockNumber).to.equal(null); // still pending

    const lines: string[] = [];
    const { record, greenDeployment } = await stageRelease(
      params({
        releaseId: "pending-resume",
        log: (line) => {
          lines.push(line);
          if (line.includes("still pending")) void mine();
        },
      }),
    );
    expect(lines.join("\n")).to.include(`Waiting for the journaled transaction ${sent} (nonce ${nonce} of ${deployer}), still pending.`);
    expect(greenDeployment).to.equal("resumed");
    expect(record.green.address).to.equal(getCreateAddress({ from: deployer, nonce }));
    expect(record.green.deployTx).to.equal(sent);
    expect(await nonceOf("latest")).to.equal(nonce + 1);
    expect(await nonceOf("pending")).to.equal(nonce + 1);
    expect(await creationsSince(startBlock)).to.deep.equal([sent]);
    expect(await readdir(store.releaseDir(31337, "pending-resume"))).to.deep.equal(["release.json"]);
  });

  it("re-broadcasts a journaled deploy the node dropped, at the same nonce", async () => {
    const startBlock = (await box.provider.getBlockNumber()) + 1;
    const nonce = await nonceOf("latest");
    const sent = await crashAfterBroadcast("dropped");
    await box.provider.send("anvil_dropTransaction", [sent]);
    expect(await box.provider.send("eth_getTransactionByHash", [sent])).to.equal(null);

    const lines: string[] = [];
    const { record, greenDeployment } = await whileMining(stageRelease(params({ releaseId: "dropped", log: (line) => lines.push(line) })));
    expect(lines.join("\n")).to.include(`Re-broadcasting the journaled transaction ${sent} at nonce ${nonce} of ${deployer} (the node does not know it).`);
    expect(greenDeployment).to.equal("resumed");
    expect(record.green.deployTx).to.equal(sent); // the very same signed transaction
    expect(record.green.address).to.equal(getCreateAddress({ from: deployer, nonce }));
    expect(await creationsSince(startBlock)).to.deep.equal([sent]);
    expect(await nonceOf("latest")).to.equal(nonce + 1);
  });

  it("replaces a deploy pending too long at the same nonce with higher fees, and records the replacement", async () => {
    const startBlock = (await box.provider.getBlockNumber()) + 1;
    const nonce = await nonceOf("latest");
    let first = "";
    const { record, greenDeployment } = await stageRelease(
      params({
        releaseId: "replaced",
        sending: { pollMs: 50, speedUpAfterMs: 300 },
        afterBroadcast: (hash) => {
          first = hash;
        },
        log: (line) => {
          if (line.startsWith("Replacement ")) void mine();
        },
      }),
    );
    expect(greenDeployment).to.equal("deployed");
    expect(record.green.address).to.equal(getCreateAddress({ from: deployer, nonce }));
    expect(first).to.match(/^0x[0-9a-f]{64}$/);
    expect(record.green.deployTx).to.not.equal(first); // the replacement was mined...
    expect(await box.provider.send("eth_getTransactionByHash", [first])).to.equal(null); // ...and the first version is gone
    const created = await creationsSince(startBlock);
    expect(created).to.deep.equal([record.green.deployTx]);
    const mined = await box.provider.getTransaction(record.green.deployTx!);
    expect(mined!.nonce).to.equal(nonce);
    expect(await nonceOf("latest")).to.equal(nonce + 1);
    expect(keccak256(await box.provider.getCode(record.green.address))).to.equal(record.green.codehash);
  });

  it("recognises its deploy mined under another hash (replaced from a wallet at the same nonce) and records that one", async () => {
    const startBlock = (await box.provider.getBlockNumber()) + 1;
    const nonce = await nonceOf("latest");
    const sent = await crashAfterBroadcast("wallet-replaced");
    await box.provider.send("anvil_dropTransaction", [sent]);
    // The same deploy, sped up from a wallet: same nonce and data, other fees, so another hash.
    const build = await loadContractBuild(hre.artifacts, "BoxV2");
    const elsewhere = await box.owner.sendTransaction({ data: build.bytecode, nonce, maxFeePerGas: 50_000_000_000n, maxPriorityFeePerGas: 2_000_000_000n });
    expect(elsewhere.hash).to.not.equal(sent);
    await mine();
    const lines: string[] = [];
    const { record, greenDeployment } = await stageRelease(params({ releaseId: "wallet-replaced", log: (l) => lines.push(l) }));
    expect(lines.join("\n")).to.include(`Our transaction at nonce ${nonce} was mined under another hash (${elsewhere.hash}): a replacement made elsewhere.`);
    expect(greenDeployment).to.equal("resumed");
    expect(record.green.deployTx).to.equal(elsewhere.hash);
    expect(record.green.address).to.equal(getCreateAddress({ from: deployer, nonce }));
    expect(await creationsSince(startBlock)).to.deep.equal([elsewhere.hash]);
    expect(await nonceOf("latest")).to.equal(nonce + 1);
  });

  it("refuses, with a code, a journaled deploy whose nonce something else used, and never deploys at another nonce", async () => {
    const nonce = await nonceOf("latest");
    const sent = await crashAfterBroadcast("taken");
    await box.provider.send("anvil_dropTransaction", [sent]);
    // Another program takes the nonce with a plain transfer.
    await box.owner.sendTransaction({ to: deployer, value: 1n, nonce });
    await mine();
    let message = "";
    try {
      await stageRelease(params({ releaseId: "taken" }));
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).to.match(/^\[BG_STAGE_DEPLOY_NONCE_TAKEN\] The deploy of green \(BoxV2\) was journaled at nonce \d+ of 0x[0-9a-fA-F]{40}, but another transaction \(0x[0-9a-f]{64}\) used that nonce, so green was never deployed by it\./);
    expect(await nonceOf("pending")).to.equal(nonce + 1);
    expect(await readdir(store.releaseDir(31337, "taken"))).to.deep.equal([DEPLOY_JOURNAL]);
  });

  it("lists a journaled deploy that landed but is not the recorded green as an orphan", async () => {
    await box.provider.send("evm_setAutomine", [true]);
    const nonce = await nonceOf("latest");
    const build = await loadContractBuild(hre.artifacts, "BoxV2");
    // An older run journaled and sent a deploy; a record of this release then points elsewhere (e.g. an earlier bug).
    await store.writeReleaseFile(31337, "orphaned", DEPLOY_JOURNAL, {
      creationCodeHash: keccak256(build.bytecode),
      deployer,
      nonce,
      sentAt: new Date().toISOString(),
    });
    await (await box.owner.sendTransaction({ data: build.bytecode, nonce })).wait();
    const { record } = await stageRelease(params({ releaseId: "orphan-free" }));
    const orphans = await listOrphanedDeployments({ store, provider: provider(), chainId: 31337 });
    expect(orphans).to.deep.equal([
      {
        kind: "green",
        release: "orphaned",
        address: getCreateAddress({ from: deployer, nonce }),
        deployer,
        nonce,
        journal: path.join(store.releaseDir(31337, "orphaned"), DEPLOY_JOURNAL),
        reason: `a deploy journaled for release "orphaned" created this contract, but no release record points at it`,
      },
    ]);
    expect(orphans.map((o) => o.address)).to.not.include(record.green.address);
  });

  it("two runs from one deployer take turns: one deploys, the other finds it; no second deploy, no journal lost", async () => {
    await box.provider.send("evm_setAutomine", [true]);
    const startBlock = (await box.provider.getBlockNumber()) + 1;
    const nonce = await nonceOf("latest");
    const waits: string[] = [];
    const [a, b] = await Promise.all([
      stageRelease(params({ releaseId: "race" })),
      stageRelease(params({ releaseId: "race", log: (l) => l.startsWith("Another run") && waits.push(l) })),
    ]);
    expect([a.unchanged, b.unchanged].sort()).to.deep.equal([false, true]);
    expect(a.record.green.address).to.equal(b.record.green.address);
    expect(a.record.green.address).to.equal(getCreateAddress({ from: deployer, nonce }));
    expect(await creationsSince(startBlock)).to.have.length(1);
    expect(await nonceOf("latest")).to.equal(nonce + 1);
    expect(await readdir(store.releaseDir(31337, "race"))).to.deep.equal(["release.json"]);

    // Two releases of the same green from one deployer: the second reuses the first's deployment.
    const [c, d] = await Promise.all([stageRelease(params({ releaseId: "race-c" })), stageRelease(params({ releaseId: "race-d" }))]);
    expect(c.record.green.address).to.equal(d.record.green.address);
    expect(await nonceOf("latest")).to.equal(nonce + 1);
  });
});
