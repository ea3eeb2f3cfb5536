/**
 * Upgrade safety, by OpenZeppelin's own validations: green must be
 * upgrade-safe (no constructor state, selfdestruct, delegatecall, initializer
 * mistakes...), and its storage layout must extend blue's. The reverse check,
 * green → blue, finds what would break if we roll back: blue must still run
 * on state that green may have written. Those findings are rollback risks.
 */
import {
  UpgradeableContractErrorReport,
  getContractVersion,
  getErrors,
  getStorageLayout,
  getStorageUpgradeReport,
  solcInputOutputDecoder,
  validate,
  withValidationDefaults,
  type StorageLayout,
  type ValidationOptions,
  type ValidationRunData,
} from "@openzeppelin/upgrades-core";

import { BlueGreenError } from "../errors.js";
import type { ContractBuild } from "./contract-build.js";
import type { ProxyKindName } from "./read-proxy.js";

export interface ValidatedContract {
  build: ContractBuild;
  layout: StorageLayout;
}

export interface UpgradeValidation {
  blueLayoutFrom: "manifest" | "reference";
  reference?: string;
  warnings: string[];
  rollbackRisks: RollbackFinding[];
}

export interface RollbackFinding {
  kind: string;
  message: string;
  /** OpenZeppelin's explanation of the reverse (green → blue) layout report. */
  detail: string;
}

function runValidation(build: ContractBuild): ValidationRunData {
  const decodeSrc = solcInputOutputDecoder(build.solcInput, build.solcOutput);
  return validate(build.solcOutput, decodeSrc, build.solcVersion, build.solcInput);
}

function versionOf(runData: ValidationRunData, build: ContractBuild) {
  return getContractVersion(runData, build.solcName);
}

/**
 * Validates a contract as an implementation behind a proxy of `kind` and
 * returns its storage layout. Unsafe code is refused with OpenZeppelin's own
 * explanation.
 */
export function validateImplementation(build: ContractBuild, opts: ValidationOptions, kind: ProxyKindName = "transparent"): ValidatedContract {
  const runData = runValidation(build);
  const version = versionOf(runData, build);
  // OpenZeppelin's kind decides what else is checked: for "uups", that green still has upgradeToAndCall and proxiableUUID.
  const errors = getErrors(runData, version, { ...opts, kind });
  if (errors.length > 0) {
    const report = new UpgradeableContractErrorReport(errors);
    throw new BlueGreenError(
      "BG_UPGRADE_UNSAFE",
      `${build.contractName} is not upgrade-safe:\n${report.explain(false)}\n` +
        "Fix the contract, or, if you have reviewed the risk, allow that kind in blueGreen.stage.unsafeAllow in hardhat.config.ts.",
    );
  }
  return { build, layout: getStorageLayout(runData, version) };
}

/** Storage layout of a contract without judging its safety (blue as a reference). */
export function layoutOf(build: ContractBuild): StorageLayout {
  const runData = runValidation(build);
  return getStorageLayout(runData, versionOf(runData, build));
}

/**
 * Compares blue → green (must pass) and green → blue (recorded as rollback
 * risks). Throws a user error with OpenZeppelin's explanation on a clash.
 */
export function compareLayouts(
  blue: StorageLayout,
  green: ValidatedContract,
  opts: ValidationOptions,
  kind: ProxyKindName = "transparent",
): RollbackFinding[] {
  const full = withValidationDefaults({ ...opts, kind });
  const forward = getStorageUpgradeReport(blue, green.layout, full);
  if (!forward.ok) {
    throw new BlueGreenError(
      "BG_STAGE_LAYOUT_INCOMPATIBLE",
      `Upgrading blue to ${green.build.contractName} is unsafe: its storage layout is incompatible with blue's.\n` +
        `${forward.explain(false)}\n` +
        "Keep every existing variable in place and append new ones at the end (or use a storage gap / namespaced storage).",
    );
  }
  const reverse = getStorageUpgradeReport(green.layout, blue, full);
  if (reverse.ok) return [];
  // OpenZeppelin explains the whole report at once; keep its words, and add
  // one finding per operation so each risk can be read (and gated) alone.
  const explanation = reverse.explain(false);
  return reverse.ops.map((op) => ({
    kind: `storage-${op.kind}`,
    message: describeRollbackOp(op as RollbackOp),
    detail: explanation,
  }));
}

interface RollbackOp {
  kind: string;
  original?: { label?: string };
  updated?: { label?: string };
}

function describeRollbackOp(op: RollbackOp): string {
  const name = op.original?.label ?? op.updated?.label ?? "a variable";
  switch (op.kind) {
    case "delete":
      return `After a rollback, blue does not know \`${name}\`: state green writes there stays behind, unread, and is seen again if green is re-promoted.`;
    default:
      return `Rolling back changes \`${name}\` (${op.kind}): check that blue reads green's state correctly.`;
  }
}
