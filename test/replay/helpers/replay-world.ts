/**
 * A "mainnet" for the replay tests and the benchmark: the replay token and
 * vault behind TransparentUpgradeableProxy v5, the router, many senders, and
 * generated traffic with small and large transfers, internal calls through
 * the router and the vault, reverts and events. Talks plain JSON-RPC to a
 * hardhat node or anvil (both keep their dev accounts unlocked).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";

import { Interface, keccak256, parseEther } from "ethers";

import { JsonRpcClient } from "../../../src/chain/json-rpc.js";
import { startNode, type NodeKind, type RunningNode } from "../../helpers/nodes.js";

const ROOT = path.resolve(import.meta.dirname, "../../..");

export async function artifact(name: string): Promise<{ abi: any[]; bytecode: string; deployedBytecode: string }> {
  const dirs: Record<string, string> = {
    TransparentUpgradeableProxy: "@openzeppelin/contracts/proxy/transparent/TransparentUpgradeableProxy.sol",
  };
  const dir = dirs[name] ?? `contracts/examples/replay/${name}.sol`;
  return JSON.parse(await readFile(path.join(ROOT, "artifacts", dir, `${name}.json`), "utf8"));
}

/** Plain JSON-RPC to the test node: no retries (a transaction is never sent twice) and no timeout. */
export class Rpc {
  private readonly client: JsonRpcClient;

  constructor(readonly url: string) {
    this.client = new JsonRpcClient({ url, retries: 0, timeoutMs: Infinity, name: "test node" });
  }

  async send<T = any>(method: string, params: unknown[] = []): Promise<T> {
    return (await this.client.request({ method, params })) as T;
  }

  /** A JSON-RPC batch; each result is a value or a `JsonRpcError` carrying the node's `data`. */
  async batch(calls: Array<{ method: string; params: unknown[] }>): Promise<unknown[]> {
    return this.client.batch(calls);
  }
}

export const LARGE = parseEther("1000");
export const TOKEN_ABI = new Interface([
  "function transfer(address to, uint256 value) returns (bool)",
  "function approve(address spender, uint256 value) returns (bool)",
  "function mint(address to, uint256 amount)",
  "function sweepFees() returns (uint256)",
  "function balanceOf(address) view returns (uint256)",
  "function initialize(address owner_)",
]);
export const VAULT_ABI = new Interface([
  "function deposit(uint256 assets, address receiver) returns (uint256)",
  "function withdraw(uint256 assets, address receiver, address owner) returns (uint256)",
  "function approve(address spender, uint256 value) returns (bool)",
  "function initialize(address asset_)",
]);
export const ROUTER_ABI = new Interface([
  "function transferVia(address token, address to, uint256 amount)",
  "function depositVia(address vault, uint256 amount) returns (uint256)",
  "function recordBalance(address token, address account) returns (uint256)",
]);

const GAS = "0x7a120"; // 500k: enough for every call here
const FEES = { maxFeePerGas: "0x2540be400", maxPriorityFeePerGas: "0x3b9aca00" }; // 10 gwei, 1 gwei

export interface ReplayWorld {
  node: RunningNode;
  rpc: Rpc;
  chainId: number;
  owner: string;
  users: string[];
  token: string;
  tokenImpl: string;
  tokenImplCodehash: string;
  admin: string;
  vault: string;
  router: string;
  stop(): Promise<void>;
}

async function mine(rpc: Rpc, kind: NodeKind, blocks = 1): Promise<void> {
  await rpc.send(kind === "anvil" ? "anvil_mine" : "hardhat_mine", ["0x" + blocks.toString(16)]);
}

async function receipt(rpc: Rpc, hash: string): Promise<any> {
  for (let i = 0; i < 100; i++) {
    const r = await rpc.send("eth_getTransactionReceipt", [hash]);
    if (r !== null) return r;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`no receipt for ${hash}`);
}

/** Sends a transaction from an unlocked account and waits for it (automine). Returns the receipt. */
export async function sendAndWait(rpc: Rpc, tx: Record<string, unknown>): Promise<any> {
  let hash: string;
  try {
    hash = await rpc.send("eth_sendTransaction", [{ gas: GAS, ...FEES, ...tx }]);
  } catch (e) {
    // hardhat node mines a failing transaction and reports it as an error carrying the hash.
    const data = (e as { data?: { transactionHash?: string } }).data;
    if (data?.transactionHash === undefined) throw e;
    hash = data.transactionHash;
  }
  return receipt(rpc, hash);
}

async function deploy(rpc: Rpc, from: string, name: string, ctorData = "0x"): Promise<string> {
  const a = await artifact(name);
  const r = await sendAndWait(rpc, { from, data: a.bytecode + ctorData.slice(2), gas: "0x989680" });
  if (r.status !== "0x1") throw new Error(`deploying ${name} failed`);
  return r.contractAddress.toLowerCase();
}

