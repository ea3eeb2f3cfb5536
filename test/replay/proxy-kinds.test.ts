/**
 * bg:replay by proxy kind. A beacon release: an OpenZeppelin UpgradeableBeacon with
 * several BeaconProxy contracts on a separate node (hardhat node, and anvil),
 * traffic to each of them (some blocks mix proxies, one proxy is also
 * reached through a router), and greens switched in through the beacon.
 * A UUPS release: green switched in by the proxy's owner.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import hre from "hardhat";
import { Interface, keccak256 } from "ethers";

import { BlueGreenError } from "../../src/errors.js";
import { resolveReplayConfig, type ReplayUserConfig } from "../../src/replay/config.js";
import { toBlockContext } from "../../src/replay/chain-data.js";
import { AbiDecoder } from "../../src/replay/decode.js";
import { ForkControl } from "../../src/replay/fork-control.js";
import { edrForkOpener } from "../../src/replay/open-edr-fork.js";
import { replayRelease, type ReleaseUnderTest } from "../../src/replay/replay-release.js";
import type { ReplayReport } from "../../src/replay/report.js";
import { RpcCache } from "../../src/replay/rpc-cache.js";
import { SourceRpc } from "../../src/replay/source-rpc.js";
import { renderMarkdownReport } from "../../src/ui/replay-report.js";
import { renderReplaySummary } from "../../src/ui/replay-terminal.js";
import type { NodeKind } from "../helpers/nodes.js";
import { startNode, type RunningNode } from "../helpers/nodes.js";
import { Rpc, sendAndWait } from "./helpers/replay-world.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const FLEET = "contracts/test/BeaconFleet.sol";
const BEACON = "contracts/examples/beacon/BeaconBox.sol";
const BOX = new Interface(["function initialize(address)", "function store(uint256)", "function value() view returns (uint256)"]);
const ROUTER = new Interface(["function storeVia(address box, uint256 newValue)"]);
const CAP = 1000n;
const VERSION = new Interface(["function version() view returns (string)"]);

async function artifact(source: string, name: string): Promise<{ abi: any[]; bytecode: string }> {
  return JSON.parse(await readFile(path.join(ROOT, "artifacts", source, `${name}.json`), "utf8"));
}

async function deploy(rpc: Rpc, from: string, source: string, name: string, ctor: { types: string[]; values: unknown[] } = { types: [], values: [] }): Promise<string> {
  const a = await artifact(source, name);
  const args = new Interface([`constructor(${ctor.types.join(",")})`]).encodeDeploy(ctor.values);
  const r = await sendAndWait(rpc, { from, data: a.bytecode + args.slice(2), gas: "0x989680" });
  if (r.status !== "0x1") throw new Error(`deploying ${name} failed`);
  return r.contractAddress.toLowerCase();
}

interface Sent {
  hash: string;
  /** The proxy the transaction reaches. */
  proxy: string;
  value: bigint;
}

interface FleetWorld {
  node: RunningNode;
  rpc: Rpc;
  chainId: number;
  beacon: string;
  blue: { address: string; codehash: string };
  proxies: string[];
  /** A contract that is not a proxy of the beacon. */
  router: string;
  traffic: Sent[];
  fromBlock: number;
  toBlock: number;
  greens: Record<"identical" | "capped", { address: string; codehash: string }>;
  cacheRoot: string;
}

async function codehash(rpc: Rpc, address: string): Promise<string> {
  return keccak256(await rpc.send<string>("eth_getCode", [address, "latest"]));
}

/**
 * Three proxies of one beacon. Every proxy gets small stores; only the
 * second gets stores above the capped green's cap; the third is also
 * reached through the router (internal traffic). Four transactions a block,
 * so blocks mix proxies.
 */
