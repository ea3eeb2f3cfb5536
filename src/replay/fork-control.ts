/**
 * Driving a fork through its JSON-RPC, one original block at a time: the
 * block's context, its transactions queued and mined together, observations
 * at a transaction's place in the block, impersonation, code and storage.
 * Works with Hardhat's in-process EDR fork; the benchmark also drives an
 * anvil fork with it (only queue and mine, which anvil has too).
 */
import type { Eip1193Provider } from "../chain/eip1193.js";
import { quantity } from "../common/format.js";
import { BlueGreenError } from "../errors.js";
import { rpcTransactionObject, toBigInt, toNumber, type RpcReceipt, toReceiptFacts } from "./chain-data.js";
import { type CallFrame, MUX_TRACER, observe, type PrestateDiff, splitStorageKey, word } from "./observe.js";
import type { BlockContext, CallRequest, Observation, ReceiptFacts, ReplayFleet, TxRequest } from "./types.js";

/** ERC-1967 implementation slot: bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1). */
export const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";
/** ERC-1967 admin slot: bytes32(uint256(keccak256("eip1967.proxy.admin")) - 1). */
export const ADMIN_SLOT = "0xb53127684a568b3173ae13b9f8a6016e243e63b6e8ee1178d6a717850b5d6103";

/** implementation() of a beacon. */
const IMPLEMENTATION_SELECTOR = "0x5c60da1b";
/** owner() of an Ownable beacon or UUPS proxy. */
const OWNER_SELECTOR = "0x8da5cb5b";

/** A fork the replay can drive, and how to let it go. */
export interface ForkHandle {
  provider: Eip1193Provider;
  close(): Promise<void>;
}

/** Opens a fork of the source at a block. Supplied by the caller (in-process EDR, anvil...). */
export type OpenFork = (forkBlock: number) => Promise<ForkHandle>;

/** How green is switched in: a call from whoever may upgrade the target. */
interface SwitchIn {
  admin: string;
  calldata: string;
  /** The admin's nonce at the fork's latest block, read once per block. */
  nonce: number;
}

export class ForkControl {
  private impersonated = new Set<string>();
  private nonces = new Map<string, number>();
  /** Each sender's next nonce after its transactions queued in the block being built. */
  private readonly queuedNonces = new Map<string, number>();
  private applied: { coinbase?: string; gasLimit?: bigint } = {};
  private prevRandaoMethod: string | null | undefined;
  /** The fork's latest block: its number and timestamp. */
  private head = 0;
  private headTimestamp = 0;
  /** The block being built: its context. */
  private building: { context: BlockContext } | undefined;
  /** How green is switched in: a transaction from the proxy's admin (or the beacon's owner), or (none) a write under the queue. */
  private switchIn: SwitchIn | null | undefined;
  /** Who may upgrade, as last read, and the block that read it (the owner can change inside a range). */
  private upgraderSeen: { account: string | undefined; atBlock: number } | undefined;
  /** Where green is written when no upgrader can switch it in: the proxy's implementation slot, or the beacon's `_implementation`. */
  private implementationSlot: string | undefined;
  /** One proxy, or a beacon and its proxies. */
  readonly fleet: ReplayFleet;
  private readonly proxy: string;
  /** What the replay added to the upgrader's balance so the pool takes switch transactions; taken back after each block. */
  private topUp: { account: string; amount: bigint } | undefined;
  /** Things the replay had to change on the fork to run a transaction at all (fast mode, captures). */
  readonly adjustments: string[] = [];

  constructor(
    readonly provider: Eip1193Provider,
    watched: string | ReplayFleet,
  ) {
    this.fleet = typeof watched === "string" ? { kind: "transparent", target: watched.toLowerCase(), proxies: [watched.toLowerCase()] } : watched;
    this.proxy = this.fleet.target;
  }

  request(method: string, params: unknown[] = []): Promise<unknown> {
    return this.provider.request({ method, params });
  }

  /** Turns automine off (transactions are queued, then mined as one block) and reads the head. */
  async init(): Promise<void> {
    await this.request("evm_setAutomine", [false]);
    const latest = (await this.request("eth_getBlockByNumber", ["latest", false])) as { number: string; timestamp: string };
    this.head = toNumber(latest.number);
    this.headTimestamp = toNumber(latest.timestamp);
  }

