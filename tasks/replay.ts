import { readFile } from "node:fs/promises";
import path from "node:path";

import type { InterfaceAbi } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { BlueGreenError } from "../src/errors.js";
// Every step's schema in the store's catalogue: a damaged steps.gates stops the replay before it runs.
import { ReleaseStore } from "../src/release/store.js";
import { parseCaptureFile } from "../src/replay/capture-file.js";
import { REPLAY_MODES, type ReplayMode } from "../src/replay/config.js";
import { AbiDecoder } from "../src/replay/decode.js";
import { edrForkOpener } from "../src/replay/open-edr-fork.js";
import { partialStem, recordReplay, type RecordedReplay, reportStem, writePartialReport } from "../src/replay/record-step.js";
import { parseShard } from "../src/replay/shard.js";
import { replayRelease } from "../src/replay/replay-release.js";
import type { TrafficSource } from "../src/replay/traffic-plan.js";
import { type ReplayReport, replayJson, VERDICT_EXIT_CODES } from "../src/replay/report.js";
import { progressLine, renderReplaySummary } from "../src/ui/replay-terminal.js";
import { renderCanaryReplay } from "../src/ui/canary-replay-view.js";
import { type CanaryReplayOptions, defaultCanarySalt } from "../src/replay/canary-replay.js";
import { writeCanaryReport } from "../src/replay/record-canary-replay.js";
import { type CanaryConfig, canarySalt } from "../src/waves/canary-config.js";
import { renderMarkdownReport } from "../src/ui/replay-report.js";
import { RpcCache } from "../src/replay/rpc-cache.js";
import { SourceRpc } from "../src/replay/source-rpc.js";
import { SourceCache } from "../src/replay/source-cache.js";
import { runCommand } from "../src/ui/output.js";
import { openConnection } from "../src/chain/hardhat-connection.js";
import { parseUserAddress } from "../src/common/address.js";

interface ReplayArgs {
  release: string;
  fromBlock: string;
  toBlock: string;
  lastBlocks: string;
  traffic: string;
  mode: string;
  /** Hardhat always passes it; optional for callers from before the flag. */
  proxies?: string;
  cascade: boolean;
  /** Optional for callers that predate --canary (Hardhat always passes them). */
  canary?: string;
  canarySalt?: string;
  canaryCohort?: string;
  /** Optional for callers of the action itself (tests); the CLI always passes it. */
  shard?: string;
  json: boolean;
}

function blockNumber(value: string, option: string): number {
  if (!/^\d+$/.test(value)) throw new BlueGreenError("BG_REPLAY_OPTION", `--${option} "${value}" is not a block number. Pass a whole number, e.g. --${option} 19000000.`);
  return Number(value);
}

/** ABIs for decoding: green's and blue's first, then every contract of the project. */
async function projectAbis(hre: HardhatRuntimeEnvironment, first: Array<string | undefined>): Promise<InterfaceAbi[]> {
  const names = [...first.filter((n): n is string => n !== undefined)];
  try {
    names.push(...(await hre.artifacts.getAllFullyQualifiedNames()));
  } catch {
    // No build yet: decode with what can be read.
  }
  const abis: InterfaceAbi[] = [];
  for (const name of new Set(names)) {
    try {
      const artifact = await hre.artifacts.readArtifact(name);
      if (artifact.abi.length > 0) abis.push(artifact.abi as InterfaceAbi);
    } catch {
      // A name that no longer resolves: skip it.
    }
  }
  return abis;
}

