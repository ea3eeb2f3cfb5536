import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { nextAfterPropose, proposeJson, renderPropose } from "../src/ui/approval-view.js";
import { parseNonce, requireOption } from "../src/approval/cli-args.js";
import { openApprovalContext } from "../src/approval/hardhat-context.js";
import { type ProposeReleaseOutcome, proposeRelease } from "../src/approval/release-switch.js";
import { runCommand } from "../src/ui/output.js";

interface ProposeArgs {
  release: string;
  nonce: string;
  json: boolean;
}

export default async function propose(args: ProposeArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  let outcome: ProposeReleaseOutcome | undefined;
  await runCommand(
    args.json,
    async () => {
      const release = requireOption(args.release, "--release <id>");
      const nonce = parseNonce(args.nonce);
      const ctx = await openApprovalContext(hre, "");
      outcome = await proposeRelease(ctx, release, {
        // Who proposed, for the record's history; proposing itself needs no account.
        actor: await ctx.signer().then((s) => s.getAddress(), () => "bg:propose"),
        ...(nonce !== undefined ? { nonce } : {}),
      });
      return proposeJson(outcome);
    },
    () => renderPropose(outcome!, nextAfterPropose(outcome!.proposal, `--release ${outcome!.record.id}`, `npx hardhat bg:switch --release ${outcome!.record.id}`)),
  );
}
