/**
 * The rollbackPath gate: the rollback-path proof (src/switch/rollback-path.ts)
 * run again at `bg:gates` time, on a fork of the release's chain as it is now.
 * Pass: the switch, on the fork, switched green in, rolled back to exactly
 * blue and switched green in again. Fail: one of those upgrades reverted or
 * left another implementation, with the cause. Inconclusive: the proof could
 * not run (no fork, no switch, the proxy not adopted): it proves nothing
 * either way, so a required gate blocks.
 */
import type { InterfaceAbi } from "ethers";

import { errorMessage } from "../errors.js";
import type { ReleaseRecord } from "../release/record.js";
import { proveRollbackPath, readRollbackPathTarget, type RollbackPathFork } from "../switch/rollback-path.js";
import type { SafetyGateConfig } from "./config.js";
import { gateResult, type GateResult } from "./gate-result.js";

const NAME = "rollbackPath";

export interface RollbackPathGateInput {
  record: ReleaseRecord;
  config: SafetyGateConfig;
  /** Opens a fork of the release's chain at its head; undefined when none can be made (then: inconclusive, with `noForkReason`). */
  openFork?: () => Promise<RollbackPathFork>;
  noForkReason?: string;
  /** The switch of the release's chain. */
  switchAddress?: string;
  /** ABI to name reverts with (green's, blue's): optional, OpenZeppelin's usual errors are always known. */
  errors?: InterfaceAbi;
}

export async function evaluateRollbackPathGate(input: RollbackPathGateInput): Promise<GateResult> {
  const { record, config } = input;
  const base = {
    proxy: record.proxy.toLowerCase(),
    blue: record.blue.address.toLowerCase(),
    green: { address: record.green.address.toLowerCase(), codehash: record.green.codehash.toLowerCase() },
  };
  const inconclusive = (code: `BG_${string}`, detail: string, fix: string, evidence: Record<string, unknown> = {}) =>
    gateResult(NAME, "inconclusive", config.required, `[${code}] ${detail}`, { fix, code, evidence: { ...base, check: code, ...evidence } });

  if (input.switchAddress === undefined) {
    return inconclusive(
      "BG_ROLLBACK_PATH_NOT_ADOPTED",
      `no switch is recorded for chain ${record.chainId}: the rollback path runs through the switch`,
      "Deploy the switch (bg:init) and adopt the proxy (bg:adopt), then run bg:gates again.",
    );
  }
  if (input.openFork === undefined) {
    return inconclusive(
      "BG_ROLLBACK_PATH_NO_FORK",
      `no fork of the release's chain could be opened: ${input.noForkReason ?? "no way to fork was given"}`,
      "Run bg:gates with --network set to the release's network, reachable over HTTP (the proof forks it in process), and run it again.",
    );
  }
  let fork: RollbackPathFork;
  try {
    fork = await input.openFork();
  } catch (e) {
    return inconclusive("BG_ROLLBACK_PATH_NO_FORK", `could not fork the release's chain: ${errorMessage(e)}`, "Check that the network's RPC endpoint is reachable and serves historical state, then run bg:gates again.");
  }
  try {
    const target = await readRollbackPathTarget(fork.provider, input.switchAddress, record.proxy);
    if (target === undefined) {
      return inconclusive(
        "BG_ROLLBACK_PATH_NOT_ADOPTED",
        `the switch ${input.switchAddress} has not adopted ${record.proxy}: the proof needs the switch to hold its upgrade authority`,
        "Adopt the proxy (bg:adopt), then run bg:gates again.",
        { switch: input.switchAddress.toLowerCase() },
      );
    }
    const result = await proveRollbackPath({
      provider: fork.provider,
      proxy: record.proxy,
      kind: target.kind,
      switchAddress: input.switchAddress,
      proxyAdmin: target.proxyAdmin,
      blue: record.blue.address,
      green: record.green.address,
      ...(input.errors !== undefined ? { errors: input.errors } : {}),
    });
    // The fork's block number changes run to run: it stays out of the hashed evidence.
    const evidence = { ...base, switch: input.switchAddress.toLowerCase(), kind: result.kind };
    if (result.ok) {
      const skipped = result.steps.some((s) => s.outcome === "skipped");
      return gateResult(
        NAME,
        "pass",
        config.required,
        `on a fork at block ${result.blockNumber}, the switch ${skipped ? "(green already runs) " : "switched green in, then "}rolled back to blue and switched green in again (${result.kind})`,
        { evidence: { ...evidence, steps: result.steps.map((s) => s.step) } },
      );
    }
    const code = result.failure === "reverted" ? "BG_ROLLBACK_PATH_BLOCKED" : "BG_ROLLBACK_PATH_WRONG_IMPLEMENTATION";
    return gateResult(NAME, "fail", config.required, `[${code}] ${result.step}: ${result.cause}`, {
      code,
      fix:
        result.kind === "uups"
          ? "Fix green's _authorizeUpgrade (and upgradeToAndCall) so the switch, as owner or upgrader role holder, may still upgrade the proxy; stage the fixed green and run bg:gates again. Never propose this green."
          : "Check that the switch still holds the upgrade authority (bg:status) and that blue and green are contracts, then run bg:gates again.",
      evidence: {
        ...evidence,
        check: code,
        step: result.step,
        ...(result.revert !== undefined ? { revert: result.revert.signature } : {}),
        ...(result.actual !== undefined ? { actual: result.actual.toLowerCase() } : {}),
      },
    });
  } finally {
    await fork.close().catch(() => {});
  }
}