function proxyCtor(impl: string, owner: string, init: string): string {
  return new Interface(["constructor(address,address,bytes)"]).encodeDeploy([impl, owner, init]);
}

/** Starts a node and deploys the token, vault and router, funding and approving every sender. */
export async function buildReplayWorld(kind: NodeKind, senders = 10): Promise<ReplayWorld> {
  const node = await startNode(kind);
  try {
    const rpc = new Rpc(node.url);
    const accounts: string[] = (await rpc.send<string[]>("eth_accounts")).map((a) => a.toLowerCase());
    const owner = accounts[0]!;
    const users = accounts.slice(1, 1 + senders);
    const tokenImpl = await deploy(rpc, owner, "ReplayToken");
    const token = await deploy(rpc, owner, "TransparentUpgradeableProxy", proxyCtor(tokenImpl, owner, TOKEN_ABI.encodeFunctionData("initialize", [owner])));
    const vaultImpl = await deploy(rpc, owner, "ReplayVault");
    const vault = await deploy(rpc, owner, "TransparentUpgradeableProxy", proxyCtor(vaultImpl, owner, VAULT_ABI.encodeFunctionData("initialize", [token])));
    const router = await deploy(rpc, owner, "ReplayRouter");
    const adminWord: string = await rpc.send("eth_getStorageAt", [token, "0xb53127684a568b3173ae13b9f8a6016e243e63b6e8ee1178d6a717850b5d6103", "latest"]);
    for (const user of users) {
      await sendAndWait(rpc, { from: owner, to: token, data: TOKEN_ABI.encodeFunctionData("mint", [user, parseEther("1000000")]) });
      await sendAndWait(rpc, { from: user, to: token, data: TOKEN_ABI.encodeFunctionData("approve", [router, 2n ** 255n]) });
      await sendAndWait(rpc, { from: user, to: token, data: TOKEN_ABI.encodeFunctionData("approve", [vault, 2n ** 255n]) });
    }
    const code: string = await rpc.send("eth_getCode", [tokenImpl, "latest"]);
    return {
      node,
      rpc,
      chainId: Number(BigInt(await rpc.send<string>("eth_chainId"))),
      owner,
      users,
      token,
      tokenImpl,
      tokenImplCodehash: keccak256(code),
      admin: "0x" + adminWord.slice(-40),
      vault,
      router,
      stop: () => node.stop(),
    };
  } catch (e) {
    await node.stop();
    throw e;
  }
}

/** A green implementation deployed on the source (after the traffic, as bg:stage would). */
export async function deployGreen(world: ReplayWorld, name: string): Promise<{ address: string; codehash: string }> {
  const address = await deploy(world.rpc, world.owner, name);
  const code: string = await world.rpc.send("eth_getCode", [address, "latest"]);
  return { address, codehash: keccak256(code) };
}

export type TrafficKind =
  | "transfer"
  | "transferVia"
  | "deposit"
  | "depositVia"
  | "withdraw"
  | "recordBalance"
  | "sweepFees"
  | "approve"
  | "overdraw";

export interface GeneratedTx {
  hash: string;
  kind: TrafficKind;
  from: string;
  amount: bigint;
  /** Moves at least LARGE tokens through the token (pays the fee; hits the reverting green's path for transferFrom). */
  large: boolean;
  /** Calls the token's transferFrom with a large amount (the reverting green's regression). */
  largeTransferFrom: boolean;
  status: "success" | "revert";
  blockNumber: number;
}

export interface TrafficOptions {
  count: number;
  /** Transactions per block (automine off in between). Default 4. */
  perBlock?: number;
  seed?: number;
  /** Kinds to draw from; default all. */
  kinds?: TrafficKind[];
}

