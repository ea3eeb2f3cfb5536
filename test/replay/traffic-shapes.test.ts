/**
 * Transaction shapes users' traffic has beyond EIP-1559 calls: legacy
 * (type 0) and access-list (type 1) transactions, a transaction that runs
 * out of gas, ETH sent to a contract that refuses it, and a contract
 * creation in the middle of a block. An exact replay must reproduce each
 * of them (100% fidelity) and find nothing for a green identical to blue.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { parseEther } from "ethers";
import hre from "hardhat";

import { resolveReplayConfig } from "../../src/replay/config.js";
import { edrForkOpener } from "../../src/replay/open-edr-fork.js";
import { replayRelease } from "../../src/replay/replay-release.js";
import { RpcCache } from "../../src/replay/rpc-cache.js";
import { SourceRpc } from "../../src/replay/source-rpc.js";
import { artifact, buildReplayWorld, deployGreen, settle, TOKEN_ABI, type ReplayWorld } from "./helpers/replay-world.js";

describe("exact replay of legacy, access-list, out-of-gas, refused-value and creation transactions", function () {
  let world: ReplayWorld;
  let cacheRoot: string;

  before(async () => {
    world = await buildReplayWorld("hardhat", 4);
    cacheRoot = await mkdtemp(path.join(tmpdir(), "bg-shapes-"));
  });
  after(async () => {
    await world?.stop();
    if (cacheRoot !== undefined) await rm(cacheRoot, { recursive: true, force: true });
  });

  it("reproduces every receipt and finds nothing for an identical green", async () => {
    const { rpc } = world;
    const [a, b, c, d] = world.users as [string, string, string, string];
    const transfer = (to: string, n: string) => TOKEN_ABI.encodeFunctionData("transfer", [to, parseEther(n)]);
    const fromBlock = Number(BigInt(await rpc.send<string>("eth_blockNumber"))) + 1;
    await rpc.send("evm_setAutomine", [false]);
    try {
      const sent = await rpc.batch([
        { method: "eth_sendTransaction", params: [{ from: a, to: world.token, data: transfer(b, "5"), gas: "0x30000", gasPrice: "0x3b9aca000", type: "0x0" }] },
        {
          method: "eth_sendTransaction",
          params: [{ from: b, to: world.token, data: transfer(c, "1500"), gas: "0x30000", gasPrice: "0x3b9aca000", type: "0x1", accessList: [{ address: world.token, storageKeys: [] }] }],
        },
        // Enough gas to start, not to finish: a revert that uses up all of it.
        { method: "eth_sendTransaction", params: [{ from: c, to: world.token, data: transfer(d, "2"), gas: "0x6000", maxFeePerGas: "0x2540be400", maxPriorityFeePerGas: "0x1" }] },
        // ETH to a token that has no receive(): reverts.
        { method: "eth_sendTransaction", params: [{ from: d, to: world.token, value: "0x1", gas: "0x30000", maxFeePerGas: "0x2540be400", maxPriorityFeePerGas: "0x1" }] },
        // A contract creation between two of the proxy's transactions.
        { method: "eth_sendTransaction", params: [{ from: a, data: (await artifact("ReplayRouter")).bytecode, gas: "0x200000", maxFeePerGas: "0x2540be400", maxPriorityFeePerGas: "0x1" }] },
        { method: "eth_sendTransaction", params: [{ from: a, to: world.token, data: transfer(d, "3"), gas: "0x30000", maxFeePerGas: "0x2540be400", maxPriorityFeePerGas: "0x2" }] },
      ]);
      for (const r of sent) if (r instanceof Error) throw r;
      await rpc.send("hardhat_mine", ["0x1"]);
    } finally {
      await rpc.send("evm_setAutomine", [true]);
    }
    const toBlock = fromBlock;
    const block = await rpc.send<any>("eth_getBlockByNumber", ["0x" + fromBlock.toString(16), false]);
    expect(block.transactions.length).to.equal(6);
    const green = await deployGreen(world, "ReplayToken");
    await settle(world, 5);

    const config = resolveReplayConfig(undefined, { projectRoot: cacheRoot, cachePath: cacheRoot });
    const report = await replayRelease({
      release: { id: "shapes", chainId: world.chainId, proxy: world.token, blue: { address: world.tokenImpl, codehash: world.tokenImplCodehash }, green },
      source: new SourceRpc({ url: world.node.url, cache: await RpcCache.open(config.cacheDir, world.node.url) }),
      openFork: edrForkOpener(hre.network, { edrForkCache: path.join(hre.config.paths.cache, "edr-fork-cache") }),
      traffic: { kind: "range", fromBlock, toBlock },
      mode: "faithful",
      cascade: false,
      config,
    });
    expect(report.fidelity.mismatches).to.deep.equal([]);
    expect(report.fidelity.receipts).to.deep.equal({ matched: 6, total: 6 });
    expect(report.txs).to.equal(5);
    expect(report.skipped).to.deep.equal([]);
    expect(report.divergences).to.deep.equal([]);
    expect(report.verdict).to.equal("clean");
  });
});
