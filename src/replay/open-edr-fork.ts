/**
 * Opens the replay's forks as Hardhat 3 in-process EDR networks: a new
 * connection to an `edr-simulated` network (the built-in "default" one) with
 * a config override that forks the source at a pinned block.
 *
 * The override is what makes blue faithful:
 * - the source's chain id (EIP-155 and EIP-712 domains see the real one);
 * - no funded dev accounts (they would overwrite real balances on a fork);
 * - blocks may share a timestamp (transactions of one original block are
 *   mined one per block on the fork, with that block's timestamp);
 * - failed transactions are mined, not thrown (their receipts are compared);
 * - no EIP-7825 gas cap: the source already enforced its own rules.
 */
import type { NetworkManager } from "hardhat/types/network";

import type { OpenFork } from "./replay-release.js";

export interface EdrForkOptions {
  /** An `edr-simulated` network of the config to base the forks on. Default "default". */
  networkName?: string;
  /** Hardfork of the fork's new blocks (for chains EDR does not know, like a local 31337). */
  hardfork?: string;
}

export function edrForkOpener(network: NetworkManager, options: EdrForkOptions = {}): OpenFork {
  return async ({ url, blockNumber, chainId }) => {
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
        minGasPrice: 0n,
        mining: { auto: true, interval: 0 },
        ...(options.hardfork !== undefined ? { hardfork: options.hardfork } : {}),
        forking: { url, blockNumber, enabled: true },
      },
    });
    return { provider: connection.provider, close: () => connection.close() };
  };
}
