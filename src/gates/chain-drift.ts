/**
 * bg:gates records evidence only about the release bg:status would show
 * clean: when the chain differs from the record (green's code is not the
 * staged code, the proxy no longer runs what its state says, blue's code or
 * the admin changed), an evidence hash would vouch for code that is not on
 * chain. The comparison is bg:status's own (status/reconcile.ts).
 */
import type { Eip1193Provider } from "../chain/eip1193.js";
import { BlueGreenError } from "../errors.js";
import type { ReleaseRecord } from "../release/record.js";
import { findDrift, readChainView, type Drift } from "../status/reconcile.js";
import { readWavesStep } from "../waves/waves-step.js";
import type { GatesConfig } from "./config.js";

/**
 * The drift bg:status reports for this record that bars recording evidence.
 * Left out: the proxy's implementation of a release planned in waves (each
 * proxy goes by its own wave there, and bg:status judges them one by one
 * from the switch), and, when the upgradeSafety gate is required, the
 * proxy's implementation too: that gate re-reads it from the chain and fails
 * naming what the proxy runs, so the run cannot pass.
 */
export async function chainDriftBeforeGates(provider: Eip1193Provider, record: ReleaseRecord, config: Pick<GatesConfig, "upgradeSafety">): Promise<Drift[]> {
  const drift = findDrift(record, await readChainView(provider, record));
  const implementationJudgedElsewhere = readWavesStep(record) !== undefined || config.upgradeSafety?.required === true;
  return implementationJudgedElsewhere ? drift.filter((d) => d.field !== "implementation") : drift;
}

/** Throws BG_GATES_CHAIN_DRIFT, naming each difference and the fix, when `drift` is not empty. */
export function assertNoChainDrift(record: ReleaseRecord, drift: readonly Drift[], options: { afterRun?: boolean } = {}): void {
  if (drift.length === 0) return;
  const greenMoved = drift.some((d) => d.field === "green.codehash");
  throw new BlueGreenError(
    "BG_GATES_CHAIN_DRIFT",
    `Release "${record.id}" does not match the chain, as bg:status shows, so bg:gates ${options.afterRun === true ? "recorded nothing (the chain changed while the gates ran)" : "evaluated and recorded nothing"}. ` +
      drift.map((d) => `${d.field}: ${d.message} Recorded ${d.recorded}, on chain ${d.onChain}.`).join(" "),
    {
      hint: greenMoved
        ? `Do not propose this green: stage it again (npx hardhat bg:stage --network <net> --proxy ${record.proxy} --contract ${record.green.contract}), then run bg:gates on the staged release.`
        : "Find out who changed the proxy (npx hardhat bg:status shows the same drift); put it back, or stage a new release from what it runs now, then run bg:gates.",
    },
  );
}