async function buildFleetWorld(kind: NodeKind): Promise<FleetWorld> {
  const node = await startNode(kind);
  const rpc = new Rpc(node.url);
  const [owner, ...users] = (await rpc.send<string[]>("eth_accounts")).map((a) => a.toLowerCase());
  const blueAddress = await deploy(rpc, owner!, FLEET, "FleetBoxV1");
  const beacon = await deploy(rpc, owner!, BEACON, "BoxBeacon", { types: ["address", "address"], values: [blueAddress, owner] });
  const proxies: string[] = [];
  for (let i = 0; i < 3; i++) {
    proxies.push(await deploy(rpc, owner!, BEACON, "BoxBeaconProxy", { types: ["address", "bytes"], values: [beacon, BOX.encodeFunctionData("initialize", [owner])] }));
  }
  const router = await deploy(rpc, owner!, FLEET, "FleetRouter");
  const planned: Array<{ tx: Record<string, unknown>; proxy: string; value: bigint }> = [];
  for (let i = 0; i < 18; i++) {
    const proxy = proxies[i % 3]!;
    const large = proxy === proxies[1] && i % 2 === 1;
    const value = large ? CAP + BigInt(1 + i) : BigInt(10 + i);
    const viaRouter = proxy === proxies[2] && i % 2 === 0;
    planned.push({
      tx: viaRouter
        ? { to: router, data: ROUTER.encodeFunctionData("storeVia", [proxy, value]) }
        : { to: proxy, data: BOX.encodeFunctionData("store", [value]) },
      proxy,
      value,
    });
  }
  const fromBlock = Number(BigInt(await rpc.send<string>("eth_blockNumber"))) + 1;
  const nonces = new Map<string, number>();
  for (const u of users.slice(0, 4)) nonces.set(u, Number(BigInt(await rpc.send<string>("eth_getTransactionCount", [u, "latest"]))));
  await rpc.send("evm_setAutomine", [false]);
  const traffic: Sent[] = [];
  try {
    for (let i = 0; i < planned.length; i += 4) {
      const chunk = planned.slice(i, i + 4);
      const hashes = await Promise.all(
        chunk.map((p, j) => {
          const from = users[j]!;
          const nonce = nonces.get(from)!;
          nonces.set(from, nonce + 1);
          return rpc.send<string>("eth_sendTransaction", [{ from, gas: "0x30d40", maxFeePerGas: "0x2540be400", maxPriorityFeePerGas: "0x3b9aca00", nonce: "0x" + nonce.toString(16), ...p.tx }]);
        }),
      );
      chunk.forEach((p, j) => traffic.push({ hash: hashes[j]!.toLowerCase(), proxy: p.proxy, value: p.value }));
      await rpc.send(kind === "anvil" ? "anvil_mine" : "hardhat_mine", ["0x1"]);
    }
  } finally {
    await rpc.send("evm_setAutomine", [true]);
  }
  const toBlock = Number(BigInt(await rpc.send<string>("eth_blockNumber")));
  for (const t of traffic) {
    const r = await rpc.send("eth_getTransactionReceipt", [t.hash]);
    if (r?.status !== "0x1") throw new Error(`traffic ${t.hash} failed`);
  }
  const identical = await deploy(rpc, owner!, FLEET, "FleetBoxV2");
  const capped = await deploy(rpc, owner!, FLEET, "FleetBoxV2Capped");
  // Deep enough for EDR to cache what it fetches (it caches only blocks safe from reorgs).
  await rpc.send(kind === "anvil" ? "anvil_mine" : "hardhat_mine", ["0xc8"]);
  return {
    node,
    rpc,
    chainId: Number(BigInt(await rpc.send<string>("eth_chainId"))),
    beacon,
    blue: { address: blueAddress, codehash: await codehash(rpc, blueAddress) },
    proxies,
    router,
    traffic,
    fromBlock,
    toBlock,
    greens: {
      identical: { address: identical, codehash: await codehash(rpc, identical) },
      capped: { address: capped, codehash: await codehash(rpc, capped) },
    },
    cacheRoot: await mkdtemp(path.join(tmpdir(), "bg-beacon-replay-")),
  };
}

function release(w: FleetWorld, green: keyof FleetWorld["greens"]): ReleaseUnderTest {
  return { id: `fleet-${green}`, chainId: w.chainId, proxy: w.beacon, kind: "beacon", beacon: { address: w.beacon, proxies: [] }, blue: w.blue, green: w.greens[green] };
}