  /**
   * Starts the block with this context: mines empty blocks up to the one
   * before it (fast mode skips the blocks without targets), then sets the
   * next block's timestamp, base fee, prevrandao, coinbase and gas limit.
   */
  async openBlock(ctx: BlockContext): Promise<void> {
    if (ctx.number <= this.head) {
      throw new Error(`the fork is at block ${this.head}, so it cannot build block ${ctx.number}; blocks must be replayed in order`);
    }
    const gap = ctx.number - this.head - 1;
    if (gap > 0) {
      // The skipped blocks keep the last timestamp (interval 0), so the next original one still fits after them.
      // Left to itself the fork would stamp the first of them with its own clock (the fork block's time plus the
      // time elapsed since it opened), which is past the next block's when the chain makes several blocks a second.
      await this.request("evm_setNextBlockTimestamp", [quantity(this.headTimestamp)]);
      await this.request("hardhat_mine", [quantity(gap), "0x0"]);
      this.head += gap;
    }
    await this.setNextBlock(ctx);
    this.building = { context: ctx };
    this.queuedNonces.clear();
  }

  /** Sets the block context of the next block: timestamp, base fee, prevrandao, coinbase, gas limit. */
  private async setNextBlock(ctx: BlockContext): Promise<void> {
    const calls: Array<Promise<unknown>> = [this.request("evm_setNextBlockTimestamp", [quantity(ctx.timestamp)])];
    if (ctx.baseFeePerGas !== undefined) calls.push(this.request("hardhat_setNextBlockBaseFeePerGas", [quantity(ctx.baseFeePerGas)]));
    calls.push(this.setPrevRandao(ctx.prevRandao));
    if (this.applied.coinbase !== ctx.coinbase) {
      calls.push(this.request("hardhat_setCoinbase", [ctx.coinbase]));
      this.applied.coinbase = ctx.coinbase;
    }
    if (this.applied.gasLimit !== ctx.gasLimit) {
      calls.push(this.request("evm_setBlockGasLimit", [quantity(ctx.gasLimit)]));
      this.applied.gasLimit = ctx.gasLimit;
    }
    await Promise.all(calls);
  }

  private async setPrevRandao(value: string): Promise<void> {
    if (this.prevRandaoMethod === null) return;
    if (this.prevRandaoMethod !== undefined) {
      await this.request(this.prevRandaoMethod, [value]);
      return;
    }
    for (const method of ["hardhat_setPrevRandao", "anvil_setPrevRandao"]) {
      try {
        await this.request(method, [value]);
        this.prevRandaoMethod = method;
        return;
      } catch {
        // try the next name
      }
    }
    this.prevRandaoMethod = null;
    this.adjustments.push("the fork cannot set prevrandao: contracts reading block.prevrandao may not replay faithfully");
  }

  /**
   * Observes a transaction (or call) at its place in the block being built:
   * a traced call on the pending block, which has the block's number and
   * context and sees the transactions queued before it. With `green`, green
   * is switched in for this one observation by writing the proxy's
   * implementation slot under the queue, and switched back right after (EDR's
   * debug_traceCall ignores state overrides).
   *
   * The call carries the transaction's effective gas price, so GASPRICE and
   * the sender's balance are what the chain had. (EDR runs calls with a base
   * fee of 0, so a contract reading BASEFEE sees 0, on both sides alike; the
   * fidelity check shows where that mattered.)
   */
  async observe(request: TxRequest | CallRequest, green?: string): Promise<Observation> {
    const building = this.building;
    if (building === undefined) throw new Error("observe() outside a block: call openBlock() first");
    const object = "nonce" in request ? callOfTransaction(request, building.context.baseFeePerGas) : callObject(request);
    const run = () => this.trace((config) => this.request("debug_traceCall", [object, "pending", config]));
    if (green === undefined) return run();
    const switchIn = await this.switchInFor(green, building.context.number);
    if (switchIn !== null) {
      // The switch is a transaction right before the observed one, dropped right after: the
      // pending block applies it after the transactions queued before, and to nothing else.
      const hash = await this.queueSwitch(switchIn, building.context);
      try {
        return await run();
      } finally {
        await this.request("hardhat_dropTransaction", [hash]);
      }
    }
    // No admin to switch through: green is written under the whole queue (see docs/replay.md), and blue's value put back.
    const slot = await this.greenSlot();
    const blue = word((await this.request("eth_getStorageAt", [this.proxy, slot, "latest"])) as string);
    await this.setStorage(this.proxy, slot, addressWord(green));
    try {
      return await run();
    } finally {
      await this.setStorage(this.proxy, slot, blue);
    }
  }

