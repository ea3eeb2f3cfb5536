/**
 * The testnet gate: green's exact codehash has run on a public testnet,
 * promoted by the switch there, for at least `minDays`, and was not rolled
 * back. Everything is proven from the testnet chain itself: the switch's
 * events, block timestamps (chain time, not the wall clock) and the code at
 * green's address. No local file can make it pass.
 *
 * A promotion's bake time runs from its block until the switch stops
 * vouching for green on that proxy: a newer promotion of the proxy, or the
 * switch releasing the proxy's admin. A promotion that was rolled back does
 * not count at all; another, later promotion of the same bytecode can.
 */
import { getAddress, keccak256 } from "ethers";

import type { Eip1193Provider } from "../chain/eip1193.js";
import { iso, short } from "../common/format.js";
import type { ErrorCode } from "../errors.js";
import type { ReleaseRecord } from "../release/record.js";
import { loadSwitchArtifact } from "../switch/artifact.js";
import type { TestnetGateConfig } from "./config.js";
import { maskImmutables } from "./source-gate.js";
import { gateResult, type GateResult } from "./gate-result.js";
import { countProxyTxs, fateOf, promotionsOf, readSwitchEvents, type PromotionFate } from "./switch-history.js";

const DAY = 86_400;

export interface TestnetSwitchLocation {
  address: string;
  /** Block the switch was deployed in: where the event search starts. */
  blockNumber?: number;
  /** Where the address came from, for messages. */
  source: string;
}

export interface TestnetGateInput {
  record: ReleaseRecord;
  config: TestnetGateConfig;
  /** A connection to the testnet network. */
  provider: Eip1193Provider;
  /**
   * Finds the switch recorded for a chain (`.bluegreen/<chainId>/switch.json`);
   * only asked when the config does not name the switch.
   */
  findSwitch: (chainId: number) => Promise<TestnetSwitchLocation | undefined>;
}

/** Evaluates the testnet gate. RPC failures make it inconclusive, never pass. */
export async function evaluateTestnetGate(input: TestnetGateInput): Promise<GateResult> {
  const { config } = input;
  try {
    return await evaluate(input);
  } catch (e) {
    return gateResult("testnet", "inconclusive", config.required, `could not read the testnet "${config.network}": ${firstLine(e)}`, {
      fix: `Check that network "${config.network}" in hardhat.config.ts points at a reachable RPC endpoint (its URL and key), then run bg:gates again.`,
      evidence: { network: config.network, minDays: config.minDays, minTxs: config.minTxs },
    });
  }
}