async function replay(
  w: FleetWorld,
  green: keyof FleetWorld["greens"],
  options: { proxies?: string[]; config?: ReplayUserConfig; cascade?: boolean; sourceUrl?: string } = {},
): Promise<ReplayReport> {
  const config = resolveReplayConfig(options.config, { projectRoot: w.cacheRoot, cachePath: w.cacheRoot });
  const url = options.sourceUrl ?? w.node.url;
  const source = new SourceRpc({ url, cache: await RpcCache.open(config.cacheDir, url), retries: 2, baseDelayMs: 20 });
  return replayRelease({
    release: release(w, green),
    source,
    openFork: edrForkOpener(hre.network, { edrForkCache: path.join(hre.config.paths.cache, "edr-fork-cache") }),
    traffic: { kind: "range", fromBlock: w.fromBlock, toBlock: w.toBlock },
    mode: "faithful",
    cascade: options.cascade ?? false,
    config,
    ...(options.proxies !== undefined ? { proxies: options.proxies } : {}),
    decoder: new AbiDecoder([(await artifact(FLEET, "FleetBoxV2Capped")).abi, (await artifact(FLEET, "FleetRouter")).abi]),
  });
}

function countBy(traffic: Sent[], proxy: string): number {
  return traffic.filter((t) => t.proxy === proxy).length;
}