  /**
   * Puts green in for good (the cascade world, before its first block): the
   * lasting effect of the switch's upgrade, written where the target keeps it.
   */
  async installGreen(green: string): Promise<void> {
    await this.setStorage(this.proxy, await this.greenSlot(), addressWord(green));
  }

  /**
   * The slot holding what the target runs. A beacon keeps it in its own
   * layout (OpenZeppelin's UpgradeableBeacon: `_implementation`, after
   * Ownable's `_owner`), so it is found as the slot holding the beacon's
   * `implementation()` answer, not assumed.
   */
  private async greenSlot(): Promise<string> {
    if (this.implementationSlot !== undefined) return this.implementationSlot;
    if (this.fleet.kind !== "beacon") return (this.implementationSlot = IMPLEMENTATION_SLOT);
    const current = word((await this.request("eth_call", [{ to: this.proxy, data: IMPLEMENTATION_SELECTOR }, "pending"])) as string);
    for (let i = 0; i < 16; i++) {
      const slot = quantity(BigInt(i));
      if (word((await this.request("eth_getStorageAt", [this.proxy, slot, "latest"])) as string) === current) return (this.implementationSlot = word(slot));
    }
    throw new BlueGreenError(
      "BG_REPLAY_BEACON_LAYOUT",
      `Beacon ${this.proxy}'s owner cannot switch green in on the fork, and none of its first 16 storage slots holds its implementation() ${current}, so green cannot be written there either.`,
      { hint: "hardhat-bluegreen replays through OpenZeppelin's UpgradeableBeacon (owner() and upgradeTo); check the beacon is one." },
    );
  }

  /**
   * Finds how green is switched in the way the switch does it, as a call
   * from whoever may upgrade: the proxy's admin (transparent), its `owner()`
   * (an Ownable UUPS proxy), or the beacon's `owner()`, calling v5's
   * `upgradeToAndCall(green, "")` or `upgradeTo(green)` (v4 proxies, and
   * every UpgradeableBeacon). Null when no one found can. Checked again at
   * each block: the upgrader may change inside the range.
   */
  private async switchInFor(green: string, blockNumber: number): Promise<SwitchIn | null> {
    if (this.switchIn !== undefined && this.upgraderSeen?.atBlock === blockNumber) return this.switchIn;
    const admin = await this.upgrader();
    // Read once per block: the same upgrader keeps its way in; a new one (an ownership transfer in the range) is tried afresh.
    const same = this.upgraderSeen?.account === admin;
    this.upgraderSeen = { account: admin, atBlock: blockNumber };
    if (this.switchIn !== undefined && same) {
      if (this.switchIn !== null) this.switchIn.nonce = toNumber(await this.request("eth_getTransactionCount", [this.switchIn.admin, "latest"]));
      return this.switchIn;
    }
    this.switchIn = null;
    if (admin === undefined) {
      this.adjustments.push(
        this.fleet.kind === "transparent"
          ? "the proxy has no ERC-1967 admin: green is switched in by writing its implementation slot under the whole pending block"
          : `the ${this.fleet.kind === "beacon" ? "beacon" : "UUPS proxy"} answers no owner(): green is switched in by writing ${this.fleet.kind === "beacon" ? "the beacon's implementation" : "its implementation slot"} under the whole pending block`,
      );
      return null;
    }
    const target = green.toLowerCase().replace(/^0x/, "").padStart(64, "0");
    const upgradeToAndCall = `0x4f1ef286${target}${"40".padStart(64, "0")}${"0".repeat(64)}`;
    const candidates = this.fleet.kind === "beacon" ? [`0x3659cfe6${target}`] : [upgradeToAndCall, `0x3659cfe6${target}`];
    for (const calldata of candidates) {
      try {
        // "pending": the fork's own first block may be a historical one it cannot execute on.
        await this.request("eth_call", [{ from: admin, to: this.proxy, data: calldata }, "pending"]);
      } catch {
        continue;
      }
      await this.request("hardhat_impersonateAccount", [admin]);
      const nonce = toNumber(await this.request("eth_getTransactionCount", [admin, "latest"]));
      this.switchIn = { admin, calldata, nonce };
      return this.switchIn;
    }
    this.adjustments.push(`${this.fleet.kind === "beacon" ? "the beacon's owner" : "the proxy's admin"} ${admin} cannot upgrade it to green: green is switched in by writing its implementation slot under the whole pending block`);
    return null;
  }

