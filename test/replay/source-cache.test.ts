/**
 * The shared source cache on disk (bounded, pruned least recently read
 * first, written atomically) and the prefetch's reading of prestate traces.
 */
import { mkdtemp, readdir, readFile, rm, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";

import { runHardhat } from "../helpers/cli.js";
import { ForkState } from "../../src/replay/prefetch.js";
import { reducePrestate } from "../../src/replay/prestate-traces.js";
import { SourceCache } from "../../src/replay/source-cache.js";

const A = "0x00000000000000000000000000000000000000aa";
const B = "0x00000000000000000000000000000000000000bb";
const slot = (n: number) => "0x" + n.toString(16).padStart(64, "0");
const header = (miner: string, withdrawals: string[] = []) =>
  ({ number: "0x1", hash: "0x" + "1".repeat(64), timestamp: "0x1", miner, gasLimit: "0x1", transactions: [], withdrawals: withdrawals.map((address) => ({ address })) }) as never;

describe("shared source cache", function () {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "bg-source-cache-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("keys state by chain id, block number and block hash: another chain with the same id does not see it", async () => {
    const cache = new SourceCache(dir);
    await cache.mergeState(31337, { number: 5, hash: "0x" + "a".repeat(64) }, { [A]: { balance: "0x1" } });
    expect(await cache.readState(31337, { number: 5, hash: "0x" + "a".repeat(64) })).to.deep.equal({ [A]: { balance: "0x1" } });
    expect(await cache.readState(31337, { number: 5, hash: "0x" + "b".repeat(64) })).to.equal(undefined);
    expect(await cache.readState(1, { number: 5, hash: "0x" + "a".repeat(64) })).to.equal(undefined);
  });

  it("merges what later runs learn without overwriting what it has", async () => {
    const cache = new SourceCache(dir);
    const block = { number: 7, hash: "0x" + "c".repeat(64) };
    await cache.mergeState(1, block, { [A]: { balance: "0x1", storage: { [slot(1)]: slot(5) } } });
    await cache.mergeState(1, block, { [A]: { balance: "0x2", nonce: "0x3", storage: { [slot(2)]: slot(6) } }, [B]: { code: "0x60" } });
    expect(await cache.readState(1, block)).to.deep.equal({
      [A]: { balance: "0x1", nonce: "0x3", storage: { [slot(1)]: slot(5), [slot(2)]: slot(6) } },
      [B]: { code: "0x60" },
    });
  });

  it("stays within its bound, removing the least recently read files first, and prunes to a size or to nothing", async () => {
    const cache = new SourceCache(dir);
    const big = "0x" + "ab".repeat(2000);
    for (let n = 1; n <= 6; n++) await cache.mergeState(1, { number: n, hash: "0x" + "d".repeat(64) }, { [A]: { code: big } });
    const files = (await readdir(path.join(dir, "1", "state"))).sort();
    expect(files).to.have.length(6);
    // Make the age order explicit: block n written at minute n, then block 1 read just now.
    for (let n = 1; n <= 6; n++) {
      const t = new Date(Date.now() - (10 - n) * 60_000);
      await utimes(path.join(dir, "1", "state", `${n}-0x${"d".repeat(64)}.json`), t, t);
    }
    expect(await cache.readState(1, { number: 1, hash: "0x" + "d".repeat(64) })).to.not.equal(undefined);
    const before = await cache.usage();
    const perFile = before.bytes / before.files;
    const { removed, left } = await cache.prune({ maxBytes: Math.floor(perFile * 3.5) });
    expect(removed.files).to.equal(3);
    expect(left.files).to.equal(3);
    expect(left.bytes).to.be.at.most(perFile * 3.5);
    // Blocks 2, 3 and 4 were the least recently read: 1 (just read), 5 and 6 stay.
    expect((await readdir(path.join(dir, "1", "state"))).map((f) => Number(f.split("-")[0])).sort()).to.deep.equal([1, 5, 6]);
    expect((await cache.prune({ all: true })).left).to.deep.equal({ files: 0, bytes: 0 });

    // The bound holds while writing too: a small cache never grows far past it.
    const small = new SourceCache(dir, 40_000);
    for (let n = 1; n <= 30; n++) await small.mergeState(1, { number: n, hash: "0x" + "e".repeat(64) }, { [A]: { code: big } });
    expect((await small.usage()).bytes).to.be.at.most(40_000 + 8_000);
  });

  it("is never left corrupt by concurrent writers of the same files", async () => {
    const caches = Array.from({ length: 8 }, () => new SourceCache(dir));
    const block = { number: 9, hash: "0x" + "f".repeat(64) };
    await Promise.all(
      caches.flatMap((cache, w) =>
        Array.from({ length: 10 }, (_, i) =>
          Promise.all([
            cache.mergeState(1, block, { [A]: { storage: { [slot(w * 100 + i)]: slot(i) } } }),
            cache.writePrestate(1, block, { accounts: { [B]: { balance: "0x5", nonce: "0x0", code: "0x" } }, balanceChanged: [] }),
          ]),
        ),
      ),
    );
    const state = await cache0(caches).readState(1, block);
    expect(state?.[A]?.storage).to.be.an("object");
    // Every slot that survived the races holds the value its writer wrote.
    for (const [key, value] of Object.entries(state![A]!.storage!)) expect(value).to.equal(slot(Number(BigInt(key)) % 100));
    expect(await cache0(caches).readPrestate(1, block)).to.deep.equal({ accounts: { [B]: { balance: "0x5", nonce: "0x0", code: "0x" } }, balanceChanged: [] });
    // No temporary file is left behind, and every file is whole JSON.
    for (const sub of ["state", "prestate"]) {
      for (const f of await readdir(path.join(dir, "1", sub))) {
        expect(f).to.match(/\.json$/);
        JSON.parse(await readFile(path.join(dir, "1", sub, f), "utf8"));
      }
    }
  });
});

