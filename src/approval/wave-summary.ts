/**
 * summary.md of a wave's proposal: the promote summary every signer knows
 * (values, hashes, commands to check them), plus what is particular to a
 * wave: which proxies switch together, how the previous wave stands, and,
 * in plain sight, any override of the bake rule the signers are asked to
 * approve with their signature. See docs/signer-guide.md.
 */
import { iso } from "../common/format.js";
import type { WaveDecision } from "../waves/may-promote-wave.js";
import type { WaveOverride } from "../waves/waves-step.js";
import type { Proposal } from "./proposal-schema.js";
import { renderProposalSummary } from "./summary.js";

export interface WaveSummaryInfo {
  release: string;
  wave: string;
  position: { index: number; of: number };
  proxies: string[];
  blue: string;
  green: string;
  previous?: WaveDecision["previous"];
  override?: WaveOverride;
}

/** Renders summary.md for a wave's promoteBatch proposal. Pure. */
export function renderWaveSummary(proposal: Proposal, info: WaveSummaryInfo): string {
  const option = `--release ${info.release} --wave ${info.wave}`;
  const base = renderProposalSummary(proposal, { option });
  // The generic summary's own next steps are for a single promote; the wave's replace them.
  const body = base.split("\n## Next steps\n")[0]!.trimEnd();
  const firstSection = body.indexOf("\n## ");
  const head = firstSection < 0 ? body : body.slice(0, firstSection);
  const rest = firstSection < 0 ? "" : body.slice(firstSection + 1);

  const lines: string[] = [head.trimEnd(), ""];
  if (info.override !== undefined) {
    const o = info.override;
    lines.push("## OVERRIDE: this wave goes before the previous one has baked healthy", "");
    lines.push(
      "The rollout rule is that each wave waits until the previous wave has baked healthy (its bake time passed and the monitor's",
      "analysis of it is Running or Successful on real measurements). **This proposal overrides that rule.** By signing it you",
      "approve the override; it is recorded in the release (history and `steps.waves`) with the reason below.",
      "",
    );
    lines.push(`- Overridden by: \`${o.by}\``, `- Reason: ${o.reason}`, `- At: ${o.at}`, "- What it bypasses:");
    for (const refusal of o.refusals) lines.push(`  - ${refusal}`);
    lines.push("");
  }

  lines.push(`## Wave ${info.wave} (${info.position.index} of ${info.position.of})`, "");
  lines.push(
    `One \`promoteBatch\` transaction moves ${info.proxies.length === 1 ? "this proxy" : `these ${info.proxies.length} proxies`} from blue \`${info.blue}\` to green \`${info.green}\`.`,
    "The switch checks every entry (blue, green's code hash) before upgrading any: all of them switch, or none does.",
    "",
  );
  lines.push("| # | proxy |", "|---|---|");
  info.proxies.forEach((p, i) => lines.push(`| ${i + 1} | \`${p}\` |`));
  lines.push("");
  if (info.previous !== undefined) {
    const p = info.previous;
    lines.push(
      `Previous wave **${p.wave}**: promoted ${iso(p.promotedAt)}, bake until ${iso(p.bakeEndsAt)}, ` +
        `monitor's analysis ${p.analysisPhase ?? "not run"}${p.measuredUntil !== undefined ? ` (measured up to ${iso(p.measuredUntil)})` : ""}.`,
      "Check it yourself: `npx hardhat bg:status --network <net> --release " + info.release + "`.",
      "",
    );
  }
  lines.push(
    "Each tuple of the calldata is (proxy, green, greenCodehash, expectedBlue, initData, evidenceHash); check every one as for a single promote.",
    "",
  );
  lines.push(rest.trimEnd(), "");

  lines.push("## Next steps", "");
  if (proposal.actor.kind === "safe") {
    lines.push(`- Each signer: \`npx hardhat bg:approve --network <net> --release ${info.release} --signer <owner address>\`.`);
    lines.push(`  It signs the wave proposal that waits (this one, wave ${info.wave}); check that it reports the safeTxHash above.`);
    lines.push(`  Or import \`${proposal.builderFile ?? "safe-tx-builder.json"}\` from this folder into the Safe{Wallet} Transaction Builder,`);
    lines.push(`  or sign \`safe-tx-typed-data.json\` with your own tools and add it: \`npx hardhat bg:approve --network <net> --release ${info.release} --signature <0x...>\`.`);
  }
  lines.push(`- Then execute: \`npx hardhat bg:switch --network <net> ${option}\`.`, "");
  return lines.join("\n");
}
