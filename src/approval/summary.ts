/**
 * summary.md: what a signer reads before signing. It states the values
 * signed, the hashes a hardware wallet shows, and for each of them a command
 * the signer can run against their own node, so that nothing has to be
 * taken on the proposer's word. See docs/signer-guide.md.
 */
import { FunctionFragment } from "ethers";

import { factCheckCommand, showFactValue } from "./facts.js";
import type { ProposalFolder } from "./proposal-folder.js";
import type { Proposal } from "./proposal-schema.js";

/** Renders the Markdown summary of a proposal. Pure: the same proposal gives the same text. */
export function renderProposalSummary(proposal: Proposal, folder: Pick<ProposalFolder, "option">): string {
  const fragment = FunctionFragment.from(proposal.call.function);
  const lines: string[] = [];
  lines.push(`# ${proposal.title}`, "");
  lines.push(`Chain ${proposal.chainId}. Proposed ${proposal.createdAt} at block ${proposal.blockNumber}.`, "");

  if (proposal.details.length > 0) {
    lines.push("## What is being approved", "", "| | |", "|---|---|");
    for (const row of proposal.details) lines.push(`| ${row.label} | \`${row.value}\` |`);
    lines.push("");
  }

  lines.push("## The call", "");
  lines.push(`- Contract: \`${proposal.call.to}\``);
  lines.push(`- Function: \`${proposal.call.function}\``);
  fragment.inputs.forEach((input, i) => lines.push(`  - ${input.name || `arg${i}`} (${input.type}): \`${proposal.call.args[i] ?? ""}\``));
  lines.push(`- Value: 0`, `- Calldata: \`${proposal.call.data}\``, "");

  if (proposal.timelock !== undefined) {
    const op = proposal.timelock;
    lines.push("## Through the TimelockController", "");
    lines.push(`The switch's approver is the timelock \`${op.address}\`. The ${proposal.actor.kind === "safe" ? "Safe transaction below" : "proposer's transaction"} schedules the call above on it; once the delay has passed, anyone holding its EXECUTOR_ROLE executes it.`, "");
    lines.push(`- Target: \`${op.target}\` (the call above), value 0`);
    lines.push(`- Predecessor: \`${op.predecessor}\``, `- Salt: \`${op.salt}\``, `- Delay: ${op.delay} s`);
    lines.push(`- Operation id: **\`${op.operationId}\`**`, "");
  }

  if (proposal.actor.kind === "safe" && proposal.safe !== undefined) {
    const { tx, safeTxHash, domainHash, messageHash } = proposal.safe;
    const actor = proposal.actor;
    lines.push("## Safe transaction", "");
    lines.push(`- Safe: \`${actor.address}\` (v${actor.version}), ${actor.threshold} of ${actor.owners.length} owners must sign`);
    lines.push(`- Owners: ${actor.owners.map((o) => `\`${o}\``).join(", ")}`);
    lines.push(`- Nonce: **${tx.nonce}**`);
    lines.push(`- safeTxHash: **\`${safeTxHash}\`**`);
    lines.push(`- EIP-712 domain hash: \`${domainHash}\``);
    lines.push(`- EIP-712 message hash: \`${messageHash}\``);
    lines.push("", "A hardware wallet shows the domain hash and the message hash; the Safe web app shows the safeTxHash. All three must match the values above.", "");
    lines.push("| field | value |", "|---|---|");
    lines.push(`| to | \`${tx.to}\` |`, `| value | ${tx.value} |`, `| data | \`${tx.data}\` |`);
    lines.push(`| operation | ${tx.operation} (${tx.operation === 0 ? "CALL" : "DELEGATECALL"}) |`);
    lines.push(`| safeTxGas | ${tx.safeTxGas} |`, `| baseGas | ${tx.baseGas} |`, `| gasPrice | ${tx.gasPrice} |`);
    lines.push(`| gasToken | \`${tx.gasToken}\` |`, `| refundReceiver | \`${tx.refundReceiver}\` |`, `| nonce | ${tx.nonce} |`, "");
  } else {
    lines.push("## Approver", "");
    lines.push(`The approver \`${proposal.actor.address}\` is a plain account (development networks): it sends the call itself, with no signatures.`, "");
  }

  if (proposal.facts.length > 0) {
    lines.push("## Facts this rests on", "");
    lines.push("Each is read again before every signature and before execution; if one changed, nothing is signed or sent.", "");
    lines.push("| fact | value now | check it yourself |", "|---|---|---|");
    for (const fact of proposal.facts) {
      lines.push(`| ${fact.label} | \`${showFactValue(fact, fact.expected)}\` | \`${factCheckCommand(fact)}\` |`);
    }
    lines.push("");
  }

  lines.push("## Verify it yourself", "");
  lines.push("Run these against your own node (`--rpc-url`), not the proposer's. See docs/signer-guide.md.", "", "```sh");
  lines.push(`# the calldata decodes to the arguments above`);
  lines.push(`cast calldata-decode "${fragment.format("sighash")}" ${proposal.call.data}`);
  if (proposal.timelock !== undefined) {
    const op = proposal.timelock;
    lines.push(`# the timelock computes the operation id above, and its delay is the one scheduled`);
    lines.push(`cast call ${op.address} "hashOperation(address,uint256,bytes,bytes32,bytes32)(bytes32)" ${op.target} 0 ${op.data} ${op.predecessor} ${op.salt}`);
    lines.push(`cast call ${op.address} "getMinDelay()(uint256)"`);
  }
  if (proposal.actor.kind === "safe" && proposal.safe !== undefined) {
    const { tx } = proposal.safe;
    lines.push(`# the Safe itself computes the safeTxHash above`);
    lines.push(
      `cast call ${proposal.actor.address} "getTransactionHash(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,uint256)(bytes32)" ` +
        `${tx.to} ${tx.value} ${tx.data} ${tx.operation} ${tx.safeTxGas} ${tx.baseGas} ${tx.gasPrice} ${tx.gasToken} ${tx.refundReceiver} ${tx.nonce}`,
    );
    lines.push(`# the domain hash is the Safe's own; the nonce is the Safe's next one`);
    lines.push(`cast call ${proposal.actor.address} "domainSeparator()(bytes32)"`);
    lines.push(`cast call ${proposal.actor.address} "nonce()(uint256)"`);
  }
  lines.push("```", "");

  lines.push("## Next steps", "");
  if (proposal.actor.kind === "safe") {
    lines.push(`- Each signer: \`npx hardhat bg:approve --network <net> ${folder.option} --signer <owner address>\`,`);
    lines.push(`  or import \`${proposal.builderFile ?? "safe-tx-builder.json"}\` into the Safe{Wallet} Transaction Builder and check that the safeTxHash matches,`);
    lines.push(`  or sign \`safe-tx-typed-data.json\` with your own tools (e.g. \`cast wallet sign --ledger --data --from-file safe-tx-typed-data.json\`)`);
    lines.push(`  and add it: \`npx hardhat bg:approve --network <net> ${folder.option} --signature <0x...>\`.`);
  }
  lines.push(`- Then execute: ${proposal.call.functionName === "promote" ? `\`npx hardhat bg:switch --network <net> ${folder.option}\`` : `\`npx hardhat bg:call execute --network <net> ${folder.option}\``}.`);
  lines.push("");
  return lines.join("\n");
}