describe("bg:cache prune", function () {
  let cacheRoot: string;
  before(async () => {
    cacheRoot = await mkdtemp(path.join(tmpdir(), "bg-cache-cli-"));
  });
  after(async () => {
    await rm(cacheRoot, { recursive: true, force: true });
  });
  // A user's project whose Hardhat cache folder is a temporary one.
  const CONFIG = path.join("test", "switch", "cli-project", "hardhat.config.ts");
  const prune = (...args: string[]) => runHardhat(["--config", CONFIG, "bg:cache", "prune", ...args, "--json"], { BG_TEST_CACHE: cacheRoot });

  it("shrinks the project's source cache to a size, then empties it, with one JSON document each time", async () => {
    const cache = new SourceCache(path.join(cacheRoot, "bluegreen-source"));
    for (let n = 1; n <= 5; n++) await cache.mergeState(1, { number: n, hash: "0x" + "a".repeat(64) }, { [A]: { code: "0x" + "cd".repeat(2000) } });
    const { bytes } = await cache.usage();
    const limitMb = (bytes * 0.5) / 1024 / 1024;
    const shrunk = await prune("--max-mb", String(limitMb));
    expect(shrunk.code, shrunk.stderr).to.equal(0);
    const doc = JSON.parse(shrunk.stdout);
    expect(doc.ok).to.equal(true);
    expect(doc.dir).to.equal(path.join(cacheRoot, "bluegreen-source"));
    expect(doc.before).to.deep.equal({ files: 5, bytes });
    expect(doc.removed.files).to.equal(3);
    expect(doc.left.bytes).to.be.at.most(bytes * 0.5);
    expect(await cache.usage()).to.deep.equal(doc.left);

    const emptied = JSON.parse((await prune("--all")).stdout);
    expect(emptied.left).to.deep.equal({ files: 0, bytes: 0 });
    expect((await cache.usage()).files).to.equal(0);
  });

  it("refuses a size that is not a number, with its code", async () => {
    const run = await prune("--max-mb", "lots");
    expect(run.code).to.equal(1);
    const doc = JSON.parse(run.stdout);
    expect(doc).to.include({ ok: false, code: "BG_CACHE_OPTION" });
  });
});

