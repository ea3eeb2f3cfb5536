/**
 * A "mainnet" of block-dependent contracts for the exact-replay tests: an
 * ERC20Votes token and a vault with per-block accrual, a per-block rate
 * limit and a time lock, both behind TransparentUpgradeableProxy v5, a router
 * that reaches them through internal calls, and a contract that reads the
 * previous block's hash. Traffic comes in blocks of several transactions,
 * with one sender sending several in a block, and with intended reverts.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";

import { Interface, keccak256, parseEther } from "ethers";

import { startNode, type NodeKind } from "../../helpers/nodes.js";
import { artifact as replayArtifact, Rpc, sendAndWait } from "./replay-world.js";

const ROOT = path.resolve(import.meta.dirname, "../../..");

const FILES: Record<string, string> = {
  AccrualVault: "AccrualVault",
  AccrualVaultSame: "AccrualVaultGreens",
  AccrualVaultNewError: "AccrualVaultGreens",
  AccrualVaultNewReturn: "AccrualVaultGreens",
  AccrualVaultAccrualBug: "AccrualVaultGreens",
  AccrualVaultHijack: "AccrualVaultGreens",
  VotesToken: "VotesToken",
  VotesTokenSame: "VotesToken",
  BlockRouter: "BlockRouter",
  BlockhashDraw: "BlockRouter",
};

async function blockArtifact(name: string): Promise<{ abi: any[]; bytecode: string }> {
  const file = FILES[name];
  if (file === undefined) return replayArtifact(name);
  return JSON.parse(await readFile(path.join(ROOT, "artifacts/contracts/examples/replay/blocks", `${file}.sol`, `${name}.json`), "utf8"));
}

export const VAULT = new Interface([
  "function deposit() payable returns (uint256)",
  "function withdraw(uint256 amount) returns (uint256)",
  "function initialize()",
]);
export const VOTES = new Interface([
  "function initialize(address owner_)",
  "function mint(address to, uint256 amount)",
  "function approve(address spender, uint256 value) returns (bool)",
  "function transfer(address to, uint256 value) returns (bool)",
  "function delegate(address delegatee)",
]);
export const ROUTER = new Interface([
  "function depositVia(address vault) payable returns (uint256)",
  "function transferVia(address token, address to, uint256 amount)",
  "function snapshotVotes(address token, address account) returns (uint256)",
]);
export const DRAW = new Interface(["function draw()"]);

export type BlockTxKind =
  | "deposit"
  | "depositVia"
  | "withdraw"
  | "overdraw"
  | "delegate"
  | "transfer"
  | "transferVia"
  | "snapshotVotes"
  | "draw";

export interface BlockTx {
  hash: string;
  kind: BlockTxKind;
  from: string;
  status: "success" | "revert";
  blockNumber: number;
}

export interface BlockWorld {
  kind: NodeKind;
  url: string;
  rpc: Rpc;
  chainId: number;
  vault: { proxy: string; impl: string; codehash: string };
  votes: { proxy: string; impl: string; codehash: string };
  router: string;
  draw: string;
  users: string[];
  owner: string;
  deployGreen(name: string): Promise<{ address: string; codehash: string }>;
  /** Sends blocks of traffic and returns it with its range. `draw` adds transactions that read the previous block's hash. */
  traffic(options: { blocks: number; seed: number; draw?: boolean; without?: BlockTxKind[] }): Promise<{ fromBlock: number; toBlock: number; txs: BlockTx[] }>;
  stop(): Promise<void>;
}

const GAS = "0x7a120";
const FEES = { maxFeePerGas: "0x2540be400", maxPriorityFeePerGas: "0x3b9aca00" };

async function deploy(rpc: Rpc, from: string, name: string, ctorData = "0x"): Promise<string> {
  const a = await blockArtifact(name);
  const r = await sendAndWait(rpc, { from, data: a.bytecode + ctorData.slice(2), gas: "0x989680" });
  if (r.status !== "0x1") throw new Error(`deploying ${name} failed`);
  return r.contractAddress.toLowerCase();
}

async function proxied(rpc: Rpc, owner: string, name: string, init: string) {
  const impl = await deploy(rpc, owner, name);
  const ctor = new Interface(["constructor(address,address,bytes)"]).encodeDeploy([impl, owner, init]);
  const proxy = await deploy(rpc, owner, "TransparentUpgradeableProxy", ctor);
  const code: string = await rpc.send("eth_getCode", [impl, "latest"]);
  return { proxy, impl, codehash: keccak256(code) };
}