/** `--canary <bps>` with its salt and cohort mode: flags first, then blueGreen.canary, then defaults. */
function canaryOptions(given: ReplayArgs, releaseId: string, config: CanaryConfig | undefined): CanaryReplayOptions | undefined {
  const args = { canary: given.canary ?? "", canarySalt: given.canarySalt ?? "", canaryCohort: given.canaryCohort ?? "" };
  if (args.canary === "") {
    if (args.canarySalt !== "" || args.canaryCohort !== "") throw new BlueGreenError("BG_REPLAY_OPTION", "--canary-salt and --canary-cohort go with --canary <bps>.");
    return undefined;
  }
  if (!/^\d+$/.test(args.canary)) {
    throw new BlueGreenError("BG_REPLAY_CANARY_SHARE", `--canary "${args.canary}" is not a canary share: give basis points from 1 to 9999 (500 is 5% of callers on green).`);
  }
  const salt = args.canarySalt !== "" ? args.canarySalt : config !== undefined ? canarySalt(config, releaseId) : defaultCanarySalt(releaseId);
  if (!/^0x[0-9a-fA-F]{64}$/.test(salt)) throw new BlueGreenError("BG_REPLAY_OPTION", `--canary-salt "${salt}" is not a bytes32: give 0x and 64 hex digits.`);
  const cohort = args.canaryCohort !== "" ? args.canaryCohort : undefined;
  if (cohort !== undefined && cohort !== "origin" && cohort !== "sender") {
    throw new BlueGreenError("BG_REPLAY_OPTION", `--canary-cohort "${cohort}" is not a cohort mode: use origin (tx.origin) or sender (msg.sender).`);
  }
  return { bps: Number(args.canary), salt, cohortByOrigin: cohort !== undefined ? cohort === "origin" : (config?.cohortByOrigin ?? true) };
}