async function evaluate({ record, config, provider, findSwitch }: TestnetGateInput): Promise<GateResult> {
  const name = "testnet";
  const rpc = <T>(method: string, params: unknown[] = []) => provider.request({ method, params }) as Promise<T>;
  const codehash = record.green.codehash.toLowerCase();
  const chainId = Number(BigInt(await rpc<string>("eth_chainId")));
  const base = { network: config.network, chainId, codehash, minDays: config.minDays, minTxs: config.minTxs };
  const fail = (detail: string, fix: string, evidence: Record<string, unknown> = {}, code?: ErrorCode) =>
    gateResult(name, "fail", config.required, detail, { fix, ...(code !== undefined ? { code } : {}), evidence: { ...base, ...evidence } });

  if (chainId === record.chainId && record.network === config.network) {
    // The release itself is on the testnet (the bake's own promote): the gate
    // guards releases elsewhere. Only the same network *name* counts, so a
    // testnet network pointed at mainnet by mistake still fails below.
    return gateResult(name, "not-applicable", false, `this release is on "${config.network}" itself (chain ${chainId}), the network whose bake the gate checks for other chains`, {
      evidence: base,
    });
  }
  if (chainId === record.chainId) {
    return fail(
      `network "${config.network}" is chain ${chainId}, the release's own chain: bake time there proves nothing about a testnet`,
      "Point blueGreen.gates.testnet.network at a public testnet network (e.g. sepolia) where the same release was promoted through its switch.",
    );
  }

  const location: TestnetSwitchLocation | undefined =
    config.switch !== undefined ? { address: config.switch, source: "blueGreen.gates.testnet.switch" } : await findSwitch(chainId);
  if (location === undefined) {
    return fail(
      `no switch is known on "${config.network}" (chain ${chainId})`,
      `Deploy one with \`npx hardhat bg:init --network ${config.network} ...\` (it records .bluegreen/${chainId}/switch.json), or set blueGreen.gates.testnet.switch.`,
    );
  }
  const switchAddress = getAddress(location.address);
  const switchCode = await rpc<string>("eth_getCode", [switchAddress, "latest"]);
  if (switchCode === "0x") {
    return fail(
      `the switch ${switchAddress} (from ${location.source}) has no code on "${config.network}"`,
      "Check the switch address for the testnet, or deploy the switch there again with bg:init.",
      { switch: switchAddress.toLowerCase() },
    );
  }
  // Anyone can emit a Promoted event: only the shipped switch's code makes its events evidence.
  const shipped = await loadSwitchArtifact();
  const ranges = Object.values((shipped as { immutableReferences?: Record<string, Array<{ start: number; length: number }>> }).immutableReferences ?? {}).flat();
  if (maskImmutables(switchCode, ranges) !== maskImmutables(shipped.deployedBytecode, ranges)) {
    return fail(
      `[BG_TESTNET_NOT_A_SWITCH] the contract at ${switchAddress} (from ${location.source}) on "${config.network}" is not a ${shipped.contractName}: ` +
        `its runtime code (codehash ${keccak256(switchCode)}) differs from the shipped artifact's, immutables masked`,
      `Point the testnet gate at the switch bg:init deployed there (blueGreen.gates.testnet.switch or .bluegreen/${chainId}/switch.json); a switch from another version of hardhat-bluegreen must be redeployed with bg:init.`,
      { switch: switchAddress.toLowerCase(), switchCodehash: keccak256(switchCode).toLowerCase() },
      "BG_TESTNET_NOT_A_SWITCH",
    );
  }

  const latest = await rpc<{ number: string; timestamp: string }>("eth_getBlockByNumber", ["latest", false]);
  const latestBlock = Number(BigInt(latest.number));
  const now = Number(BigInt(latest.timestamp));
  const fromBlock = Math.max(config.fromBlock, location.blockNumber ?? 0);
  const events = await readSwitchEvents(rpc, switchAddress, fromBlock, latestBlock);
  const proxyFilter = config.proxy?.toLowerCase();
  const matching = promotionsOf(events, codehash, proxyFilter);
  const where = { switch: switchAddress.toLowerCase(), searchedFromBlock: fromBlock };
  if (matching.length === 0) {
    return fail(
      `codehash ${short(codehash, 10, 0)} was never promoted by the switch ${switchAddress} on "${config.network}"` +
        (proxyFilter !== undefined ? ` for proxy ${getAddress(proxyFilter)}` : "") +
        ` (blocks ${fromBlock}-${latestBlock})`,
      `Promote this exact build on the testnet first (bg:stage, bg:propose and bg:switch with --network ${config.network}), then let it bake ${config.minDays} days.`,
      where,
    );
  }

  const fates: PromotionFate[] = [];
  for (const promotion of matching) {
    fates.push(await fateOf(promotion, events, rpc));
  }
  const standing = fates.filter((f) => f.rolledBack === undefined);
  if (standing.length === 0) {
    const last = fates[fates.length - 1]!;
    return fail(
      `green ${short(codehash, 10, 0)} was promoted on "${config.network}" (tx ${last.promotion.txHash}, block ${last.promotion.blockNumber}) ` +
        `and rolled back since (tx ${last.rolledBack!.txHash}, block ${last.rolledBack!.blockNumber})`,
      "A rollback on the testnet means this build misbehaved there. Fix it, stage a new green, and bake that one on the testnet.",
      { ...where, promotions: fates.map(fateEvidence) },
    );
  }
  const bakeOf = (f: PromotionFate) => (f.endedBy?.at ?? now) - f.promotedAt;
  const best = standing.reduce((a, b) => (bakeOf(b) > bakeOf(a) ? b : a));
  const baked = bakeOf(best);
  const needed = Math.ceil(config.minDays * DAY);
  const evidence = {
    ...where,
    proxy: best.promotion.proxy,
    green: best.promotion.green,
    promotion: fateEvidence(best),
    ...(fates.some((f) => f.rolledBack !== undefined) ? { rolledBackPromotions: fates.filter((f) => f.rolledBack !== undefined).map(fateEvidence) } : {}),
  };
  const promotedIso = isoSeconds(best.promotedAt);

  // The codehash was checked by the switch at promote; check it still holds
  // (no selfdestruct-and-redeploy at green's address since).
  const greenCode = await rpc<string>("eth_getCode", [getAddress(best.promotion.green), "latest"]);
  const greenCodehashNow = greenCode === "0x" ? undefined : keccak256(greenCode).toLowerCase();
  if (greenCodehashNow !== codehash) {
    return fail(
      `green's address ${getAddress(best.promotion.green)} on "${config.network}" ` +
        (greenCodehashNow === undefined ? "has no code any more" : `now has codehash ${greenCodehashNow}, not ${codehash}`),
      "The code that baked is gone from the testnet. Deploy and promote this exact build there again.",
      evidence,
    );
  }

  if (baked < needed) {
    const endNote = best.endedBy !== undefined ? ` until it was ${best.endedBy.kind} at ${isoSeconds(best.endedBy.at)}` : "";
    return fail(
      `promoted on "${config.network}" at ${promotedIso} (block ${best.promotion.blockNumber}); baked ${days(baked)} days${endNote} of chain time, needs ${config.minDays}`,
      best.endedBy === undefined
        ? `Wait: the testnet bake completes at ${isoSeconds(best.promotedAt + needed)} (testnet chain time). Then run bg:gates again.`
        : "It stopped running on the testnet before it baked long enough. Promote it there again and let it bake.",
      evidence,
    );
  }

  let txNote = "";
  if (config.minTxs > 0) {
    const endBlock = best.endedBy?.blockNumber ?? latestBlock;
    const counted = await countProxyTxs(rpc, best.promotion, endBlock, config.minTxs, config.maxScanBlocks);
    const txEvidence = { ...evidence, txsCounted: counted.count };
    if (counted.count < config.minTxs) {
      if (counted.stoppedAt !== undefined) {
        return gateResult(
          name,
          "inconclusive",
          config.required,
          `${counted.count} successful tx(s) to proxy ${getAddress(best.promotion.proxy)} in the ${config.maxScanBlocks} blocks scanned after the promotion (up to block ${counted.stoppedAt}); needs ${config.minTxs}`,
          {
            fix: "Raise blueGreen.gates.testnet.maxScanBlocks so the scan can reach more of the bake period (each block is one RPC call).",
            evidence: { ...base, ...txEvidence },
          },
        );
      }
      return fail(
        `only ${counted.count} successful tx(s) went to proxy ${getAddress(best.promotion.proxy)} on "${config.network}" since the promotion; needs ${config.minTxs}`,
        "Exercise the release on the testnet (real users, scripts or probes through the proxy), then run bg:gates again.",
        txEvidence,
      );
    }
    txNote = `, ${counted.count}+ successful txs to the proxy`;
    Object.assign(evidence, { txsCounted: counted.count });
  }

  return gateResult(
    name,
    "pass",
    config.required,
    `promoted on "${config.network}" at ${promotedIso} (block ${best.promotion.blockNumber}), baked ${days(baked)} days of chain time (min ${config.minDays}), not rolled back, code unchanged${txNote}`,
    { evidence: { ...base, ...evidence } },
  );
}

function fateEvidence(f: PromotionFate): Record<string, unknown> {
  return {
    txHash: f.promotion.txHash,
    blockNumber: f.promotion.blockNumber,
    promotedAt: f.promotedAt,
    proxy: f.promotion.proxy,
    green: f.promotion.green,
    evidenceHash: f.promotion.evidenceHash,
    ...(f.rolledBack !== undefined ? { rolledBack: { txHash: f.rolledBack.txHash, blockNumber: f.rolledBack.blockNumber } } : {}),
    ...(f.endedBy !== undefined ? { ended: { kind: f.endedBy.kind, txHash: f.endedBy.txHash, blockNumber: f.endedBy.blockNumber, at: f.endedBy.at } } : {}),
  };
}

function days(seconds: number): string {
  return (Math.floor((seconds / DAY) * 100) / 100).toString();
}

/** Chain time to the second: block timestamps have no milliseconds to show. */
function isoSeconds(seconds: number): string {
  return iso(seconds).replace(/\.\d{3}Z$/, "Z");
}

function firstLine(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.split("\n")[0]!;
}
