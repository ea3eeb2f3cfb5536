/**
 * A canary step found on the switch: the switch's latest release of the
 * proxy is a CanaryRouter (read from its code) that routes to this
 * release's green. Its promotion opens the analysis run, as green's own
 * does, and the run carries the router's routing for the canary metrics.
 */
import { type Interface, getAddress } from "ethers";

import { readCanaryRouting } from "../switch/canary-router-code.js";
import type { CanaryRun } from "./canary-measurement.js";
import { type Promotion, findPromotion, readProxyOnSwitch } from "./promotions.js";
import type { RpcClient } from "./rpc-client.js";

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
  const routing = await readCanaryRouting({ request: ({ method, params }) => rpc.request(method, (params as unknown[] | undefined) ?? []) }, onSwitch.green);
  if (routing === undefined || routing.green !== getAddress(green)) return undefined;
  const { promotion } = await findPromotion(rpc, iface, switchAddress, switchBlock, proxy, onSwitch.green);
  return promotion === undefined ? undefined : { promotion, canary: { router: onSwitch.green, ...routing } };
}
