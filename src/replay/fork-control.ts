/**
 * Driving a fork through its JSON-RPC: block context, impersonation,
 * snapshots, code and storage, sending and tracing. Works with Hardhat's
 * in-process EDR fork and with anvil (the benchmark's peer baseline); the
 * few methods they name differently are probed once.
 */
import type { Eip1193Provider } from "../stage/eip1193.js";
import { rpcTransactionObject, toBigInt, toHex, toNumber, type RpcReceipt, toReceiptFacts } from "./chain-data.js";
import { CALL_TRACER, type CallFrame, MUX_TRACER, observe, PRESTATE_DIFF_TRACER, type PrestateDiff, word } from "./observe.js";
import type { BlockContext, CallRequest, Observation, ReceiptFacts, TxRequest } from "./types.js";

/** ERC-1967 implementation slot: bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1). */
export const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";

/** A fork the replay can drive, and how to let it go. */
export interface ForkHandle {
  provider: Eip1193Provider;
  close(): Promise<void>;
}

/** Opens a fork of the source at a block. Supplied by the caller (in-process EDR, anvil...). */
export type OpenFork = (forkBlock: number) => Promise<ForkHandle>;

export class ForkControl {
  private impersonated = new Set<string>();
  private nonces = new Map<string, number>();
  private applied: { coinbase?: string; gasLimit?: bigint } = {};
  private mux: boolean | undefined;
  /** The proxy's implementation slot as blue has it (read once, then followed through blue's writes). */
  private blueImplementation: string | undefined;
  private prevRandaoMethod: string | null | undefined;
  /** Things the replay had to change on the fork to run a transaction at all (fast mode, captures). */
  readonly adjustments: string[] = [];

  constructor(
    readonly provider: Eip1193Provider,
    private readonly proxy: string,
  ) {}

  request(method: string, params: unknown[] = []): Promise<unknown> {
    return this.provider.request({ method, params });
  }

