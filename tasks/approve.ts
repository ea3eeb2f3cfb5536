import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { approveJson, renderApprove } from "../src/ui/approval-view.js";
import { openApprovalContext } from "../src/approval/hardhat-context.js";
import type { ApproveOutcome } from "../src/approval/approve.js";
import { approveFlow } from "../src/approval/pipeline.js";
import { approverCallFlow, windowCallCommand } from "../src/approval/release-window.js";
import { approveRelease } from "../src/approval/release-switch.js";
import { approveWave } from "../src/approval/wave-switch.js";
import { approveCanaryStep } from "../src/approval/canary-switch.js";
import { BlueGreenError } from "../src/errors.js";
import { runCommand } from "../src/ui/output.js";

interface ApproveArgs {
  release: string;
  call: string;
  wave: string;
  step: string;
  signer: string;
  signature: string;
  json: boolean;
}

export default async function approve(args: ApproveArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  let outcome: ApproveOutcome | undefined;
  let next = "";
  await runCommand(
    args.json,
    async () => {
      if ((args.release === "") === (args.call === "")) {
        throw new BlueGreenError("BG_APPROVAL_CLI_ARGS", "Pass exactly one of --release <id> (a release's switch) or --call <id> (another approver call).");
      }
      if (args.wave !== "" && args.release === "") {
        throw new BlueGreenError("BG_APPROVAL_CLI_ARGS", "--wave names a wave of a release: pass it with --release <id>, not with --call.");
      }
      if (args.step !== "" && (args.release === "" || args.wave !== "")) {
        throw new BlueGreenError("BG_APPROVAL_CLI_ARGS", "--step names a canary step of a release: pass it with --release <id>, without --wave or --call.");
      }
      const ctx = await openApprovalContext(hre, args.signer);
      const input = args.signature !== "" ? { signature: args.signature } : { signer: await ctx.signer() };
      if (args.step !== "") {
        outcome = await approveCanaryStep(ctx, args.release, args.step, input);
        next = `Enough signatures: run \`npx hardhat bg:switch --release ${args.release} --step ${args.step}\`.`;
      } else if (args.wave !== "") {
        outcome = await approveWave(ctx, args.release, args.wave, input);
        next = `Enough signatures: run \`npx hardhat bg:switch --release ${args.release} --wave ${args.wave}\`.`;
      } else if (args.release !== "") {
        outcome = await approveRelease(ctx, args.release, input);
        next = `Enough signatures: run \`npx hardhat bg:switch --release ${args.release}\`.`;
      } else {
        outcome = await approveFlow(ctx.env, await approverCallFlow(ctx, args.call), input);
        const origin = await windowCallCommand(ctx, args.call);
        next =
          origin !== undefined
            ? `Enough signatures: run \`npx hardhat ${origin}\` again to execute it and record the result (or \`npx hardhat bg:call execute --call ${args.call}\`).`
            : `Enough signatures: run \`npx hardhat bg:call execute --call ${args.call}\` (then run again the command that proposed it, if one did, e.g. bg:adopt, so it checks the result).`;
      }
      return approveJson(outcome);
    },
    () => renderApprove(outcome!, next),
  );
}
