import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { renderSwitch, switchJson } from "../src/ui/approval-view.js";
import { requireOption } from "../src/approval/cli-args.js";
import { openApprovalContext } from "../src/approval/hardhat-context.js";
import { type SwitchReleaseOutcome, switchRelease } from "../src/approval/release-switch.js";
import { type SwitchWaveOutcome, switchWave } from "../src/approval/wave-switch.js";
import { runCommand } from "../src/ui/output.js";
import { readWavesStep } from "../src/waves/waves-step.js";
import { renderWaveSwitch, waveSwitchJson } from "../src/ui/waves-view.js";

interface SwitchArgs {
  release: string;
  wave: string;
  signer: string;
  json: boolean;
}

export default async function switchTask(args: SwitchArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  let outcome: SwitchReleaseOutcome | undefined;
  let waveOutcome: SwitchWaveOutcome | undefined;
  await runCommand(
    args.json,
    async (out) => {
      const release = requireOption(args.release, "--release <id>");
      const ctx = await openApprovalContext(hre, args.signer);
      const record = await ctx.store.get(ctx.env.chainId, release);
      // A release planned in waves switches one wave at a time; without --wave, the wave whose proposal waits.
      if (args.wave !== "" || readWavesStep(record) !== undefined) {
        out.info(`Checking and executing the switch of ${args.wave !== "" ? `wave ${args.wave}` : "the waiting wave"} of release ${release}...`);
        waveOutcome = await switchWave(ctx, release, args.wave !== "" ? args.wave : undefined, { executor: await ctx.signer() });
        return waveSwitchJson(waveOutcome);
      }
      out.info(`Checking and executing the switch of release ${release}...`);
      outcome = await switchRelease(ctx, release, { executor: await ctx.signer() });
      return switchJson(outcome);
    },
    () => (waveOutcome !== undefined ? renderWaveSwitch(waveOutcome) : renderSwitch(outcome!)),
  );
}
