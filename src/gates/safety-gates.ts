/**
 * The safety gates. Upgrade safety re-runs OpenZeppelin's validation of
 * blue → green at `bg:gates` time, against the chain as it is now: what
 * `bg:stage` found is only a precondition, since the proxy, green's code or
 * the validation options may have changed since. Rollback safety reads the
 * reverse check green→blue that stage recorded (can the rollback window
 * really return to blue?).
 */
import { getAddress, keccak256 } from "ethers";

import { short } from "../common/format.js";
import { errorMessage, type ErrorCode } from "../errors.js";
import { recordKind, type ReleaseRecord } from "../release/record.js";
import { compilesTo, loadContractBuild } from "../stage/contract-build.js";
import { findBlue } from "../stage/find-blue.js";
import { getCode, readTargetImplementation } from "../stage/read-proxy.js";
import { compareLayouts, validateImplementation } from "../stage/validate-upgrade.js";
import { liveCanaryRouter } from "../waves/canary-step.js";
import type { SafetyGateConfig } from "./config.js";
import { gateResult, type GateResult } from "./gate-result.js";
import type { ProjectChain } from "./project-chain.js";

/**
 * Upgrade safety, live: blue is what the proxy runs now, green is the code
 * at green's address (which must still hash to the recorded codehash), and
 * the project's build of green must compile to that code, so the validation
 * is about the bytecode that will be switched in.
 */
export async function evaluateLiveUpgradeSafetyGate(record: ReleaseRecord, config: SafetyGateConfig, chain: ProjectChain | undefined): Promise<GateResult> {
  const name = "upgradeSafety";
  const staged = evaluateUpgradeSafetyGate(record, config);
  if (staged.status !== "pass") return staged;
  if (chain === undefined) {
    return gateResult(name, "inconclusive", config.required, "cannot re-validate: no connection to the release's chain and no project build were given", {
      fix: "Run `npx hardhat bg:gates --network <the release's network> --release <id>` in the project that staged the release.",
    });
  }
  const { provider } = chain;
  const fail = (code: ErrorCode, detail: string, fix: string, evidence: Record<string, unknown> = {}) =>
    gateResult(name, "fail", config.required, `[${code}] ${detail}`, { fix, code, evidence: { check: code, ...evidence } });

  // What the target runs, read the one way for its kind: the ERC-1967 slot of a transparent or UUPS
  // proxy, the beacon's implementation() for a beacon (which has no implementation slot).
  const kind = recordKind(record);
  const implementation = (await readTargetImplementation(provider, kind, record.proxy)).toLowerCase();
  const blue = record.blue.address.toLowerCase();
  // After the switch the proxy runs green (or, during a canary step, the step's router); a recheck then validates against the blue it replaced.
  const router = liveCanaryRouter(record)?.toLowerCase();
  const switched = implementation === record.green.address.toLowerCase() || (router !== undefined && implementation === router);
  const current = switched ? blue : implementation;
  const target = kind === "beacon" ? `beacon ${record.proxy} now points at` : `proxy ${record.proxy} now runs`;
  if (current !== blue) {
    return fail(
      "BG_BLUE_MOVED",
      `${target} ${current}, not the staged blue ${blue}: the release was validated against code the ${kind === "beacon" ? "beacon's proxies" : "proxy"} no longer run${kind === "beacon" ? "" : "s"}`,
      `The ${kind === "beacon" ? "beacon" : "proxy"} was upgraded outside this release. Stage a new release against what it runs now (\`npx hardhat bg:stage --release <new id> …\`).`,
      { proxy: record.proxy.toLowerCase(), stagedBlue: blue, currentImplementation: current },
    );
  }
  const blueCode = await getCode(provider, current);
  if (keccak256(blueCode).toLowerCase() !== record.blue.codehash.toLowerCase()) {
    return fail("BG_BLUE_CODE_CHANGED", `blue ${blue} no longer has the recorded codehash ${record.blue.codehash}`, "Stage the release again against the code blue has now.");
  }
  const greenCode = await getCode(provider, record.green.address);
  const greenHash = keccak256(greenCode).toLowerCase();
  if (greenHash !== record.green.codehash.toLowerCase()) {
    return fail(
      "BG_GREEN_CODE_CHANGED",
      `green ${record.green.address} has codehash ${greenHash} on chain, not the recorded ${record.green.codehash}`,
      "Green's code is gone or different (a reset node, a self-destruct?). Stage the release again.",
      { green: record.green.address.toLowerCase(), onChain: greenHash },
    );
  }
  let build;
  try {
    build = await loadContractBuild(chain.artifacts, record.green.fullyQualifiedName);
  } catch (e) {
    return fail("BG_GREEN_NOT_BUILT", `the project has no build of ${record.green.fullyQualifiedName}: ${errorMessage(e)}`, "Restore green's source as it was staged, then run bg:gates again.");
  }
  if (!compilesTo(greenCode, build)) {
    return fail(
      "BG_GREEN_BUILD_MISMATCH",
      `the project's build of ${record.green.fullyQualifiedName} (profile ${chain.buildProfile}) does not compile to green's code on chain, so validating it would not be about green`,
      "Restore green's source and compiler settings as they were at bg:stage (git checkout the staged commit), or stage the release again from the current source.",
    );
  }
  const evidence = {
    proxy: record.proxy.toLowerCase(),
    blue: { address: blue, codehash: record.blue.codehash.toLowerCase() },
    green: { address: record.green.address.toLowerCase(), codehash: greenHash },
    unsafeAllow: [...chain.stageConfig.unsafeAllow].sort(),
    unsafeAllowRenames: chain.stageConfig.unsafeAllowRenames,
  };
  try {
    // OpenZeppelin's kind decides what else is checked (a UUPS green must keep upgradeToAndCall), as at bg:stage.
    const validated = validateImplementation(build, chain.stageConfig, kind);
    const found = await findBlue({
      provider,
      artifacts: chain.artifacts,
      store: chain.store,
      chainId: record.chainId,
      proxy: record.proxy,
      // OpenZeppelin's manifest and the records compare checksummed addresses.
      blue: getAddress(current),
      blueCode,
      ...(record.upgradeSafety.reference !== undefined ? { reference: record.upgradeSafety.reference } : {}),
      ...(record.upgradeSafety.referenceMismatchAllowed === true ? { allowReferenceMismatch: true } : {}),
    });
    const risks = compareLayouts(found.layout, validated, chain.stageConfig, kind);
    const warnings = [...found.warnings];
    return gateResult(
      name,
      "pass",
      config.required,
      `re-validated against the chain now: ${switched ? `${kind === "beacon" ? "beacon" : "proxy"} already runs green; blue ${short(blue, 10, 0)} it replaced` : `${kind === "beacon" ? "beacon" : "proxy"} runs blue ${short(blue, 10, 0)}`}, green ${short(greenHash, 10, 0)} is upgrade-safe from blue's layout (${found.foundBy})` +
        (risks.length > 0 ? `; ${risks.length} rollback risk(s), see rollbackSafety` : ""),
      { evidence: { ...evidence, blueLayoutFrom: found.foundBy }, notes: warnings },
    );
  } catch (e) {
    return gateResult(name, "fail", config.required, `[BG_UPGRADE_UNSAFE] OpenZeppelin's validation of blue → green fails against the chain now: ${errorMessage(e)}`, {
      fix: "Fix green (storage layout, unsafe patterns) and stage it again, or, after review, allow the kind in blueGreen.stage.unsafeAllow.",
      code: "BG_UPGRADE_UNSAFE",
      evidence: { ...evidence, check: "BG_UPGRADE_UNSAFE" },
    });
  }
}

