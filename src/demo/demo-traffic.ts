/**
 * Traffic for the demo token, as users would make it: transfers of every
 * size, approvals, allowance spends, and now and then a transfer of more
 * than the sender holds (which reverts, as such mistakes do on mainnet).
 *
 * The mix is drawn from a seeded generator, so every run makes the same
 * traffic and the figures the demo prints are reproducible. One transaction
 * is one block (the nodes mine on demand), as it would roughly be for one
 * protocol's traffic on a busy chain.
 */
import { Interface, parseUnits } from "ethers";

import type { Eip1193Provider } from "../chain/eip1193.js";

export const TOKEN_ABI = new Interface([
  "function initialize(address owner)",
  "function mint(address to, uint256 amount)",
  "function transfer(address to, uint256 amount) returns (bool)",
  "function approve(address spender, uint256 amount) returns (bool)",
  "function transferFrom(address from, address to, uint256 amount) returns (bool)",
  "function balanceOf(address account) view returns (uint256)",
  "function totalSupply() view returns (uint256)",
  "function version() view returns (string)",
  "event Transfer(address indexed from, address indexed to, uint256 value)",
  "event Approval(address indexed owner, address indexed spender, uint256 value)",
]);

/** Every holder starts with this many tokens: far more than the traffic moves. */
export const HOLDER_BALANCE = parseUnits("1000000", 18);
const LARGE = 1_000;
const MAX_UINT = (1n << 256n) - 1n;
/** One transaction in this many tries to send more than the sender has. */
const MISTAKE_EVERY = 50;
const GAS = "0x30d40";
const IN_FLIGHT = 4;

export interface TrafficSummary {
  txs: number;
  reverted: number;
  senders: number;
  /** Transfers of 1,000 DMO or more (the ones DemoTokenV3 breaks). */
  large: number;
  fromBlock: number;
  toBlock: number;
}

/** Gives every holder tokens (minted by the owner) and a standing allowance for the next holder. */
export async function fundHolders(rpc: Eip1193Provider, token: string, owner: string, holders: readonly string[]): Promise<TrafficSummary> {
  const calls: Array<{ from: string; data: string }> = [];
  for (const holder of holders) calls.push({ from: owner, data: TOKEN_ABI.encodeFunctionData("mint", [holder, HOLDER_BALANCE]) });
  holders.forEach((holder, i) => {
    calls.push({ from: holder, data: TOKEN_ABI.encodeFunctionData("approve", [holders[(i + 1) % holders.length]!, MAX_UINT]) });
  });
  return send(rpc, token, calls, () => false);
}

/**
 * Sends `count` transactions of the usual mix to the token from the holders.
 * `seed` picks the mix; the same seed gives the same transactions.
 */
export async function sendTraffic(rpc: Eip1193Provider, token: string, holders: readonly string[], count: number, seed: number): Promise<TrafficSummary> {
  const random = mulberry32(seed);
  const n = holders.length;
  const amount = () => {
    const whole = random() < 0.25 ? LARGE + Math.floor(random() * 19_000) : 1 + Math.floor(random() * (LARGE - 1));
    return parseUnits(String(whole), 18);
  };
  const calls: Array<{ from: string; data: string; large: boolean }> = [];
  for (let i = 0; i < count; i++) {
    const index = Math.floor(random() * n);
    const from = holders[index]!;
    const other = holders[(index + 1 + Math.floor(random() * (n - 1))) % n]!;
    if ((i + 1) % MISTAKE_EVERY === 0) {
      // More than anyone holds: reverts with ERC20InsufficientBalance, on blue and green alike.
      calls.push({ from, data: TOKEN_ABI.encodeFunctionData("transfer", [other, HOLDER_BALANCE * 1000n]), large: false });
      continue;
    }
    const roll = random();
    if (roll < 0.6) {
      const value = amount();
      calls.push({ from, data: TOKEN_ABI.encodeFunctionData("transfer", [other, value]), large: value >= parseUnits(String(LARGE), 18) });
    } else if (roll < 0.75) {
      // Never the next holder: its standing allowance must stay, or its spends would start failing.
      const spender = holders[(index + 2 + Math.floor(random() * (n - 2))) % n]!;
      calls.push({ from, data: TOKEN_ABI.encodeFunctionData("approve", [spender, amount()]), large: false });
    } else {
      // Holder index spends from the previous holder, who granted it a standing allowance.
      const owner = holders[(index - 1 + n) % n]!;
      const value = amount();
      calls.push({ from, data: TOKEN_ABI.encodeFunctionData("transferFrom", [owner, other, value]), large: value >= parseUnits(String(LARGE), 18) });
    }
  }
  return send(rpc, token, calls, (i) => calls[i]!.large);
}

/** Sends calls in order (a few in flight), then reads their receipts. */
async function send(rpc: Eip1193Provider, to: string, calls: ReadonlyArray<{ from: string; data: string }>, isLarge: (i: number) => boolean): Promise<TrafficSummary> {
  const hashes: string[] = new Array(calls.length);
  let next = 0;
  const worker = async () => {
    while (next < calls.length) {
      const i = next++;
      const call = calls[i]!;
      hashes[i] = (await rpc.request({ method: "eth_sendTransaction", params: [{ from: call.from, to, data: call.data, gas: GAS }] })) as string;
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, calls.length) }, worker));
  let reverted = 0;
  let large = 0;
  let fromBlock = Number.MAX_SAFE_INTEGER;
  let toBlock = 0;
  for (let i = 0; i < hashes.length; i++) {
    const receipt = (await rpc.request({ method: "eth_getTransactionReceipt", params: [hashes[i]] })) as { status: string; blockNumber: string };
    if (receipt.status !== "0x1") reverted++;
    if (isLarge(i)) large++;
    const block = Number(BigInt(receipt.blockNumber));
    fromBlock = Math.min(fromBlock, block);
    toBlock = Math.max(toBlock, block);
  }
  return { txs: calls.length, reverted, senders: new Set(calls.map((c) => c.from.toLowerCase())).size, large, fromBlock, toBlock };
}

/** A small, well-known seeded generator (mulberry32): deterministic traffic, no dependency. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Act two's live traffic during the canary: each holder pays the next one
 * `whole` DMO (above the buggy cap), one transaction each, in holder order.
 * Returns the senders whose transfer reverted.
 */
export async function payEveryHolder(rpc: Eip1193Provider, token: string, holders: readonly string[], whole: number): Promise<{ summary: TrafficSummary; revertedFrom: string[] }> {
  const value = parseUnits(String(whole), 18);
  const revertedFrom: string[] = [];
  let fromBlock = Number.MAX_SAFE_INTEGER;
  let toBlock = 0;
  for (const [i, from] of holders.entries()) {
    const data = TOKEN_ABI.encodeFunctionData("transfer", [holders[(i + 1) % holders.length]!, value]);
    const hash = (await rpc.request({ method: "eth_sendTransaction", params: [{ from, to: token, data, gas: GAS }] })) as string;
    const receipt = (await rpc.request({ method: "eth_getTransactionReceipt", params: [hash] })) as { status: string; blockNumber: string };
    if (receipt.status !== "0x1") revertedFrom.push(from);
    fromBlock = Math.min(fromBlock, Number(BigInt(receipt.blockNumber)));
    toBlock = Math.max(toBlock, Number(BigInt(receipt.blockNumber)));
  }
  return { summary: { txs: holders.length, reverted: revertedFrom.length, senders: holders.length, large: holders.length, fromBlock, toBlock }, revertedFrom };
}
