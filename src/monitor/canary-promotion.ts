/**
 * A canary step found on the switch: the proxy runs a CanaryRouter (read
 * from its code) that routes to this release's green. Its promotion opens
 * the analysis run, as green's own does, and the run carries the router's
 * routing for the canary metrics.
 *
 * Two shapes are recognised, both read from the chain:
 * - the switch's canary step (`promoteCanary`): `proxyState` names green,
 *   its implementation is the router, and the step logged
 *   `CanaryStepPromoted(proxy, blue, green, router, …)`;
 * - a router promoted as the implementation itself (`promote`), logged as
 *   `Promoted(proxy, blue, router, …)`.
 */
import { type Interface, getAddress, id, zeroPadValue } from "ethers";

import { quantity as hex } from "../common/format.js";
import { readCanaryRouting } from "../switch/canary-router-code.js";
import type { RpcLog } from "./block-digest.js";
import type { CanaryRun } from "./canary-measurement.js";
import { type Promotion, type ProxyOnSwitch, blocksAt, findPromotion, readProxyOnSwitch } from "./promotions.js";
import type { RpcClient } from "./rpc-client.js";

/** The switch's event for a canary step (contracts/interfaces/IBlueGreenSwitch.sol). */
export const CANARY_STEP_PROMOTED = id("CanaryStepPromoted(address,address,address,address,bytes32,uint16,bytes32,bool,bytes32,uint64,uint64)");

/**
 * The routing of the CanaryRouter the proxy runs for this release's green,
 * when the switch's record of the proxy shows one (its implementation is a
 * router while green is the release's). The first canary step also logs
 * `Promoted` for green, so a found promotion may still be a canary.
 */
export async function canaryOnSwitch(rpc: RpcClient, onSwitch: ProxyOnSwitch, green: string): Promise<CanaryRun | undefined> {
  if (onSwitch.green !== getAddress(green) || onSwitch.implementation === getAddress(green)) return undefined;
  const request = { request: ({ method, params }: { method: string; params?: unknown }) => rpc.request(method, (params as unknown[] | undefined) ?? []) };
  const routing = await readCanaryRouting(request, onSwitch.implementation);
  return routing !== undefined && routing.green === getAddress(green) ? { router: onSwitch.implementation, ...routing } : undefined;
}

export async function findCanaryPromotion(
  rpc: RpcClient,
  iface: Interface,
  switchAddress: string,
  switchBlock: number,
  proxy: string,
  green: string,
): Promise<{ promotion: Promotion; canary: CanaryRun } | undefined> {
  const onSwitch = await readProxyOnSwitch(rpc, iface, switchAddress, proxy);
  if (!onSwitch.adopted || onSwitch.promotedAt === 0) return undefined;
  const request = { request: ({ method, params }: { method: string; params?: unknown }) => rpc.request(method, (params as unknown[] | undefined) ?? []) };
  const router = onSwitch.green === getAddress(green) ? onSwitch.implementation : onSwitch.green;
  const routing = await readCanaryRouting(request, router);
  if (routing === undefined || routing.green !== getAddress(green)) return undefined;
  const canary = { router, ...routing };
  if (onSwitch.green !== getAddress(green)) {
    const { promotion } = await findPromotion(rpc, iface, switchAddress, switchBlock, proxy, router);
    return promotion === undefined ? undefined : { promotion, canary };
  }
  // The switch's own canary step: find its CanaryStepPromoted log among the blocks of the step's timestamp.
  const { first, last } = await blocksAt(rpc, onSwitch.promotedAt, switchBlock);
  const logs = await rpc.request<RpcLog[]>("eth_getLogs", [
    { address: switchAddress, fromBlock: hex(first), toBlock: hex(last), topics: [CANARY_STEP_PROMOTED, zeroPadValue(proxy, 32), null, zeroPadValue(green, 32)] },
  ]);
  const log = logs.reverse().find((l) => l.topics.length >= 4);
  if (log === undefined) return undefined;
  return {
    canary,
    promotion: {
      proxy: getAddress(proxy),
      blue: getAddress("0x" + log.topics[2]!.slice(26)),
      green: getAddress(green),
      block: Number(log.blockNumber),
      time: onSwitch.promotedAt,
      txHash: log.transactionHash,
    },
  };
}
