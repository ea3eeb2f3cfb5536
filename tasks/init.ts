import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { Contract } from "ethers";

import { timelockVetoWarning } from "../src/approval/timelock.js";
import { BlueGreenError } from "../src/errors.js";
import { ReleaseStore } from "../src/release/store.js";
import { firstSigner } from "../src/stage/signers.js";
import { checkGuardiansChoice, initSwitch, parseAddressList, parseDurationOption } from "../src/switch/deploy-switch.js";
import { type InitJson, initJson, renderInit } from "../src/ui/switch-view.js";
import { runCommand } from "../src/ui/output.js";
import { openConnection } from "../src/chain/hardhat-connection.js";

interface InitArgs {
  approver: string;
  guardians: string;
  noGuardians: boolean;
  rollbackDelay: string;
  rollbackWindow: string;
  json: boolean;
}

export default async function init(args: InitArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  await runCommand<InitJson>(
    args.json,
    async (out) => {
      if (args.approver === "") {
        throw new BlueGreenError("BG_SWITCH_OPTIONS", "Missing --approver. Pass the address that approves releases (usually a Safe): --approver 0x…");
      }
      const guardians = parseAddressList(args.guardians);
      const noGuardiansWarning = checkGuardiansChoice(guardians, args.noGuardians);
      if (noGuardiansWarning !== undefined) out.warn(noGuardiansWarning);
      const defaults = hre.config.blueGreen.switch;
      const connection = await openConnection(hre);
      const chainId = Number((await connection.ethers.provider.getNetwork()).chainId);
      const result = await initSwitch({
        store: new ReleaseStore(hre.config.blueGreen.recordsDir),
        chainId,
        networkName: connection.networkName,
        provider: connection.ethers.provider,
        signer: await firstSigner(connection.ethers, connection.networkName),
        parameters: {
          approver: args.approver,
          guardians,
          rollbackDelay: parseDurationOption(args.rollbackDelay, "--rollback-delay", defaults.rollbackDelay),
          rollbackWindow: parseDurationOption(args.rollbackWindow, "--rollback-window", defaults.rollbackWindow),
        },
        log: (line) => out.info(line),
      });
      // A timelock approver slower than the rollback delay cannot veto in time: say so before a release depends on it.
      const cancellers = (await new Contract(result.file.address, ["function cancellers() view returns (address[])"], connection.ethers.provider)
        .getFunction("cancellers")()
        .catch(() => [])) as string[];
      const warning = await timelockVetoWarning(connection.ethers.provider, result.file.approver, result.file.rollbackDelay, cancellers);
      if (warning !== undefined) out.warn(warning);
      const warnings = [noGuardiansWarning, warning].filter((w): w is string => w !== undefined);
      return { ...initJson(result), ...(warnings.length > 0 ? { warnings } : {}) };
    },
    (result) => renderInit(result, hre.globalOptions.network),
  );
}