function cache0(caches: SourceCache[]): SourceCache {
  return caches[0]!;
}

describe("prefetch: reading prestate traces", () => {
  it("takes each key's first value in the block and fills the fields the tracer leaves out", () => {
    const trace = [
      { txHash: "0x1", result: { [A]: { balance: "0x10", storage: { "0x1": "0x5" } }, [B]: { balance: "0x0", nonce: 2, code: "0x6080" } } },
      { txHash: "0x2", result: { [A]: { balance: "0x9", nonce: 1, storage: { "0x1": "0x6", [slot(2)]: "0x7" } } } },
    ];
    const pre = reducePrestate(trace, header("0x00000000000000000000000000000000000000cc", [B]))!;
    expect(pre.accounts[A]).to.deep.equal({ balance: "0x10", nonce: "0x0", code: "0x", storage: { [slot(1)]: slot(5), [slot(2)]: slot(7) } });
    expect(pre.accounts[B]).to.deep.equal({ balance: "0x0", nonce: "0x2", code: "0x6080" });
    expect(pre.balanceChanged).to.deep.equal(["0x00000000000000000000000000000000000000cc", B]);
    expect(reducePrestate({ structLogs: [] }, header(A))).to.equal(undefined);
    // A failed transaction trace, or a value that is not a quantity: the block counts as untraced.
    expect(reducePrestate([{ txHash: "0x1", error: "execution timeout" }], header(A))).to.equal(undefined);
    expect(reducePrestate([{ txHash: "0x1", result: { [A]: { balance: "lots" } } }], header(A))).to.equal(undefined);
  });

  it("answers state reads at a fork block only for what it knows, whatever the slot's spelling", () => {
    const state = new ForkState();
    state.merge(18, { [A]: { balance: "0x10", nonce: "0x1", code: "0x", storage: { [slot(3)]: slot(9) } } });
    expect(state.answer("eth_getBalance", [A.toUpperCase().replace("0X", "0x"), "0x12"])).to.equal("0x10");
    expect(state.answer("eth_getStorageAt", [A, "0x3", "0x12"])).to.equal(slot(9));
    expect(state.answer("eth_getStorageAt", [A, "0x4", "0x12"])).to.equal(undefined);
    expect(state.answer("eth_getBalance", [A, "0x13"])).to.equal(undefined);
    expect(state.answer("eth_getBalance", [A, "latest"])).to.equal(undefined);
    expect(state.answer("eth_getBalance", [A, { blockNumber: "0x12" }])).to.equal("0x10");
    expect(state.served).to.equal(3);
    state.learn("eth_getStorageAt", [A, "0x4", "0x12"], slot(1));
    expect(state.answer("eth_getStorageAt", [A, slot(4), "0x12"])).to.equal(slot(1));
  });
});

