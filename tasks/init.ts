import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { BlueGreenError } from "../src/errors.js";
import { ReleaseStore } from "../src/release/store.js";
import { firstSigner } from "../src/stage/signers.js";
import { type SwitchConfig, resolveSwitchConfig } from "../src/switch/config.js";
import { initSwitch, parseAddressList, parseDurationOption } from "../src/switch/deploy-switch.js";
import { type InitJson, initJson, renderInit } from "../src/switch/switch-view.js";
import { runCommand } from "../src/ui/output.js";

interface InitArgs {
  approver: string;
  guardians: string;
  rollbackDelay: string;
  rollbackWindow: string;
  json: boolean;
}

export default async function init(args: InitArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runCommand<InitJson>(
    args.json,
    async (out) => {
      if (args.approver === "") {
        throw new BlueGreenError("Missing --approver. Pass the address that approves releases (usually a Safe): --approver 0x…");
      }
      // The `blueGreen.switch` section may not be wired into the config yet; defaults apply then.
      const defaults = resolveSwitchConfig((hre.config.blueGreen as { switch?: Partial<SwitchConfig> }).switch);
      const connection = await hre.network.getOrCreate();
      const chainId = Number((await connection.ethers.provider.getNetwork()).chainId);
      const result = await initSwitch({
        store: new ReleaseStore(hre.config.blueGreen.recordsDir),
        chainId,
        networkName: connection.networkName,
        provider: connection.ethers.provider,
        signer: await firstSigner(connection.ethers, connection.networkName),
        parameters: {
          approver: args.approver,
          guardians: parseAddressList(args.guardians),
          rollbackDelay: parseDurationOption(args.rollbackDelay, "--rollback-delay", defaults.rollbackDelay),
          rollbackWindow: parseDurationOption(args.rollbackWindow, "--rollback-window", defaults.rollbackWindow),
        },
        log: (line) => out.info(line),
      });
      return initJson(result);
    },
    renderInit,
  );
}
