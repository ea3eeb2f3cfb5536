/**
 * The release flow as a developer types it: `bg:stage` a green with a
 * changed fee, then `bg:replay` the mainnet traffic against it, both through
 * the real CLI with --json.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";

import { onlyJson, runHardhat } from "../helpers/cli.js";
import { buildBlockWorld, type BlockWorld } from "./helpers/block-world.js";
import { buildReplayWorld, generateTraffic, settle, type ReplayWorld } from "./helpers/replay-world.js";

describe("bg:stage then bg:replay on the command line", function () {
  let world: ReplayWorld;
  let records: string;

  before(async () => {
    world = await buildReplayWorld("anvil", 4);
    records = await mkdtemp(path.join(tmpdir(), "bg-replay-cli-"));
  });
  after(async () => {
    await world?.stop();
    if (records !== undefined) await rm(records, { recursive: true, force: true });
  });

  it("stages the changed-fee green and reports root divergences on exactly the large transfers", async () => {
    const traffic = await generateTraffic(world, { count: 12, perBlock: 3, seed: 11, kinds: ["transfer", "transferVia", "approve"] });
    await settle(world, 5);
    const env = { BLUEGREEN_RPC_URL: world.node.url, BLUEGREEN_RECORDS_DIR: records };
    const staged = await runHardhat(
      ["bg:stage", "--network", "localMainnet", "--proxy", world.token, "--contract", "ReplayTokenFeeChange", "--reference", "ReplayToken", "--release", "fee-v2", "--json"],
      env,
    );
    expect(staged.code).to.equal(0, staged.stdout + staged.stderr);
    expect(onlyJson(staged)).to.include({ ok: true, release: "fee-v2" });

    const replayed = await runHardhat(
      ["bg:replay", "--network", "localMainnet", "--release", "fee-v2", "--from-block", String(traffic.fromBlock), "--to-block", String(traffic.toBlock), "--json"],
      env,
    );
    expect(replayed.code).to.equal(1, "exit 1: divergent");
    const doc = onlyJson(replayed);
    const large = traffic.txs.filter((t) => t.large && t.status === "success").map((t) => t.hash).sort();
    expect(large.length).to.be.greaterThan(0);
    expect(doc).to.deep.include({ ok: false, release: "fee-v2", txs: 12, mode: "faithful", fromBlock: traffic.fromBlock, toBlock: traffic.toBlock });
    expect(doc.verdict).to.equal("divergent");
    expect(doc.fidelity.receipts).to.deep.equal({ matched: 12, total: 12 });
    expect(doc.fidelity.matched).to.equal(doc.fidelity.total);
    expect(doc.divergences.map((d: { txHash: string }) => d.txHash).sort()).to.deep.equal(large);

    const status = onlyJson(await runHardhat(["bg:status", "--network", "localMainnet", "--release", "fee-v2", "--json"], env));
    expect(status.releases[0].state).to.equal("replayed");
  });
});

describe("bg:replay's verdict and exit code on the command line, on a block-dependent vault", function () {
  let world: BlockWorld;
  let records: string;

  before(async () => {
    world = await buildBlockWorld("hardhat");
    records = await mkdtemp(path.join(tmpdir(), "bg-replay-verdict-"));
  });
  after(async () => {
    await world?.stop();
    if (records !== undefined) await rm(records, { recursive: true, force: true });
  });

  it("exits 0 with verdict clean for a green that behaves like blue on the traffic, and 2 with verdict inconclusive where blue cannot reproduce the chain", async () => {
    // The green differs only in the custom error of an overdraw, and this traffic has none.
    const plain = await world.traffic({ blocks: 5, seed: 21, without: ["overdraw"] });
    const drawn = await world.traffic({ blocks: 4, seed: 22, draw: true, without: ["overdraw"] });
    const env = { BLUEGREEN_RPC_URL: world.url, BLUEGREEN_RECORDS_DIR: records };
    const staged = await runHardhat(
      ["bg:stage", "--network", "localMainnet", "--proxy", world.vault.proxy, "--contract", "AccrualVaultNewError", "--reference", "AccrualVault", "--release", "vault-same", "--json"],
      env,
    );
    expect(staged.code).to.equal(0, staged.stdout + staged.stderr);

    const replay = (range: { fromBlock: number; toBlock: number }) =>
      runHardhat(["bg:replay", "--network", "localMainnet", "--release", "vault-same", "--from-block", String(range.fromBlock), "--to-block", String(range.toBlock), "--json"], env);
    const clean = await replay(plain);
    expect(clean.code).to.equal(0, clean.stdout + clean.stderr);
    expect(onlyJson(clean)).to.deep.include({ ok: true, verdict: "clean", blocks: 5, divergences: [] });

    const inconclusive = await replay(drawn);
    expect(inconclusive.code).to.equal(2, inconclusive.stdout + inconclusive.stderr);
    const doc = onlyJson(inconclusive);
    expect(doc).to.deep.include({ ok: false, verdict: "inconclusive", divergences: [] });
    expect(doc.verdictReason).to.match(/^inconclusive: blue did not reproduce the chain/);
    expect(doc.fidelity.receipts.matched).to.be.lessThan(doc.fidelity.receipts.total);
  });
});