describe("prefetch: what is taken from later blocks' prestates", () => {
  const C = "0x00000000000000000000000000000000000000cc";
  const D = "0x00000000000000000000000000000000000000dd";
  const BEACON_ROOTS = "0x000f3df6d732807ef1319fb7b8bb8522d0beac02";
  const hash = (n: number) => "0x" + n.toString(16).padStart(64, "0");

  /** A source that knows blocks 10..14 and answers prestate traces from a table; block 13 cannot be traced. */
  async function fakeSource(traces: Record<number, unknown>, miners: Record<number, string>, withdrawals: Record<number, string[]> = {}) {
    const { createServer } = await import("node:http");
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        const doc = JSON.parse(body) as Array<{ id: number; method: string; params: unknown[] }> | { id: number; method: string; params: unknown[] };
        const answer = (r: { id: number; method: string; params: unknown[] }) => {
          const n = Number(BigInt(r.params[0] as string));
          if (r.method === "eth_getBlockByNumber") {
            const txs = traces[n] === undefined ? [] : [{ hash: hash(1000 + n), from: A, to: B, input: "0x", value: "0x0", gas: "0x5208", nonce: "0x0" }];
            return { jsonrpc: "2.0", id: r.id, result: { number: "0x" + n.toString(16), hash: hash(n), timestamp: "0x1", miner: miners[n] ?? "0x00000000000000000000000000000000000000ee", gasLimit: "0x1", transactions: n === 13 ? txs.length ? txs : [{ hash: hash(13) }] : txs, withdrawals: (withdrawals[n] ?? []).map((address) => ({ address })) } };
          }
          if (r.method === "debug_traceBlockByNumber") {
            if (n === 13) return { jsonrpc: "2.0", id: r.id, error: { code: -32000, message: "trace too big" } };
            return { jsonrpc: "2.0", id: r.id, result: traces[n] ?? [] };
          }
          return { jsonrpc: "2.0", id: r.id, error: { code: -32601, message: "Method not found" } };
        };
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(Array.isArray(doc) ? doc.map(answer) : answer(doc)));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const { port } = server.address() as { port: number };
    return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  it("takes the first value of each key, except balances changed outside transactions, system contracts, and anything after an untraced block", async () => {
    const { prefetchState } = await import("../../src/replay/prefetch.js");
    const { SourceRpc } = await import("../../src/replay/source-rpc.js");
    const traces = {
      // Block 11: A and the coinbase C are touched; the system contract too (the client wrote it before the block).
      11: [{ txHash: hash(1011), result: { [A]: { balance: "0x10", nonce: 1, storage: { [slot(1)]: slot(1) } }, [C]: { balance: "0x5" }, [BEACON_ROOTS]: { balance: "0x0", storage: { [slot(0)]: slot(9) } } } }],
      // Block 12: C again (its balance moved as 11's coinbase), B (a withdrawal of 11 paid it) and a new slot of A.
      12: [{ txHash: hash(1012), result: { [A]: { balance: "0x7", nonce: 2, storage: { [slot(1)]: slot(2), [slot(2)]: slot(3) } }, [C]: { balance: "0x9" }, [B]: { balance: "0x40", nonce: 0 } } }],
      // Block 14, after the untraceable 13: D (no coinbase, no withdrawal) would be new, but 13 may have changed it.
      14: [{ txHash: hash(1014), result: { [D]: { balance: "0x1" } } }],
    };
    const fake = await fakeSource(traces, { 11: C }, { 11: [B] });
    try {
      const source = new SourceRpc({ url: fake.url, retries: 0 });
      const { state, summary } = await prefetchState({ source, chainId: 1, segments: [{ forkBlock: 10, lastBlock: 14 }], receipts: new Map() });
      expect(summary.path).to.equal("prestate-trace");
      const file = state.file(10);
      // First touch wins: block 11's values of A, not block 12's; 12's new slot is still A's value at the fork.
      expect(file[A]).to.deep.equal({ nonce: "0x1", code: "0x", balance: "0x10", storage: { [slot(1)]: slot(1), [slot(2)]: slot(3) } });
      // The coinbase's balance at 11's start is its fork value; B's at 12 is not (block 11's withdrawal paid it), its nonce is.
      expect(file[C]?.balance).to.equal("0x5");
      expect(file[B]).to.deep.equal({ nonce: "0x0", code: "0x" });
      expect(file[BEACON_ROOTS]).to.equal(undefined);
      expect(file[D]).to.equal(undefined);
      expect(state.answer("eth_getBalance", [B, "0xa"])).to.equal(undefined);
      expect(state.answer("eth_getTransactionCount", [B, "0xa"])).to.equal("0x0");
    } finally {
      await fake.close();
    }
  });
});
