/**
 * Opens the replay's forks as Hardhat 3 in-process EDR networks: a new
 * connection to an `edr-simulated` network (the built-in "default" one) with
 * a config override that forks the source at a pinned block.
 *
 * The override is what makes blue faithful:
 * - the source's chain id (EIP-155 and EIP-712 domains see the real one);
 * - no funded dev accounts (they would overwrite real balances on a fork);
 * - no automine, and the pending block in first-in first-out order: each
 *   original block's transactions are queued in their original order and
 *   mined as one block;
 * - blocks may share a timestamp (skipped blocks keep the last one);
 * - failed transactions are mined, not thrown (their receipts are compared);
 * - no EIP-7825 gas cap: the source already enforced its own rules.
 */
import { rm } from "node:fs/promises";
import path from "node:path";

import type { NetworkManager } from "hardhat/types/network";

import type { OpenFork } from "./replay-release.js";

export interface EdrForkOptions {
  /**
   * Hardhat's fork cache folder (`<paths.cache>/edr-fork-cache`). EDR keys
   * its on-disk cache by the fork URL's host and port, and the forks read the
   * source through a front on a port of the moment: what EDR caches there can
   * never be reused, and a later run that happens to get the same port would
   * read another chain's answers. So each fork starts and ends with that
   * folder removed; warm runs are served by the replay's own source cache.
   */
  edrForkCache: string;
  /** An `edr-simulated` network of the config to base the forks on. Default "default". */
  networkName?: string;
  /** Hardfork of the fork's new blocks (for chains EDR does not know, like a local 31337). */
  hardfork?: string;
}

export function edrForkOpener(network: NetworkManager, options: EdrForkOptions): OpenFork {
  return async ({ url, blockNumber, chainId }) => {
    const { hostname, port } = new URL(url);
    const edrCache = path.join(options.edrForkCache, "rpc_cache", "v2", `${hostname}_${port}`);
    await rm(edrCache, { recursive: true, force: true });
    const connection = await network.create({
      network: options.networkName ?? "default",
      override: {
        chainId,
        accounts: [],
        allowBlocksWithSameTimestamp: true,
        throwOnTransactionFailures: false,
        throwOnCallFailures: false,
        transactionGasCap: false,
        loggingEnabled: false,
        mining: { auto: false, interval: 0, mempool: { order: "fifo" } },
        ...(options.hardfork !== undefined ? { hardfork: options.hardfork } : {}),
        forking: { url, blockNumber, enabled: true },
      },
    });
    return {
      provider: connection.provider,
      close: async () => {
        await connection.close();
        await rm(edrCache, { recursive: true, force: true });
      },
    };
  };
}