/** Generates traffic and returns it with the block range it landed in. */
export async function generateTraffic(
  world: ReplayWorld,
  options: TrafficOptions,
): Promise<{ fromBlock: number; toBlock: number; txs: GeneratedTx[] }> {
  const kind: NodeKind = world.node.kind;
  const { rpc } = world;
  const perBlock = options.perBlock ?? 4;
  // mulberry32: small, seeded, and good enough in its low bits.
  let seed = (options.seed ?? 7) >>> 0;
  const rand = (n: number) => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n);
  };
  const kinds: TrafficKind[] = options.kinds ?? [
    "transfer",
    "transfer",
    "transferVia",
    "deposit",
    "depositVia",
    "withdraw",
    "recordBalance",
    "sweepFees",
    "approve",
    "overdraw",
  ];
  const nonces = new Map<string, number>();
  for (const user of [world.owner, ...world.users]) {
    nonces.set(user, Number(BigInt(await rpc.send<string>("eth_getTransactionCount", [user, "latest"]))));
  }
  const deposited = new Map<string, bigint>();
  const planned: Array<{ tx: Record<string, unknown>; meta: Omit<GeneratedTx, "hash" | "status" | "blockNumber"> }> = [];
  for (let i = 0; i < options.count; i++) {
    const from = world.users[rand(world.users.length)]!;
    const to = world.users[rand(world.users.length)]!;
    const k = kinds[rand(kinds.length)]!;
    const large = rand(3) === 0;
    const amount = large ? LARGE + parseEther(String(rand(5000))) : parseEther(String(1 + rand(500)));
    let data: string;
    let target = world.token;
    let meta = { kind: k, from, amount, large, largeTransferFrom: false };
    switch (k) {
      case "transfer":
        data = TOKEN_ABI.encodeFunctionData("transfer", [to, amount]);
        break;
      case "transferVia":
        target = world.router;
        data = ROUTER_ABI.encodeFunctionData("transferVia", [world.token, to, amount]);
        meta = { ...meta, largeTransferFrom: large };
        break;
      case "deposit":
        target = world.vault;
        data = VAULT_ABI.encodeFunctionData("deposit", [amount, from]);
        meta = { ...meta, largeTransferFrom: large };
        deposited.set(from, (deposited.get(from) ?? 0n) + amount / 2n);
        break;
      case "depositVia":
        target = world.router;
        data = ROUTER_ABI.encodeFunctionData("depositVia", [world.vault, amount]);
        meta = { ...meta, largeTransferFrom: large };
        deposited.set(from, (deposited.get(from) ?? 0n) + amount / 2n);
        break;
      case "withdraw": {
        // At most half of what was deposited, so that blue's withdrawal succeeds.
        const available = deposited.get(from) ?? 0n;
        const w = available / 2n;
        deposited.set(from, available - w);
        target = world.vault;
        data = VAULT_ABI.encodeFunctionData("withdraw", [w, from, from]);
        meta = { ...meta, amount: w, large: w >= LARGE };
        break;
      }
      case "recordBalance":
        target = world.router;
        data = ROUTER_ABI.encodeFunctionData("recordBalance", [world.token, to]);
        meta = { ...meta, amount: 0n, large: false };
        break;
      case "sweepFees":
        data = TOKEN_ABI.encodeFunctionData("sweepFees");
        meta = { ...meta, amount: 0n, large: false };
        break;
      case "approve":
        data = TOKEN_ABI.encodeFunctionData("approve", [to, amount]);
        meta = { ...meta, large: false };
        break;
      case "overdraw":
        data = TOKEN_ABI.encodeFunctionData("transfer", [to, parseEther("1000000000")]);
        meta = { ...meta, amount: parseEther("1000000000"), large: false };
        break;
    }
    const nonce = nonces.get(from)!;
    nonces.set(from, nonce + 1);
    planned.push({ tx: { from, to: target, data, gas: GAS, nonce: "0x" + nonce.toString(16), ...FEES }, meta });
  }
  const fromBlock = Number(BigInt(await rpc.send<string>("eth_blockNumber"))) + 1;
  await rpc.send("evm_setAutomine", [false]);
  const hashes: string[] = [];
  try {
    for (let i = 0; i < planned.length; i += perBlock) {
      const chunk = planned.slice(i, i + perBlock);
      const results = await rpc.batch(chunk.map((p) => ({ method: "eth_sendTransaction", params: [p.tx] })));
      for (const r of results) {
        if (r instanceof Error) throw r;
        hashes.push(r as string);
      }
      await mine(rpc, kind);
    }
  } finally {
    await rpc.send("evm_setAutomine", [true]);
  }
  const toBlock = Number(BigInt(await rpc.send<string>("eth_blockNumber")));
  const receipts: any[] = [];
  for (let i = 0; i < hashes.length; i += 100) {
    receipts.push(...(await rpc.batch(hashes.slice(i, i + 100).map((h) => ({ method: "eth_getTransactionReceipt", params: [h] })))));
  }
  const txs = planned.map((p, i): GeneratedTx => {
    const r = receipts[i];
    if (r === null || r instanceof Error) throw new Error(`transaction ${hashes[i]} was not mined`);
    return {
      ...p.meta,
      hash: hashes[i]!.toLowerCase(),
      status: r.status === "0x1" ? "success" : "revert",
      blockNumber: Number(BigInt(r.blockNumber)),
    };
  });
  return { fromBlock, toBlock, txs };
}

/**
 * Mines empty blocks on top, so the replayed range is deep enough for EDR to
 * cache what it fetches (it caches only blocks it considers safe from reorgs).
 */
export async function settle(world: ReplayWorld, blocks = 200): Promise<void> {
  await mine(world.rpc, world.node.kind, blocks);
}
