import path from "node:path";

import type { ConfigHooks } from "hardhat/types/hooks";
import type { HardhatConfig } from "hardhat/types/config";

import { configErrors } from "../closest-key.js";
import { blueGreenUserConfigSchema, resolveBlueGreenConfig } from "../config.js";
import { validateGatesNetworks } from "../gates/user-config.js";

export default async (): Promise<Partial<ConfigHooks>> => ({
  async validateUserConfig(userConfig) {
    // Unknown keys get one error each, naming the closest known key.
    const errors = userConfig.blueGreen === undefined ? [] : configErrors(blueGreenUserConfigSchema, userConfig.blueGreen, ["blueGreen"]);
    // What the schema cannot see alone: the testnet gate must name a configured network.
    return [...errors, ...validateGatesNetworks(userConfig.blueGreen?.gates, Object.keys(userConfig.networks ?? {}))];
  },

  async resolveUserConfig(userConfig, resolveConfigurationVariable, next) {
    const resolved = await next(userConfig, resolveConfigurationVariable);
    requestStorageLayout(resolved);
    return {
      ...resolved,
      blueGreen: resolveBlueGreenConfig(
        userConfig.blueGreen,
        resolved.paths,
        (root, p) => path.resolve(root, p),
        userConfig.networks as Record<string, unknown> | undefined,
      ),
    };
  },
});

/**
 * OpenZeppelin's storage-layout validation needs solc's `storageLayout`
 * output, which Hardhat does not request by default. Ask for it in every
 * compiler of every build profile, as @openzeppelin/hardhat-upgrades does.
 */
function requestStorageLayout(config: HardhatConfig): void {
  for (const profile of Object.values(config.solidity.profiles)) {
    const compilers = [...profile.compilers, ...Object.values(profile.overrides)];
    for (const compiler of compilers) {
      const settings = (compiler.settings ??= {});
      const selection = (settings.outputSelection ??= {});
      const all = (selection["*"] ??= {});
      const contracts: string[] = (all["*"] ??= []);
      if (!contracts.includes("storageLayout")) contracts.push("storageLayout");
    }
  }
}
