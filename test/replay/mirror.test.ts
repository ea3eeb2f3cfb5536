/**
 * bg:mirror: traffic sent through the tee reaches the node unchanged, the
 * proxy's part of it is captured, and the capture replays.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { Contract, JsonRpcProvider, parseEther, Wallet } from "ethers";
import hre from "hardhat";

import { parseCaptureFile } from "../../src/replay/capture-file.js";
import { resolveReplayConfig } from "../../src/replay/config.js";
import { startMirror, type Mirror } from "../../src/replay/mirror.js";
import { edrForkOpener } from "../../src/replay/open-edr-fork.js";
import { replayRelease } from "../../src/replay/replay-release.js";
import { RpcCache } from "../../src/replay/rpc-cache.js";
import { SourceRpc } from "../../src/replay/source-rpc.js";
import { renderMirrorStopped } from "../../src/ui/replay-terminal.js";
import { buildReplayWorld, deployGreen, LARGE, ROUTER_ABI, TOKEN_ABI, type ReplayWorld } from "./helpers/replay-world.js";

// Private keys of the dev accounts 1-3 (the well-known test mnemonic), which the world funds.
const KEYS = [
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
];

describe("bg:mirror", function () {
  let world: ReplayWorld;
  let dir: string;
  let mirror: Mirror | undefined;

  before(async () => {
    world = await buildReplayWorld("anvil", 3);
    dir = await mkdtemp(path.join(tmpdir(), "bg-mirror-"));
  });
  after(async () => {
    await mirror?.stop();
    await world?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("forwards traffic unchanged, captures the proxy's transactions and calls, and the capture replays", async () => {
    const out = path.join(dir, "capture.jsonl");
    mirror = await startMirror({ upstream: world.node.url, proxy: world.token, out, headPollMs: 50 });
    const viaMirror = new JsonRpcProvider(mirror.url, undefined, { staticNetwork: true, batchMaxCount: 1 });
    const direct = new JsonRpcProvider(world.node.url, undefined, { staticNetwork: true, batchMaxCount: 1 });
    const [alice, bob, carol] = KEYS.map((k) => new Wallet(k, viaMirror));

    const token = new Contract(world.token, TOKEN_ABI, viaMirror);
    const sent: string[] = [];
    // Explicit nonces: ethers briefly caches eth_getTransactionCount answers.
    const nonce = async (w: Wallet) => Number(BigInt(await world.rpc.send<string>("eth_getTransactionCount", [w.address, "latest"])));
    const send = async (from: Wallet, to: string, data: string) => {
      const tx = await from.sendTransaction({ to, data, nonce: await nonce(from), gasLimit: 300_000n });
      await tx.wait();
      sent.push(tx.hash.toLowerCase());
    };
    await send(alice!, world.token, TOKEN_ABI.encodeFunctionData("transfer", [bob!.address, LARGE * 2n]));
    await send(bob!, world.token, TOKEN_ABI.encodeFunctionData("transfer", [carol!.address, parseEther("5")]));
    await send(carol!, world.router, ROUTER_ABI.encodeFunctionData("transferVia", [world.token, alice!.address, LARGE + parseEther("1")]));
    // Not the proxy's traffic: a plain payment.
    const payment = await alice!.sendTransaction({ to: bob!.address, value: 1n, nonce: await nonce(alice!) });
    await payment.wait();

    const balance = await token.getFunction("balanceOf")(alice!.address);
    expect(balance).to.equal(await new Contract(world.token, TOKEN_ABI, direct).getFunction("balanceOf")(alice!.address));
    // A batch with one call to capture and one request not to.
    const batch = await fetch(mirror.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify([
        { jsonrpc: "2.0", id: 7, method: "eth_call", params: [{ to: world.token, data: TOKEN_ABI.encodeFunctionData("balanceOf", [bob!.address]) }, "latest"] },
        { jsonrpc: "2.0", id: 8, method: "eth_chainId", params: [] },
        // Signed by the node (here refused: no such account): nothing crosses the mirror that could be captured, so it is counted.
        { jsonrpc: "2.0", id: 9, method: "eth_sendTransaction", params: [{ from: "0x000000000000000000000000000000000000dead", to: world.token, data: "0x" }] },
      ]),
    }).then((r) => r.json() as Promise<Array<{ id: number; result: string }>>);
    expect(batch.map((r) => r.id)).to.deep.equal([7, 8, 9]);
    expect(batch[1]!.result).to.equal("0x7a69");

    // Byte for byte: the same request answered the same way through the tee and directly.
    const request = JSON.stringify({ jsonrpc: "2.0", id: 42, method: "eth_getBlockByNumber", params: ["0x1", true] });
    const post = (url: string) => fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: request }).then((r) => r.text());
    expect(await post(mirror.url)).to.equal(await post(world.node.url));

    await mirror.stop();
    expect(mirror.stats.requests).to.be.greaterThan(8);
    expect(mirror.stats.unsigned).to.equal(1);
    expect(renderMirrorStopped({ ...mirror.stats, out: "capture.jsonl" })).to.contain("1 eth_sendTransaction request(s) to the proxy were forwarded but not captured");
    mirror = undefined;

    const lines = parseCaptureFile(await readFile(out, "utf8"), "capture.jsonl");
    expect(lines.map((l) => l.kind)).to.deep.equal(["tx", "tx", "tx", "call", "call"]);
    const txLines = lines.filter((l) => l.kind === "tx");
    const { txRequestFromRaw } = await import("../../src/replay/chain-data.js");
    expect(txLines.map((l) => (l.kind === "tx" ? txRequestFromRaw(l.raw).hash : ""))).to.deep.equal(sent);
    for (const l of lines) expect(l.blockNumber).to.be.a("number");

    // Green is staged after the traffic; the capture replays against it.
    const green = await deployGreen(world, "ReplayTokenFeeChange");
    const config = resolveReplayConfig(undefined, { projectRoot: dir, cachePath: dir });
    const report = await replayRelease({
      release: {
        id: "mirror",
        chainId: world.chainId,
        proxy: world.token,
        blue: { address: world.tokenImpl, codehash: world.tokenImplCodehash },
        green,
      },
      source: new SourceRpc({ url: world.node.url, cache: await RpcCache.open(config.cacheDir, world.node.url) }),
      openFork: edrForkOpener(hre.network, { edrForkCache: path.join(hre.config.paths.cache, "edr-fork-cache") }),
      traffic: { kind: "capture", file: "capture.jsonl", lines },
      mode: "fast",
      cascade: false,
      config,
    });
    expect(report.traffic).to.deep.equal({ source: "capture", file: "capture.jsonl", lines: 5 });
    expect(report.txs).to.equal(5);
    // The two large transfers pay the changed fee; the small one and the calls do not change.
    expect(report.divergences.map((d) => d.txHash).sort()).to.deep.equal([sent[0], sent[2]].sort());
    expect(report.fidelity).to.deep.include({ matched: 3, total: 3 });
  });

  it("refuses an upstream that does not answer, saying which option to fix", async () => {
    const error = await startMirror({ upstream: "http://127.0.0.1:9", proxy: world.token, out: path.join(dir, "x.jsonl") }).catch((e: Error) => e);
    expect((error as Error).message).to.match(/does not answer eth_blockNumber.*Check --upstream/);
  });

  it("refuses bad flags with the option to fix, before forwarding anything: a port out of range, an upstream that is not a URL, an unwritable --out", async () => {
    const base = { upstream: world.node.url, proxy: world.token, out: path.join(dir, "y.jsonl") };
    const message = async (options: Parameters<typeof startMirror>[0]) => ((await startMirror(options).catch((e: Error) => e)) as Error);
    const port = await message({ ...base, port: 99999 });
    expect(port.constructor.name).to.equal("BlueGreenError");
    expect(port.message).to.equal("[BG_REPLAY_MIRROR_OPTION] --port 99999 is not a TCP port. Pass a whole number from 1 to 65535 (or 0 for any free port).");
    expect((await message({ ...base, upstream: "notaurl" })).message).to.equal(
      '[BG_REPLAY_MIRROR_OPTION] --upstream "notaurl" is not a URL. Pass the http(s) URL of the node to forward to, e.g. --upstream http://127.0.0.1:8545.',
    );
    expect((await message({ ...base, out: path.join(dir, "no-such-folder", "c.jsonl") })).message).to.match(
      /^\[BG_REPLAY_CAPTURE_WRITE\] Cannot write the capture file .*no-such-folder.*c\.jsonl \(ENOENT\)\. Check that its folder exists and is writable, or pass another --out\.$/,
    );
  });
});