for (const kind of ["hardhat", "anvil"] as NodeKind[]) {
  describe(`bg:replay of a beacon release (${kind} "mainnet", three BeaconProxy contracts)`, function () {
    let w: FleetWorld;

    before(async () => {
      w = await buildFleetWorld(kind);
    });
    after(async () => {
      await w?.node.stop();
      if (w !== undefined) await rm(w.cacheRoot, { recursive: true, force: true });
    });

    it("finds every proxy of the beacon from BeaconUpgraded events and replays the traffic of all of them, with counts per proxy", async () => {
      const report = await replay(w, "identical");
      expect(report.kind).to.equal("beacon");
      expect(report.proxy).to.equal(w.beacon);
      expect(report.fleet?.proxiesFrom).to.equal("events");
      expect(report.fleet?.proxies.map((p) => p.address)).to.deep.equal([...w.proxies].sort());
      for (const row of report.fleet!.proxies) {
        expect(row.found, `found for ${row.address}`).to.equal(countBy(w.traffic, row.address));
        expect(row.compared, `compared for ${row.address}`).to.equal(countBy(w.traffic, row.address));
        expect(row.divergences).to.equal(0);
      }
      expect(report.txs).to.equal(w.traffic.length);
      expect(report.verdict).to.equal("clean");
      expect(report.skipped).to.deep.equal([]);
      // Green went in the way the switch will put it: the beacon's owner calling upgradeTo, not a storage write.
      expect(report.adjustments).to.deep.equal([]);
      // Blue reproduced each proxy's storage, block by block, not only one proxy's.
      expect(report.fidelity.matched).to.equal(report.fidelity.total);
      expect(report.fidelity.state.total).to.be.at.least(w.proxies.length);
      const markdown = renderMarkdownReport(report, "replay-report.json");
      expect(markdown).to.contain(`| beacon | \`${w.beacon}\``);
      for (const p of w.proxies) expect(markdown).to.contain(`| \`${p}\` | ${countBy(w.traffic, p)} | ${countBy(w.traffic, p)} | 0 |`);
    });

    it("catches a green that diverges only on one proxy's traffic, and files the divergences under that proxy", async () => {
      // The cap's check costs a little gas on every store: that is not what this test looks for.
      const report = await replay(w, "capped", { config: { gasTolerance: 5 } });
      const large = w.traffic.filter((t) => t.value > CAP);
      expect(large.length).to.be.greaterThan(0);
      expect(new Set(large.map((t) => t.proxy))).to.deep.equal(new Set([w.proxies[1]]));
      expect(report.verdict).to.equal("divergent");
      expect(report.divergences.map((d) => d.txHash).sort()).to.deep.equal(large.map((t) => t.hash).sort());
      for (const d of report.divergences) {
        expect(d.kind).to.equal("revert");
        expect(d.green.revert).to.match(/^ValueAboveCap\(/);
        // Blue's write and green's missing one are named with the proxy they happened in.
        const storage = d.differences.find((x) => x.kind === "storage");
        expect(Object.keys(storage!.blue as object).every((k) => k.startsWith(`${w.proxies[1]}:`))).to.equal(true);
      }
      const rows = Object.fromEntries(report.fleet!.proxies.map((p) => [p.address, p.divergences]));
      expect(rows).to.deep.equal({ [w.proxies[0]!]: 0, [w.proxies[1]!]: large.length, [w.proxies[2]!]: 0 });
      expect(report.fidelity.matched).to.equal(report.fidelity.total);
    });

    if (kind === "hardhat") {
      it("replays only the proxies given as a list (--proxies), and refuses an address that is not one of the beacon's", async () => {
        const listed = [w.proxies[0]!, w.proxies[2]!];
        const report = await replay(w, "capped", { proxies: listed, config: { gasTolerance: 5 } });
        expect(report.fleet?.proxiesFrom).to.equal("list");
        expect(report.fleet?.proxies.map((p) => p.address)).to.deep.equal([...listed].sort());
        expect(report.txs).to.equal(countBy(w.traffic, listed[0]!) + countBy(w.traffic, listed[1]!));
        // The capped green only diverges on the proxy that was left out.
        expect(report.verdict).to.equal("clean");

        const fromConfig = await replay(w, "identical", { config: { beacons: { [w.beacon]: { proxies: [w.proxies[1]!] } } } });
        expect(fromConfig.fleet?.proxies.map((p) => p.address)).to.deep.equal([w.proxies[1]]);
        expect(fromConfig.txs).to.equal(countBy(w.traffic, w.proxies[1]!));

        let refused: unknown;
        try {
          await replay(w, "identical", { proxies: [w.proxies[0]!, w.router] });
        } catch (e) {
          refused = e;
        }
        expect(BlueGreenError.is(refused, "BG_REPLAY_PROXY_NOT_OF_BEACON")).to.equal(true);
        expect((refused as Error).message).to.contain("beacon slot empty");
      });

      it("finds the beacon's proxies through a source that refuses wide eth_getLogs ranges", async () => {
        let refused = 0;
        // A node with a block-range limit on eth_getLogs, as many providers have: it answers a JSON-RPC error beyond 3 blocks.
        const limiter = createServer((req, res) => {
          const chunks: Buffer[] = [];
          req.on("data", (c: Buffer) => chunks.push(c));
          req.on("end", async () => {
            const body = Buffer.concat(chunks).toString();
            const requests = ([] as Array<{ id: number; method: string; params: any[] }>).concat(JSON.parse(body));
            const wide = requests.find((r) => r.method === "eth_getLogs" && Number(r.params[0].toBlock) - Number(r.params[0].fromBlock) + 1 > 3);
            if (wide !== undefined && !Array.isArray(JSON.parse(body))) {
              refused++;
              res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id: wide.id, error: { code: -32614, message: "eth_getLogs is limited to a 3 block range" } }));
              return;
            }
            const up = await fetch(w.node.url, { method: "POST", headers: { "content-type": "application/json" }, body });
            res.writeHead(up.status, { "content-type": "application/json" }).end(await up.text());
          });
        });
        await new Promise<void>((resolve) => limiter.listen(0, "127.0.0.1", () => resolve()));
        try {
          const url = `http://127.0.0.1:${(limiter.address() as AddressInfo).port}`;
          const report = await replay(w, "identical", { sourceUrl: url, config: { cacheDir: "limited" } });
          expect(refused).to.be.greaterThan(0);
          expect(report.fleet?.proxies.map((p) => p.address)).to.deep.equal([...w.proxies].sort());
          expect(report.txs).to.equal(w.traffic.length);
          expect(report.verdict).to.equal("clean");
        } finally {
          await new Promise<void>((resolve) => limiter.close(() => resolve()));
        }
      });

      it("puts green in for good through the beacon (the cascade world), so every proxy of it runs green", async () => {
        const handle = await edrForkOpener(hre.network, { edrForkCache: path.join(hre.config.paths.cache, "edr-fork-cache") })({ url: w.node.url, blockNumber: w.toBlock, chainId: w.chainId });
        try {
          const fork = new ForkControl(handle.provider, { kind: "beacon", target: w.beacon, proxies: w.proxies });
          await fork.init();
          // Calls run on a block of the fork's own (EDR cannot execute on the historical fork block itself).
          await handle.provider.request({ method: "evm_mine", params: [] });
          const version = async (proxy: string) =>
            VERSION.decodeFunctionResult("version", (await handle.provider.request({ method: "eth_call", params: [{ to: proxy, data: VERSION.encodeFunctionData("version") }, "latest"] })) as string)[0];
          for (const p of w.proxies) expect(await version(p)).to.equal("1");
          // Green was deployed after the range: the replay puts its code on the fork, as here.
          await fork.setCode(w.greens.identical.address, await w.rpc.send<string>("eth_getCode", [w.greens.identical.address, "latest"]));
          await fork.installGreen(w.greens.identical.address);
          for (const p of w.proxies) expect(await version(p)).to.equal("2");
        } finally {
          await handle.close();
        }
        const report = await replay(w, "capped", { cascade: true, config: { gasTolerance: 5 } });
        expect(report.cascade).to.equal(true);
        expect(report.divergences.length).to.equal(w.traffic.filter((t) => t.value > CAP).length);
      });
    }
  });
}