  /** Sets the block context of the next block: timestamp, base fee, prevrandao, coinbase, gas limit. */
  async setNextBlock(ctx: BlockContext): Promise<void> {
    const calls: Array<Promise<unknown>> = [this.request("evm_setNextBlockTimestamp", [toHex(ctx.timestamp)])];
    if (ctx.baseFeePerGas !== undefined) calls.push(this.request("hardhat_setNextBlockBaseFeePerGas", [toHex(ctx.baseFeePerGas)]));
    calls.push(this.setPrevRandao(ctx.prevRandao));
    if (this.applied.coinbase !== ctx.coinbase) {
      calls.push(this.request("hardhat_setCoinbase", [ctx.coinbase]));
      this.applied.coinbase = ctx.coinbase;
    }
    if (this.applied.gasLimit !== ctx.gasLimit) {
      calls.push(this.request("evm_setBlockGasLimit", [toHex(ctx.gasLimit)]));
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

  /** Mines an empty block with this context, so that calls on "latest" see it. */
  async mineContext(ctx: BlockContext): Promise<void> {
    await this.setNextBlock(ctx);
    await this.request("evm_mine");
  }

  /** Reads slots of the proxy at the latest block. */
  async readProxyStorage(slots: string[]): Promise<Record<string, string>> {
    const values = await Promise.all(slots.map((slot) => this.request("eth_getStorageAt", [this.proxy, slot, "latest"])));
    return Object.fromEntries(slots.map((slot, i) => [slot, word(values[i] as string)]));
  }

  /** Forgets what was applied (after a revert, the next block's settings are gone). */
  forgetAppliedContext(): void {
    this.applied = {};
  }

  async setCode(address: string, code: string): Promise<void> {
    await this.request("hardhat_setCode", [address, code]);
  }

  async setStorage(address: string, slot: string, value: string): Promise<void> {
    await this.request("hardhat_setStorageAt", [address, slot, value]);
  }

  async snapshot(): Promise<string> {
    return (await this.request("evm_snapshot")) as string;
  }

  async revert(id: string): Promise<void> {
    const ok = await this.request("evm_revert", [id]);
    if (ok === false) throw new Error(`the fork refused to revert to snapshot ${id}`);
    this.nonces.clear();
    this.blueImplementation = undefined;
  }

  /**
   * Makes the sender able to send this transaction: impersonation, and the
   * nonce when earlier transactions of the sender were not replayed (fast
   * mode). Returns false when the transaction cannot run (nonce already used).
   */
  async prepareSender(tx: TxRequest): Promise<boolean> {
    if (!this.impersonated.has(tx.from)) {
      await this.request("hardhat_impersonateAccount", [tx.from]);
      this.impersonated.add(tx.from);
    }
    let current = this.nonces.get(tx.from);
    if (current === undefined) {
      current = toNumber(await this.request("eth_getTransactionCount", [tx.from, "latest"]));
    }
    if (tx.nonce > current) {
      await this.request("hardhat_setNonce", [tx.from, toHex(tx.nonce)]);
      this.adjustments.push(`nonce of ${tx.from} set from ${current} to ${tx.nonce} (its earlier transactions were not replayed)`);
    } else if (tx.nonce < current) {
      this.nonces.set(tx.from, current);
      return false;
    }
    this.nonces.set(tx.from, tx.nonce + 1);
    return true;
  }

  /** Sends (and, with automine, mines) a transaction; returns its hash. */
  async send(tx: TxRequest): Promise<string> {
    try {
      return (await this.request("eth_sendTransaction", [rpcTransactionObject(tx)])) as string;
    } catch (e) {
      if (/insufficient funds|doesn't have enough funds|sender doesn't have enough/i.test((e as Error).message)) {
        // Only reachable when earlier traffic that funded the sender was not replayed.
        const need = tx.value + tx.gas * (tx.maxFeePerGas ?? tx.gasPrice ?? 0n);
        const balance = toBigInt(await this.request("eth_getBalance", [tx.from, "latest"]));
        await this.request("hardhat_setBalance", [tx.from, toHex(balance + need)]);
        this.adjustments.push(`balance of ${tx.from} topped up by ${need} wei to pay for ${tx.nonce}`);
        return (await this.request("eth_sendTransaction", [rpcTransactionObject(tx)])) as string;
      }
      throw e;
    }
  }

  async receipt(hash: string): Promise<ReceiptFacts> {
    // EDR mines before answering eth_sendTransaction; anvil may answer first and mine right after.
    for (let attempt = 0; attempt < 50; attempt++) {
      const receipt = (await this.request("eth_getTransactionReceipt", [hash])) as RpcReceipt | null;
      if (receipt !== null) return toReceiptFacts(receipt);
      await new Promise((resolve) => setTimeout(resolve, attempt < 10 ? 1 : 20));
    }
    throw new Error(`the fork mined no receipt for ${hash}`);
  }

  /**
   * Executes a transaction (or call) as a traced call on the latest block's
   * state and context; nothing is mined. (A call on "pending" would see the
   * next block's context but makes the fork build that block first, which
   * costs as much as mining; the executor mines the context instead, see
   * twin-executor.ts.) With `green`, green is switched in for the call by
   * writing the proxy's implementation slot and restored right after (EDR's
   * debug_traceCall ignores state overrides).
   */
  async traceCall(request: TxRequest | CallRequest, green?: string): Promise<Observation> {
    const object = "nonce" in request ? rpcTransactionObject(request) : callObject(request);
    const run = () => this.trace((config) => this.request("debug_traceCall", [object, "latest", config]));
    if (green === undefined) return run();
    this.blueImplementation ??= word((await this.request("eth_getStorageAt", [this.proxy, IMPLEMENTATION_SLOT, "latest"])) as string);
    const blue = this.blueImplementation;
    await this.setStorage(this.proxy, IMPLEMENTATION_SLOT, addressWord(green));
    try {
      return await run();
    } finally {
      await this.setStorage(this.proxy, IMPLEMENTATION_SLOT, blue);
    }
  }

  /** Follows blue's own upgrades of the proxy (a transaction in the range that writes the slot). */
  noteBlueWrites(blue: Observation): void {
    const written = blue.storage[IMPLEMENTATION_SLOT];
    if (written !== undefined) this.blueImplementation = written;
  }

  /** Traces a mined transaction (mined semantics, for the exact fallback). */
  async traceTransaction(hash: string): Promise<Observation> {
    return this.trace((config) => this.request("debug_traceTransaction", [hash, config]));
  }

  private async trace(run: (config: object) => Promise<unknown>): Promise<Observation> {
    if (this.mux !== false) {
      try {
        const result = (await run(MUX_TRACER)) as { callTracer: CallFrame; prestateTracer: PrestateDiff };
        if (result?.callTracer !== undefined) {
          this.mux = true;
          return observe(result.callTracer, result.prestateTracer, this.proxy);
        }
      } catch (e) {
        if (this.mux === true) throw e;
      }
      this.mux = false;
    }
    // Without muxTracer: two executions, one per tracer.
    const [call, diff] = await Promise.all([run(CALL_TRACER), run(PRESTATE_DIFF_TRACER)]);
    return observe(call as CallFrame, diff as PrestateDiff, this.proxy);
  }
}

function callObject(call: CallRequest): Record<string, unknown> {
  return {
    ...(call.from !== undefined ? { from: call.from } : {}),
    to: call.to,
    data: call.data,
    value: toHex(call.value),
    ...(call.gas !== undefined ? { gas: toHex(call.gas) } : {}),
  };
}

/** An address as a 32-byte storage word. */
export function addressWord(address: string): string {
  return "0x" + address.toLowerCase().replace(/^0x/, "").padStart(64, "0");
}
