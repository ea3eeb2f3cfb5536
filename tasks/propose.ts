import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { nextAfterPropose, proposeJson, renderPropose } from "../src/ui/approval-view.js";
import { parseNonce, requireOption } from "../src/approval/cli-args.js";
import { openApprovalContext } from "../src/approval/hardhat-context.js";
import { type ProposeReleaseOutcome, proposeRelease } from "../src/approval/release-switch.js";
import { type ProposeWaveOutcome, proposeWave } from "../src/approval/wave-switch.js";
import { type ProposeCanaryStepOutcome, proposeCanaryStep } from "../src/approval/canary-switch.js";
import { canaryProposeJson, renderCanaryPropose } from "../src/ui/canary-view.js";
import { BlueGreenError } from "../src/errors.js";
import { runCommand } from "../src/ui/output.js";
import { renderWavePropose, waveProposeJson } from "../src/ui/waves-view.js";

interface ProposeArgs {
  release: string;
  nonce: string;
  wave: string;
  step: string;
  overrideBake: string;
  json: boolean;
}

export default async function propose(args: ProposeArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  let outcome: ProposeReleaseOutcome | undefined;
  let waveOutcome: ProposeWaveOutcome | undefined;
  let stepOutcome: ProposeCanaryStepOutcome | undefined;
  await runCommand(
    args.json,
    async () => {
      const release = requireOption(args.release, "--release <id>");
      const nonce = parseNonce(args.nonce);
      if (args.overrideBake !== "" && args.wave === "") {
        throw new BlueGreenError("BG_APPROVAL_CLI_ARGS", '--override-bake applies to a wave: pass --wave <name> with it (bg:waves shows the waves).');
      }
      if (args.step !== "" && (args.wave !== "" || args.overrideBake !== "")) {
        throw new BlueGreenError("BG_APPROVAL_CLI_ARGS", "--step is a canary step of one proxy; --wave and --override-bake belong to waves. Pass one or the other.");
      }
      const ctx = await openApprovalContext(hre, "");
      // Who proposed, for the record's history; proposing itself needs no account.
      const proposer = await ctx.signer().then((s) => s, () => undefined);
      const actor = proposer !== undefined ? await proposer.getAddress() : "bg:propose";
      if (args.step !== "") {
        stepOutcome = await proposeCanaryStep(ctx, release, {
          step: args.step,
          actor,
          config: hre.config.blueGreen.canary,
          ...(nonce !== undefined ? { nonce } : {}),
          ...(proposer !== undefined ? { proposer } : {}),
        });
        return canaryProposeJson(stepOutcome);
      }
      if (args.wave !== "") {
        waveOutcome = await proposeWave(ctx, release, {
          wave: args.wave,
          actor,
          ...(nonce !== undefined ? { nonce } : {}),
          ...(args.overrideBake !== "" ? { override: { reason: args.overrideBake } } : {}),
        });
        return waveProposeJson(waveOutcome);
      }
      // An owner proposing also signs, so the Safe Transaction Service (when configured) accepts the proposal.
      outcome = await proposeRelease(ctx, release, { actor, ...(nonce !== undefined ? { nonce } : {}), ...(proposer !== undefined ? { proposer } : {}) });
      return proposeJson(outcome);
    },
    () =>
      stepOutcome !== undefined
        ? renderCanaryPropose(stepOutcome)
        : waveOutcome !== undefined
        ? renderWavePropose(waveOutcome)
        : renderPropose(outcome!, nextAfterPropose(outcome!.proposal, `--release ${outcome!.record.id}`, `npx hardhat bg:switch --release ${outcome!.record.id}`)),
  );
}
