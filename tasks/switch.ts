import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { renderSwitch, switchJson } from "../src/ui/approval-view.js";
import { requireOption } from "../src/approval/cli-args.js";
import { openApprovalContext } from "../src/approval/hardhat-context.js";
import { type SwitchReleaseOutcome, switchRelease } from "../src/approval/release-switch.js";
import { type SwitchWaveOutcome, switchWave } from "../src/approval/wave-switch.js";
import { runCommand } from "../src/ui/output.js";
import { type SwitchCanaryStepOutcome, switchCanaryStep } from "../src/approval/canary-switch.js";
import { BlueGreenError } from "../src/errors.js";
import { canarySwitchJson, renderCanarySwitch } from "../src/ui/canary-view.js";
import { readWavesStep } from "../src/waves/waves-step.js";
import { renderWaveSwitch, waveSwitchJson } from "../src/ui/waves-view.js";

interface SwitchArgs {
  release: string;
  wave: string;
  step: string;
  signer: string;
  json: boolean;
}

export default async function switchTask(args: SwitchArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  let outcome: SwitchReleaseOutcome | undefined;
  let waveOutcome: SwitchWaveOutcome | undefined;
  let stepOutcome: SwitchCanaryStepOutcome | undefined;
  await runCommand(
    args.json,
    async (out) => {
      const release = requireOption(args.release, "--release <id>");
      if (args.step !== "" && args.wave !== "") {
        throw new BlueGreenError("BG_APPROVAL_CLI_ARGS", "--step is a canary step of one proxy; --wave a wave of a fleet. Pass one or the other.");
      }
      const ctx = await openApprovalContext(hre, args.signer);
      if (args.step !== "") {
        out.info(`Checking and executing canary step ${args.step} of release ${release}...`);
        stepOutcome = await switchCanaryStep(ctx, release, args.step, { executor: await ctx.signer() });
        return canarySwitchJson(stepOutcome);
      }
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
    () => (stepOutcome !== undefined ? renderCanarySwitch(stepOutcome) : waveOutcome !== undefined ? renderWaveSwitch(waveOutcome) : renderSwitch(outcome!)),
  );
}