/** Upgrade safety: stage's blue→green validation passed. */
export function evaluateUpgradeSafetyGate(record: ReleaseRecord, config: SafetyGateConfig): GateResult {
  const safety = record.upgradeSafety;
  const evidence = {
    ok: safety.ok,
    blueLayoutFrom: safety.blueLayoutFrom,
    ...(safety.reference !== undefined ? { reference: safety.reference } : {}),
    warnings: safety.warnings,
  };
  const from = safety.blueLayoutFrom === "reference" ? `reference ${safety.reference ?? "contract"}` : "OpenZeppelin manifest";
  const warnings = safety.warnings.length > 0 ? `, ${safety.warnings.length} warning(s): ${safety.warnings.join("; ")}` : "";
  if (safety.ok) {
    return gateResult("upgradeSafety", "pass", config.required, `blue→green validated against blue's layout from the ${from}${warnings}`, { evidence });
  }
  return gateResult("upgradeSafety", "fail", config.required, `blue→green failed OpenZeppelin's upgrade validation (blue's layout from the ${from})${warnings}`, {
    fix: "Fix green's storage layout or unsafe patterns, then stage again with `npx hardhat bg:stage`.",
    evidence,
  });
}

/** Rollback safety: the reverse validation green→blue found no risk. */
export function evaluateRollbackSafetyGate(record: ReleaseRecord, config: SafetyGateConfig): GateResult {
  const risks = record.rollbackRisks;
  const evidence = { risks: risks.map((r) => ({ kind: r.kind, message: r.message })) };
  if (risks.length === 0) {
    return gateResult("rollbackSafety", "pass", config.required, "green→blue validates: rolling back to blue keeps storage readable", { evidence });
  }
  return gateResult(
    "rollbackSafety",
    "fail",
    config.required,
    `${risks.length} rollback risk(s): ${risks.map((r) => `${r.kind}: ${r.message}`).join("; ")}`,
    {
      fix: "Rolling back to blue may misread state green wrote. Make green's changes append-only (new variables at the end, no retyping), or accept the risk knowingly by keeping rollbackSafety advisory (required: false).",
      evidence,
    },
  );
}