export async function buildBlockWorld(kind: NodeKind): Promise<BlockWorld> {
  const node = await startNode(kind);
  try {
    const rpc = new Rpc(node.url);
    const accounts = (await rpc.send<string[]>("eth_accounts")).map((a) => a.toLowerCase());
    const owner = accounts[0]!;
    const users = accounts.slice(1, 7);
    const vault = await proxied(rpc, owner, "AccrualVault", VAULT.encodeFunctionData("initialize"));
    const votes = await proxied(rpc, owner, "VotesToken", VOTES.encodeFunctionData("initialize", [owner]));
    const router = await deploy(rpc, owner, "BlockRouter");
    const draw = await deploy(rpc, owner, "BlockhashDraw");
    for (const user of users) {
      await sendAndWait(rpc, { from: owner, to: votes.proxy, data: VOTES.encodeFunctionData("mint", [user, parseEther("1000")]) });
      await sendAndWait(rpc, { from: user, to: votes.proxy, data: VOTES.encodeFunctionData("approve", [router, 2n ** 255n]) });
    }
    const chainId = Number(BigInt(await rpc.send<string>("eth_chainId")));
    let clock = Number(BigInt((await rpc.send<any>("eth_getBlockByNumber", ["latest", false])).timestamp)) + 100;

    const traffic: BlockWorld["traffic"] = async ({ blocks, seed: start, draw: withDraw = false, without = [] }) => {
      let seed = start >>> 0;
      const rand = (n: number) => {
        seed = (seed + 0x6d2b79f5) >>> 0;
        let t = seed;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) % n;
      };
      const nonces = new Map<string, number>();
      for (const u of users) nonces.set(u, Number(BigInt(await rpc.send<string>("eth_getTransactionCount", [u, "latest"]))));
      // What a user can surely withdraw: deposits minus every withdrawal tried (as if all succeeded).
      const surely = new Map<string, bigint>(users.map((u) => [u, 0n]));
      const planned: Array<Array<{ kind: BlockTxKind; tx: Record<string, unknown> }>> = [];
      for (let b = 0; b < blocks; b++) {
        const size = 2 + rand(7);
        const block: Array<{ kind: BlockTxKind; tx: Record<string, unknown> }> = [];
        // One sender sends twice in every block: a deposit, then another call.
        const repeat = users[rand(users.length)]!;
        for (let i = 0; i < size; i++) {
          const from = i < 2 ? repeat : users[rand(users.length)]!;
          const other = users[rand(users.length)]!;
          const kinds: BlockTxKind[] = ["deposit", "depositVia", "withdraw", "withdraw", "withdraw", "overdraw", "delegate", "transfer", "transferVia", "snapshotVotes"];
          let kind = i === 0 ? "deposit" : kinds[rand(kinds.length)]!;
          if ((kind === "withdraw" && surely.get(from)! < parseEther("1")) || without.includes(kind)) kind = "deposit";
          let to: string;
          let data: string;
          let value = 0n;
          switch (kind) {
            case "deposit":
              to = vault.proxy;
              value = parseEther(String(1 + rand(2)));
              data = VAULT.encodeFunctionData("deposit");
              surely.set(from, surely.get(from)! + value);
              break;
            case "depositVia":
              to = router;
              value = parseEther("1");
              data = ROUTER.encodeFunctionData("depositVia", [vault.proxy]);
              surely.set(from, surely.get(from)! + value);
              break;
            case "withdraw":
              to = vault.proxy;
              data = VAULT.encodeFunctionData("withdraw", [parseEther("1")]);
              surely.set(from, surely.get(from)! - parseEther("1"));
              break;
            case "overdraw":
              to = vault.proxy;
              data = VAULT.encodeFunctionData("withdraw", [parseEther("1000")]);
              break;
            case "delegate":
              to = votes.proxy;
              data = VOTES.encodeFunctionData("delegate", [other]);
              break;
            case "transfer":
              to = votes.proxy;
              data = VOTES.encodeFunctionData("transfer", [other, parseEther(String(1 + rand(5)))]);
              break;
            case "transferVia":
              to = router;
              data = ROUTER.encodeFunctionData("transferVia", [votes.proxy, other, parseEther("1")]);
              break;
            case "snapshotVotes":
              to = router;
              data = ROUTER.encodeFunctionData("snapshotVotes", [votes.proxy, other]);
              break;
            default:
              throw new Error(kind);
          }
          const nonce = nonces.get(from)!;
          nonces.set(from, nonce + 1);
          block.push({ kind, tx: { from, to, data, value: "0x" + value.toString(16), gas: GAS, nonce: "0x" + nonce.toString(16), ...FEES } });
        }
        if (withDraw && b > 0) {
          const from = users[rand(users.length)]!;
          const nonce = nonces.get(from)!;
          nonces.set(from, nonce + 1);
          block.push({ kind: "draw", tx: { from, to: draw, data: DRAW.encodeFunctionData("draw"), gas: GAS, nonce: "0x" + nonce.toString(16), ...FEES } });
        }
        planned.push(block);
      }
      const fromBlock = Number(BigInt(await rpc.send<string>("eth_blockNumber"))) + 1;
      await rpc.send("evm_setAutomine", [false]);
      const sent: Array<{ kind: BlockTxKind; from: string; hash: string }> = [];
      try {
        for (const block of planned) {
          const results = await rpc.batch(block.map((p) => ({ method: "eth_sendTransaction", params: [p.tx] })));
          results.forEach((r, i) => {
            if (r instanceof Error) throw r;
            sent.push({ kind: block[i]!.kind, from: block[i]!.tx.from as string, hash: (r as string).toLowerCase() });
          });
          // Twelve seconds a block, like mainnet: the time lock spans two blocks.
          clock += 12;
          await rpc.send("evm_setNextBlockTimestamp", ["0x" + clock.toString(16)]);
          await rpc.send("evm_mine");
        }
      } finally {
        await rpc.send("evm_setAutomine", [true]);
      }
      const toBlock = Number(BigInt(await rpc.send<string>("eth_blockNumber")));
      const receipts = await rpc.batch(sent.map((s) => ({ method: "eth_getTransactionReceipt", params: [s.hash] })));
      const txs = sent.map((s, i): BlockTx => {
        const r = receipts[i] as any;
        if (r === null || r instanceof Error) throw new Error(`transaction ${s.hash} was not mined`);
        return { ...s, status: r.status === "0x1" ? "success" : "revert", blockNumber: Number(BigInt(r.blockNumber)) };
      });
      return { fromBlock, toBlock, txs };
    };

    return {
      kind,
      url: node.url,
      rpc,
      chainId,
      vault,
      votes,
      router,
      draw,
      users,
      owner,
      deployGreen: async (name) => {
        const address = await deploy(rpc, owner, name);
        const code: string = await rpc.send("eth_getCode", [address, "latest"]);
        return { address, codehash: keccak256(code) };
      },
      traffic,
      stop: () => node.stop(),
    };
  } catch (e) {
    await node.stop();
    throw e;
  }
}