export default async function replay(args: ReplayArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  let report: ReplayReport | undefined;
  let recorded: RecordedReplay | undefined;
  let canaryFiles: { reportPath: string; markdownPath: string } | undefined;
  let partialFile: string | undefined;
  const result = await runCommand(
    args.json,
    async (out) => {
      if (args.release === "") throw new BlueGreenError("BG_REPLAY_OPTION", "Which release? Pass --release <id> (`npx hardhat bg:status` lists them).");
      const ranges = [args.fromBlock !== "" || args.toBlock !== "", args.lastBlocks !== "", args.traffic !== ""].filter(Boolean).length;
      if (ranges !== 1) {
        throw new BlueGreenError(
          "BG_REPLAY_OPTION", "Say which traffic to replay, with exactly one of: --from-block A --to-block B, --last-blocks K, or --traffic <capture file>.",
        );
      }
      const config = hre.config.blueGreen.replay;
      const mode = (args.mode === "" ? config.mode : args.mode) as ReplayMode;
      if (!REPLAY_MODES.includes(mode)) throw new BlueGreenError("BG_REPLAY_OPTION", `--mode "${args.mode}" is not a mode. Use one of: ${REPLAY_MODES.join(", ")}.`);

      const connection = await openConnection(hre);
      const networkConfig = connection.networkConfig;
      if (networkConfig.type !== "http") {
        throw new BlueGreenError(
          "BG_REPLAY_NETWORK", `bg:replay forks the source chain, so --network must be an http network (the chain the release was staged on); "${connection.networkName}" is ${networkConfig.type}.`,
        );
      }
      const url = await networkConfig.url.getUrl();
      const source = new SourceRpc({
        url,
        headers: networkConfig.httpHeaders,
        cache: await RpcCache.open(config.cacheDir, url),
        timeoutMs: config.rpc.timeoutMs,
        retries: config.rpc.retries,
      });
      const chainId = Number(BigInt((await source.request({ method: "eth_chainId" })) as string));
      const store = new ReleaseStore(hre.config.blueGreen.recordsDir);
      const record = await store.get(chainId, args.release);
      // The replay ends by rewriting release.json: refuse a damaged one now, not after the replay.
      await store.readIntact(chainId, record.id);

      let traffic: TrafficSource;
      if (args.traffic !== "") {
        const file = path.resolve(args.traffic);
        const text = await readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => {
          throw new BlueGreenError("BG_REPLAY_CAPTURE_FILE", `Cannot read the capture file ${args.traffic}: ${e.code ?? e.message}. Check the path.`);
        });
        const rel = path.relative(process.cwd(), file) || file;
        traffic = {
          kind: "capture",
          file: rel,
          lines: parseCaptureFile(text, rel),
          ...(args.fromBlock !== "" ? { fromBlock: blockNumber(args.fromBlock, "from-block") } : {}),
        };
      } else if (args.lastBlocks !== "") {
        if ((args.shard ?? "") !== "") {
          // Each shard would read its own head: shards of different ranges cannot be merged.
          throw new BlueGreenError(
            "BG_REPLAY_OPTION",
            "--shard needs the same range in every shard, but --last-blocks reads each shard's own head. Read the head once and give every shard --from-block A --to-block B (the plan job of docs/ci/bluegreen-shards.yml does).",
          );
        }
        const k = blockNumber(args.lastBlocks, "last-blocks");
        if (k < 1) throw new BlueGreenError("BG_REPLAY_OPTION", "--last-blocks must be at least 1.");
        const head = Number(BigInt((await source.request({ method: "eth_blockNumber" })) as string));
        traffic = { kind: "range", fromBlock: Math.max(1, head - k + 1), toBlock: head };
      } else {
        if (args.fromBlock === "" || args.toBlock === "") throw new BlueGreenError("BG_REPLAY_OPTION", "Give both --from-block and --to-block (or --last-blocks K).");
        traffic = { kind: "range", fromBlock: blockNumber(args.fromBlock, "from-block"), toBlock: blockNumber(args.toBlock, "to-block") };
      }

      const canary = canaryOptions(args, record.id, hre.config.blueGreen.canary);
      const shard = (args.shard ?? "") !== "" ? parseShard(args.shard!) : undefined;
      const decoder = new AbiDecoder(await projectAbis(hre, [record.green.fullyQualifiedName, record.upgradeSafety.reference]));
      const progress = out.interactive ? progressLine() : undefined;
      const abort = new AbortController();
      const interrupt = () => abort.abort();
      process.once("SIGINT", interrupt);
      try {
        report = await replayRelease({
          release: record,
          source,
          openFork: edrForkOpener(hre.network, {
            edrForkCache: path.join(hre.config.paths.cache, "edr-fork-cache"),
            ...(config.hardfork !== undefined ? { hardfork: config.hardfork } : {}),
          }),
          traffic,
          mode,
          cascade: args.cascade,
          config,
          ...((args.proxies ?? "").trim() !== "" ? { proxies: args.proxies!.split(",").map((p) => parseUserAddress(p, "--proxies", "BG_REPLAY_OPTION").toLowerCase()) } : {}),
          ...(hre.config.blueGreen.gates.replay !== undefined ? { minFidelity: hre.config.blueGreen.gates.replay.minFidelity } : {}),
          decoder,
          ...(canary !== undefined ? { canary } : {}),
          sourceCache: new SourceCache(config.sourceCache.dir, config.sourceCache.maxBytes),
          prefetch: config.prefetch,
          onProgress: (p) => progress?.update(p.done, p.total),
          log: (line) => out.info(line),
          signal: abort.signal,
          ...(shard !== undefined ? { shard } : {}),
          // Comparisons stream into the release folder, beside a checkpoint that a run of the same command resumes from.
          output: { dir: store.releaseDir(chainId, record.id), stem: (startedAt) => (shard !== undefined ? partialStem(startedAt, shard) : reportStem(startedAt)) },
        });
      } catch (e) {
        if (abort.signal.aborted) {
          throw new BlueGreenError(
            "BG_REPLAY_INTERRUPTED", "Replay interrupted: nothing was recorded. Run the same command again: it resumes from the last block it completed (its checkpoint is in the release folder's replay-in-progress/).",
          );
        }
        throw e;
      } finally {
        process.off("SIGINT", interrupt);
        progress?.done();
      }
      for (const warning of report.warnings) if (args.json) out.warn(warning);
      const finished = report;
      if (finished.shard !== undefined) {
        // A slice is no evidence on its own: written beside the others, recorded only by the merge.
        partialFile = await writePartialReport(store, chainId, finished);
        return replayJson(finished, { reportFile: path.relative(process.cwd(), partialFile) });
      }
      if (canary !== undefined) {
        canaryFiles = await writeCanaryReport(store, chainId, finished, (file) => renderMarkdownReport(finished, file));
        return replayJson(report, { reportFile: path.relative(process.cwd(), canaryFiles.reportPath) });
      }
      // A replay that compared nothing proves nothing: the release keeps the evidence it had.
      if (finished.txs === 0) return replayJson(report);
      recorded = await recordReplay(store, chainId, finished, { actor: "bg:replay", markdown: (file) => renderMarkdownReport(finished, file) });
      return replayJson(report, { reportFile: path.relative(process.cwd(), recorded.reportPath) });
    },
    () => renderReplaySummary(report!, recorded, partialFile) + (report?.canary !== undefined ? "\n" + renderCanaryReplay(report.canary, canaryFiles) : ""),
  );
  // 0 clean, 1 divergent, 2 inconclusive: CI can tell a bad green from a replay that proved nothing.
  if (result !== undefined && report !== undefined) process.exitCode = VERDICT_EXIT_CODES[report.verdict];
}