describe('bg:replay of a UUPS release (hardhat "mainnet")', function () {
  const UUPS = "contracts/examples/uups/UupsOwnableBox.sol";
  const PROXY = "contracts/examples/uups/UupsBoxProxy.sol";
  let node: RunningNode;
  let rpc: Rpc;
  let cacheRoot: string;
  let release: ReleaseUnderTest;
  let range: { fromBlock: number; toBlock: number };
  let sent: string[];

  before(async () => {
    node = await startNode("hardhat");
    rpc = new Rpc(node.url);
    cacheRoot = await mkdtemp(path.join(tmpdir(), "bg-uups-replay-"));
    const [owner, ...users] = (await rpc.send<string[]>("eth_accounts")).map((a) => a.toLowerCase());
    const blue = await deploy(rpc, owner!, UUPS, "UupsOwnableBoxV1");
    const proxy = await deploy(rpc, owner!, PROXY, "UupsBoxProxy", { types: ["address", "bytes"], values: [blue, BOX.encodeFunctionData("initialize", [owner])] });
    const fromBlock = Number(BigInt(await rpc.send<string>("eth_blockNumber"))) + 1;
    sent = [];
    for (let i = 0; i < 6; i++) sent.push((await sendAndWait(rpc, { from: users[i % 3], to: proxy, data: BOX.encodeFunctionData("store", [BigInt(i + 1)]) })).transactionHash);
    const toBlock = Number(BigInt(await rpc.send<string>("eth_blockNumber")));
    const green = await deploy(rpc, owner!, UUPS, "UupsOwnableBoxV2");
    await rpc.send("hardhat_mine", ["0xc8"]);
    range = { fromBlock, toBlock };
    release = {
      id: "uups",
      chainId: Number(BigInt(await rpc.send<string>("eth_chainId"))),
      proxy,
      kind: "uups",
      blue: { address: blue, codehash: await codehash(rpc, blue) },
      green: { address: green, codehash: await codehash(rpc, green) },
    };
  });
  after(async () => {
    await node?.stop();
    if (cacheRoot !== undefined) await rm(cacheRoot, { recursive: true, force: true });
  });

  async function replayUups(r: ReleaseUnderTest): Promise<ReplayReport> {
    const config = resolveReplayConfig({}, { projectRoot: cacheRoot, cachePath: cacheRoot });
    return replayRelease({
      release: r,
      source: new SourceRpc({ url: node.url, cache: await RpcCache.open(config.cacheDir, node.url), retries: 2, baseDelayMs: 20 }),
      openFork: edrForkOpener(hre.network, { edrForkCache: path.join(hre.config.paths.cache, "edr-fork-cache") }),
      traffic: { kind: "range", ...range },
      mode: "faithful",
      cascade: false,
      config,
    });
  }

  it("switches green in the way the switch will, through the proxy's owner calling upgradeToAndCall, and replays every call", async () => {
    const report = await replayUups(release);
    expect(report.kind).to.equal("uups");
    expect(report.fleet).to.equal(undefined);
    expect(report.txs).to.equal(sent.length);
    expect(report.verdict).to.equal("clean");
    expect(report.skipped).to.deep.equal([]);
    expect(report.adjustments).to.deep.equal([]);
    expect(report.fidelity.matched).to.equal(report.fidelity.total);
    // Without the kind (a record from before kinds), the proxy's missing admin slot leaves only the write under the queue.
    const { kind: _kind, ...untyped } = release;
    const legacy = await replayUups({ ...untyped, id: "uups-untyped" });
    expect(legacy.adjustments.join(" ")).to.contain("no ERC-1967 admin");
    expect(legacy.verdict).to.equal("clean");
  });
});