  /** Who may upgrade the target: the admin slot of a transparent proxy, else `owner()`; undefined when none is found. */
  private async upgrader(): Promise<string | undefined> {
    let answer: string;
    if (this.fleet.kind === "transparent") {
      answer = (await this.request("eth_getStorageAt", [this.proxy, ADMIN_SLOT, "latest"])) as string;
    } else {
      try {
        answer = (await this.request("eth_call", [{ to: this.proxy, data: OWNER_SELECTOR }, "pending"])) as string;
      } catch {
        return undefined;
      }
    }
    if (answer.length > 66 || answer === "0x") return undefined;
    const address = "0x" + word(answer).slice(-40);
    return /^0x0{40}$/.test(address) ? undefined : address;
  }

  private async queueSwitch(switchIn: SwitchIn, ctx: BlockContext): Promise<string> {
    const gas = 200_000n;
    const fee = ctx.baseFeePerGas ?? 0n;
    if (this.topUp === undefined) {
      // It never pays (every switch is dropped), but the pool wants it able to.
      const amount = gas * fee + 1n;
      // Set under the queue, so on the latest block's balance.
      const balance = toBigInt(await this.request("eth_getBalance", [switchIn.admin, "latest"]));
      await this.request("hardhat_setBalance", [switchIn.admin, quantity(balance + amount)]);
      this.topUp = { account: switchIn.admin, amount };
    }
    // The upgrader may send transactions of its own in the range: its next nonce is after those queued before.
    const nonce = this.queuedNonces.get(switchIn.admin) ?? switchIn.nonce;
    return (await this.request("eth_sendTransaction", [
      {
        from: switchIn.admin,
        to: this.proxy,
        data: switchIn.calldata,
        gas: quantity(gas),
        nonce: quantity(nonce),
        maxFeePerGas: quantity(fee),
        maxPriorityFeePerGas: "0x0",
      },
    ])) as string;
  }

  /** Queues a transaction in the block being built (with the nonce `prepareSender` chose); returns its hash. */
  async queue(tx: TxRequest): Promise<string> {
    const hash = await this.send(tx);
    this.queuedNonces.set(tx.from.toLowerCase(), tx.nonce + 1);
    return hash;
  }

  private async send(tx: TxRequest): Promise<string> {
    try {
      return (await this.request("eth_sendTransaction", [rpcTransactionObject(tx)])) as string;
    } catch (e) {
      if (/insufficient funds|doesn't have enough funds|sender doesn't have enough/i.test((e as Error).message)) {
        // Only reachable when earlier traffic that funded the sender was not replayed.
        const need = tx.value + tx.gas * (tx.maxFeePerGas ?? tx.gasPrice ?? 0n);
        const balance = toBigInt(await this.request("eth_getBalance", [tx.from, "pending"]));
        await this.request("hardhat_setBalance", [tx.from, quantity(balance + need)]);
        this.adjustments.push(`balance of ${tx.from} topped up by ${need} wei to pay for ${tx.nonce}`);
        return (await this.request("eth_sendTransaction", [rpcTransactionObject(tx)])) as string;
      }
      throw e;
    }
  }

  /**
   * Mines the block being built and returns the receipt of each queued
   * transaction, in order: undefined for one the block did not take (it is
   * dropped, so it cannot run in a later block either).
   */
  async mineBlock(ctx: BlockContext, hashes: string[]): Promise<Array<ReceiptFacts | undefined>> {
    await this.request("evm_mine");
    this.head = ctx.number;
    this.headTimestamp = ctx.timestamp;
    this.building = undefined;
    if (this.topUp !== undefined) {
      // Taken back from what the account holds after the block: its own transactions in the block paid as on the chain.
      const balance = toBigInt(await this.request("eth_getBalance", [this.topUp.account, "latest"]));
      await this.request("hardhat_setBalance", [this.topUp.account, quantity(balance - this.topUp.amount)]);
      this.topUp = undefined;
    }
    const receipts = await Promise.all(hashes.map((hash) => this.request("eth_getTransactionReceipt", [hash]) as Promise<RpcReceipt | null>));
    const out: Array<ReceiptFacts | undefined> = [];
    for (let i = 0; i < hashes.length; i++) {
      const receipt = receipts[i];
      if (receipt === null || receipt === undefined || toNumber(receipt.blockNumber) !== ctx.number) {
        await this.request("hardhat_dropTransaction", [hashes[i]]).catch(() => undefined);
        out.push(undefined);
      } else {
        out.push(toReceiptFacts(receipt));
      }
    }
    return out;
  }

