/**
 * A CanaryRouter's routing read from the chain: its code alone, since the
 * router has no storage and no getters (a getter would shadow the same
 * selector of blue and green behind the proxy). The code is recognised and
 * written by `canary-router.ts` (the compiled router, immutables in place);
 * this adds the eth_getCode read the monitor needs.
 */
import type { Eip1193Provider } from "../chain/eip1193.js";
import { quantity } from "../common/format.js";
import type { CanaryRouting } from "./canary-cohort.js";
import { canaryRouterRuntimeCode, identifyCanaryRouter } from "./canary-router.js";

export { CANARY_ROUTER_CONTRACT } from "./canary-router.js";

/** The routing of the CanaryRouter whose runtime code is `code`; undefined when the code is not a CanaryRouter. */
export async function canaryRoutingOfCode(code: string): Promise<CanaryRouting | undefined> {
  return identifyCanaryRouter(code);
}

/** The routing of the CanaryRouter at `address` (at `block`, default latest); undefined when it is not one. */
export async function readCanaryRouting(provider: Eip1193Provider, address: string, block: number | "latest" = "latest"): Promise<CanaryRouting | undefined> {
  const code = (await provider.request({ method: "eth_getCode", params: [address, typeof block === "number" ? quantity(block) : block] })) as string;
  return code === "0x" ? undefined : canaryRoutingOfCode(code);
}

/**
 * The runtime code a CanaryRouter deployed with `routing` has: byte for byte
 * what its constructor leaves (so a fork can hold a router without a
 * deployment transaction).
 */
export async function canaryRouterCode(routing: CanaryRouting): Promise<string> {
  return canaryRouterRuntimeCode(routing);
}