describe('bg:replay of a UUPS release whose owner acts in the range (anvil "mainnet", blocks sharing a timestamp)', function () {
  const UUPS = "contracts/examples/uups/UupsOwnableBox.sol";
  const PROXY = "contracts/examples/uups/UupsBoxProxy.sol";
  const UPGRADE = new Interface(["function upgradeToAndCall(address,bytes)"]);
  let node: RunningNode;
  let rpc: Rpc;
  let cacheRoot: string;
  let release: ReleaseUnderTest;
  let range: { fromBlock: number; toBlock: number };
  let ownerTxs: { store: string; upgrade: string };
  let userTxs: string[];

  /** Sends the transactions into one block (automine off) and mines it; returns their hashes. */
  async function block(txs: Array<Record<string, unknown>>): Promise<string[]> {
    const hashes: string[] = [];
    for (const tx of txs) hashes.push(await rpc.send<string>("eth_sendTransaction", [{ gas: "0x100000", ...tx }]));
    await rpc.send("evm_mine");
    for (const hash of hashes) {
      const r = await rpc.send<{ status: string; blockNumber: string }>("eth_getTransactionReceipt", [hash]);
      if (r === null) throw new Error(`${hash} was not mined`);
    }
    return hashes;
  }

  before(async () => {
    node = await startNode("anvil");
    rpc = new Rpc(node.url);
    cacheRoot = await mkdtemp(path.join(tmpdir(), "bg-uups-owner-replay-"));
    const [owner, ...users] = (await rpc.send<string[]>("eth_accounts")).map((a) => a.toLowerCase());
    const blue = await deploy(rpc, owner!, UUPS, "UupsOwnableBoxV1");
    const proxy = await deploy(rpc, owner!, PROXY, "UupsBoxProxy", { types: ["address", "bytes"], values: [blue, BOX.encodeFunctionData("initialize", [owner])] });
    await rpc.send("evm_setAutomine", [false]);
    const fromBlock = Number(BigInt(await rpc.send<string>("eth_blockNumber"))) + 1;
    const store = (from: string, v: number) => ({ from, to: proxy, data: BOX.encodeFunctionData("store", [BigInt(v)]) });
    // The owner (who switches green in on the fork) sends a transaction of its own between two users' in one block,
    // then, after an empty block, re-points the proxy at blue (what an adoption does), again between users' transactions.
    const [u1, ownerStore, u3] = await block([store(users[0]!, 1), store(owner!, 2), store(users[1]!, 3)]);
    await rpc.send("evm_mine");
    const [u4, upgrade, u5] = await block([store(users[2]!, 4), { from: owner, to: proxy, data: UPGRADE.encodeFunctionData("upgradeToAndCall", [blue, "0x"]) }, store(users[0]!, 5)]);
    await rpc.send("evm_mine");
    const [u6] = await block([store(users[1]!, 6)]);
    const toBlock = Number(BigInt(await rpc.send<string>("eth_blockNumber")));
    await rpc.send("evm_setAutomine", [true]);
    ownerTxs = { store: ownerStore!, upgrade: upgrade! };
    userTxs = [u1!, u3!, u4!, u5!, u6!];
    const green = await deploy(rpc, owner!, UUPS, "UupsOwnableBoxV2");
    await rpc.send("anvil_mine", ["0xc8"]);
    range = { fromBlock, toBlock };
    release = {
      id: "uups-owner",
      chainId: Number(BigInt(await rpc.send<string>("eth_chainId"))),
      proxy,
      kind: "uups",
      blue: { address: blue, codehash: await codehash(rpc, blue) },
      green: { address: green, codehash: await codehash(rpc, green) },
    };
  });
  after(async () => {
    await node?.stop();
    if (cacheRoot !== undefined) await rm(cacheRoot, { recursive: true, force: true });
  });

  it("generates the shape the test is about: the range's blocks share one timestamp, with empty blocks between them", async () => {
    const stamps = new Set<string>();
    for (let n = range.fromBlock; n <= range.toBlock; n++) stamps.add((await rpc.send<any>("eth_getBlockByNumber", ["0x" + n.toString(16), false])).timestamp);
    // anvil stamps blocks mined within one second alike (a slow machine may cross a second's boundary or two).
    expect(stamps.size).to.be.lessThan(range.toBlock - range.fromBlock + 1);
  });

  it("replays the owner's own transactions, and does not blame green for a transaction that upgrades the proxy itself", async () => {
    const config = resolveReplayConfig({ workers: 1 }, { projectRoot: cacheRoot, cachePath: cacheRoot });
    const report = await replayRelease({
      release,
      source: new SourceRpc({ url: node.url, cache: await RpcCache.open(config.cacheDir, node.url), retries: 2, baseDelayMs: 20 }),
      openFork: edrForkOpener(hre.network, { edrForkCache: path.join(hre.config.paths.cache, "edr-fork-cache") }),
      traffic: { kind: "range", ...range },
      mode: "faithful",
      cascade: false,
      config,
    });
    expect(report.fidelity.matched).to.equal(report.fidelity.total);
    expect(report.verdict).to.equal("clean");
    expect(report.divergences).to.deep.equal([]);
    // Every transaction of the range touches the proxy: all but the upgrade are compared, the owner's store included.
    expect(report.txs).to.equal(userTxs.length + 1);
    expect(report.skipped.map((s) => s.hash)).to.deep.equal([ownerTxs.upgrade]);
    expect(report.skipped[0]!.reason).to.contain("upgrades").and.contain(release.blue.address);
    // People see it too, not only the report's JSON.
    expect(renderReplaySummary(report, undefined)).to.contain("not compared").and.contain(ownerTxs.upgrade);
    expect(ownerTxs.store).to.be.a("string");
  });

  it("opens its forks on a network whose config names a hardfork (the fork's own overrides stay valid there)", async () => {
    const open = edrForkOpener(hre.network, { edrForkCache: path.join(hre.config.paths.cache, "edr-fork-cache"), networkName: "namedHardfork" });
    const handle = await open({ url: node.url, blockNumber: range.fromBlock - 1, chainId: release.chainId });
    try {
      const head = (await handle.provider.request({ method: "eth_blockNumber", params: [] })) as string;
      expect(Number(head)).to.equal(range.fromBlock - 1);
    } finally {
      await handle.close();
    }
  });

  it("keeps a skipped block's timestamp when the fork's clock has moved on (several blocks a second)", async function () {
    const open = edrForkOpener(hre.network, { edrForkCache: path.join(hre.config.paths.cache, "edr-fork-cache") });
    const handle = await open({ url: node.url, blockNumber: range.fromBlock - 1, chainId: release.chainId });
    try {
      const fork = new ForkControl(handle.provider, release.proxy);
      await fork.init();
      // More than a second after the fork opened, its own clock is past the range's timestamps.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const third = await rpc.send<any>("eth_getBlockByNumber", ["0x" + (range.fromBlock + 2).toString(16), false]);
      await fork.openBlock(toBlockContext(third));
      const from = (await rpc.send<string[]>("eth_accounts"))[4]!.toLowerCase();
      const tx = { from, to: release.proxy, data: BOX.encodeFunctionData("store", [7n]), value: 0n, gas: 100_000n, nonce: 0, type: 0, gasPrice: 10n ** 10n };
      expect(await fork.prepareSender(tx, true)).to.equal(0);
      const hash = await fork.queue(tx);
      const [mined] = await fork.mineBlock(toBlockContext(third), [hash]);
      expect(mined?.status).to.equal("success");
      const forked = await handle.provider.request({ method: "eth_getBlockByNumber", params: ["latest", false] }) as { number: string; timestamp: string };
      expect(Number(forked.number)).to.equal(range.fromBlock + 2);
      expect(Number(forked.timestamp)).to.equal(Number(third.timestamp));
    } finally {
      await handle.close();
    }
  });
});
