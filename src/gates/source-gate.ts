/**
 * The source gate: green's runtime code on chain is exactly what this
 * project's source builds to, at the build profile green was staged with.
 *
 * Immutables are filled in at deploy time, so their byte ranges (solc's
 * `immutableReferences`) are masked on both sides. The CBOR metadata tail
 * holds the hash of the sources and settings: when it matches too, the
 * source is proven byte for byte ("full match"); when only it differs, the
 * code is the same but the source text is not ("partial match"), which
 * passes only with `allowMetadataMismatch`.
 *
 * The build info (solc's standard JSON input and the compiler version) is
 * archived in the release folder, so anyone can rebuild and compare.
 */
import { keccak256 } from "ethers";

import { canonicalJson, type ReleaseRecord } from "../release/record.js";
import { loadContractBuild, type ContractBuild } from "../stage/contract-build.js";
import { getCode } from "../stage/read-proxy.js";
import { errorMessage } from "../errors.js";
import type { SourceGateConfig } from "./config.js";
import { evidencePath, sha256Hex } from "./evidence-hash.js";
import { gateResult, type GateResult } from "./gate-result.js";
import type { ProjectChain } from "./project-chain.js";

/** The archived build, beside release.json. */
export const GREEN_BUILD_FILE = "green-build-info.json";

interface ByteRange {
  start: number;
  length: number;
}

/** The byte ranges solc leaves for immutables in a contract's runtime code. */
export function immutableRanges(build: Pick<ContractBuild, "solcName" | "solcOutput">): ByteRange[] {
  const cut = build.solcName.lastIndexOf(":");
  const refs = build.solcOutput?.contracts?.[build.solcName.slice(0, cut)]?.[build.solcName.slice(cut + 1)]?.evm?.deployedBytecode?.immutableReferences ?? {};
  return Object.values(refs as Record<string, ByteRange[]>).flat();
}

/** Runtime code as hex with the immutable ranges zeroed. */
export function maskImmutables(code: string, ranges: readonly ByteRange[]): string {
  const hex = code.toLowerCase().replace(/^0x/, "").split("");
  for (const { start, length } of ranges) {
    for (let i = start * 2; i < (start + length) * 2 && i < hex.length; i++) hex[i] = "0";
  }
  return hex.join("");
}

/** Code without its CBOR metadata tail (whose length is the last two bytes). */
export function withoutMetadata(hex: string): string {
  if (hex.length < 4) return hex;
  const tail = parseInt(hex.slice(-4), 16) * 2 + 4;
  return tail < hex.length ? hex.slice(0, hex.length - tail) : hex;
}

/** How deployed code compares with a build: full, partial (metadata only differs) or none. */
export function compareRuntime(deployed: string, built: string, ranges: readonly ByteRange[]): "full" | "partial" | "none" {
  const a = maskImmutables(deployed, ranges);
  const b = maskImmutables(built, ranges);
  if (a === b) return "full";
  return withoutMetadata(a) === withoutMetadata(b) ? "partial" : "none";
}

export async function evaluateSourceGate(
  record: ReleaseRecord,
  config: SourceGateConfig,
  chain: ProjectChain | undefined,
  projectRoot: string,
): Promise<GateResult> {
  const name = "source";
  if (chain === undefined) {
    return gateResult(name, "inconclusive", config.required, "cannot compare: no connection to the release's chain and no project build were given", {
      fix: "Run `npx hardhat bg:gates --network <the release's network> --release <id>` in the project that staged the release.",
    });
  }
  const profile = chain.buildProfile;
  const code = await getCode(chain.provider, record.green.address);
  const onChainHash = keccak256(code).toLowerCase();
  const base = {
    contract: record.green.fullyQualifiedName,
    buildProfile: profile,
    green: { address: record.green.address.toLowerCase(), codehash: onChainHash },
  };
  if (onChainHash !== record.green.codehash.toLowerCase()) {
    return gateResult(name, "fail", config.required, `[BG_SOURCE_GREEN_CODE] green ${record.green.address} has codehash ${onChainHash} on chain, not the recorded ${record.green.codehash}`, {
      fix: "Green's code is gone or different. Stage the release again.",
      code: "BG_SOURCE_GREEN_CODE",
      evidence: base,
    });
  }
  let build: ContractBuild;
  try {
    build = await loadContractBuild(chain.artifacts, record.green.fullyQualifiedName);
  } catch (e) {
    return gateResult(name, "fail", config.required, `[BG_SOURCE_NOT_BUILT] the project has no build of ${record.green.fullyQualifiedName}: ${errorMessage(e)}`, {
      fix: "Restore green's source as it was staged, then run bg:gates again.",
      code: "BG_SOURCE_NOT_BUILT",
      evidence: base,
    });
  }
  const archive = canonicalJson({
    kind: "hardhat-bluegreen/green-build",
    contract: record.green.fullyQualifiedName,
    solcName: build.solcName,
    buildProfile: profile,
    solcVersion: build.solcVersion,
    solcLongVersion: build.solcLongVersion,
    input: build.solcInput,
  });
  const file = await chain.store.writeReleaseFile(record.chainId, record.id, GREEN_BUILD_FILE, archive);
  const files = [{ path: evidencePath(projectRoot, file), sha256: sha256Hex(archive) }];
  const ranges = immutableRanges(build);
  const match = compareRuntime(code, build.deployedBytecode, ranges);
  const evidence = {
    ...base,
    solcLongVersion: build.solcLongVersion,
    immutableRanges: ranges.length,
    match,
    buildInfo: files[0]!.path,
  };
  const notes =
    build.solcLongVersion !== record.green.compiler.version
      ? [`green was staged with solc ${record.green.compiler.version}; the project now builds with ${build.solcLongVersion}`]
      : [];
  const summary = `green's runtime code is a ${match} match of ${record.green.fullyQualifiedName} built at profile "${profile}" (solc ${build.solcLongVersion}, ${ranges.length} immutable range(s) masked)`;
  if (match === "full" || (match === "partial" && config.allowMetadataMismatch)) {
    return gateResult(name, "pass", config.required, summary, { evidence, files, notes });
  }
  if (match === "partial") {
    return gateResult(name, "fail", config.required, `[BG_SOURCE_METADATA] ${summary}: the code is the same but the source text or settings differ (the metadata hash)`, {
      fix: "Check out the source exactly as it was staged (comments and paths count), or accept a partial match with blueGreen.gates.source.allowMetadataMismatch: true.",
      code: "BG_SOURCE_METADATA",
      evidence,
      files,
      notes,
    });
  }
  return gateResult(
    name,
    "fail",
    config.required,
    `[BG_SOURCE_MISMATCH] green's runtime code on chain is not what ${record.green.fullyQualifiedName} builds to at profile "${profile}"`,
    {
      fix: `Build from the commit green was staged from, with the same build profile (${profile}) and compiler settings; if the source changed on purpose, stage a new release.`,
      code: "BG_SOURCE_MISMATCH",
      evidence,
      files,
      notes,
    },
  );
}