  /** Reads slots of the proxy (of a beacon's proxies: keys `<proxy>:<slot>`) at the latest block. */
  async readProxyStorage(keys: string[]): Promise<Record<string, string>> {
    const values = await Promise.all(
      keys.map((key) => {
        const { proxy, slot } = splitStorageKey(key);
        return this.request("eth_getStorageAt", [proxy ?? this.proxy, slot, "latest"]);
      }),
    );
    return Object.fromEntries(keys.map((key, i) => [key, word(values[i] as string)]));
  }

  async setCode(address: string, code: string): Promise<void> {
    await this.request("hardhat_setCode", [address, code]);
  }

  async setStorage(address: string, slot: string, value: string): Promise<void> {
    await this.request("hardhat_setStorageAt", [address, slot, value]);
  }

  /**
   * Makes the sender able to send this transaction and returns the nonce to
   * send it with: the original one whenever the fork's account has it.
   * Where earlier transactions of the sender were not replayed (fast mode),
   * a call is sent with the account's next nonce (no opcode can read a
   * transaction's nonce); a contract creation, whose address depends on it,
   * gets the account's nonce set instead, which a fork only allows before
   * anything is queued in the block. Undefined when it cannot run.
   */
  async prepareSender(tx: TxRequest, firstOfBlock: boolean): Promise<number | undefined> {
    if (!this.impersonated.has(tx.from)) {
      await this.request("hardhat_impersonateAccount", [tx.from]);
      this.impersonated.add(tx.from);
    }
    let current = this.nonces.get(tx.from);
    if (current === undefined) {
      current = toNumber(await this.request("eth_getTransactionCount", [tx.from, "latest"]));
    }
    if (tx.nonce < current) {
      this.nonces.set(tx.from, current);
      return undefined;
    }
    if (tx.nonce > current) {
      if (tx.to !== undefined) {
        this.adjustments.push(`sent ${tx.from}'s nonce ${tx.nonce} as nonce ${current} (its earlier transactions were not replayed)`);
        this.nonces.set(tx.from, current + 1);
        return current;
      }
      if (!firstOfBlock) return undefined;
      await this.request("hardhat_setNonce", [tx.from, quantity(tx.nonce)]);
      this.adjustments.push(`nonce of ${tx.from} set from ${current} to ${tx.nonce} (its earlier transactions were not replayed)`);
    }
    this.nonces.set(tx.from, tx.nonce + 1);
    return tx.nonce;
  }

  private async trace(run: (config: object) => Promise<unknown>): Promise<Observation> {
    const result = (await run(MUX_TRACER)) as { callTracer: CallFrame; prestateTracer: PrestateDiff };
    return observe(result.callTracer, result.prestateTracer, this.fleet.kind === "beacon" ? this.fleet : this.proxy);
  }
}

/**
 * A transaction as a call: the effective gas price (what GASPRICE returns
 * and what the sender pays) in place of the EIP-1559 fee fields.
 */
function callOfTransaction(tx: TxRequest, baseFee: bigint | undefined): Record<string, unknown> {
  const price =
    tx.maxFeePerGas !== undefined
      ? minBigInt(tx.maxFeePerGas, (baseFee ?? 0n) + (tx.maxPriorityFeePerGas ?? 0n))
      : (tx.gasPrice ?? 0n);
  const { nonce: _nonce, maxFeePerGas: _max, maxPriorityFeePerGas: _priority, ...call } = rpcTransactionObject(tx);
  return { ...call, gasPrice: quantity(price) };
}

function minBigInt(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

function callObject(call: CallRequest): Record<string, unknown> {
  return {
    ...(call.from !== undefined ? { from: call.from } : {}),
    to: call.to,
    data: call.data,
    value: quantity(call.value),
    ...(call.gas !== undefined ? { gas: quantity(call.gas) } : {}),
  };
}

/** An address as a 32-byte storage word. */
export function addressWord(address: string): string {
  return "0x" + address.toLowerCase().replace(/^0x/, "").padStart(64, "0");
}
