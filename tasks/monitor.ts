import { Interface } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { BlueGreenError } from "../src/errors.js";
import { parseDuration } from "../src/monitor/config.js";
import { jsonLog } from "../src/monitor/json-log.js";
import { type MonitorOutcome, monitorRelease } from "../src/monitor/monitor-release.js";
import { VERDICT_EXIT_CODES } from "../src/monitor/outcome.js";
import { readChainId } from "../src/monitor/startup.js";
import { MonitorMetrics } from "../src/monitor/prometheus.js";
import { ReleaseStore } from "../src/release/store.js";
import { firstSigner } from "../src/stage/signers.js";
import { monitorJson, renderMonitor } from "../src/ui/monitor-view.js";
import { runCommand } from "../src/ui/output.js";
import { openConnection } from "../src/chain/hardhat-connection.js";

interface MonitorArgs {
  release: string;
  duration: string;
  once: boolean;
  metricsPort: string;
  autoRollback: boolean;
  signer: string;
  acknowledge: boolean;
  json: boolean;
}

export default async function monitor(args: MonitorArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  const outcome = await runCommand(
    args.json,
    async (out): Promise<MonitorOutcome> => {
      if (args.release === "") throw new BlueGreenError("BG_RECORD_RELEASE_REQUIRED", "Which release? Pass --release <id> (`npx hardhat bg:status` lists them).");
      const durationSeconds = args.duration === "" ? undefined : parseDuration(/^\d+(\.\d+)?$/.test(args.duration) ? Number(args.duration) : args.duration);
      if (durationSeconds === undefined && args.duration !== "") {
        throw new BlueGreenError("BG_MONITOR_OPTION_INVALID", `--duration "${args.duration}" is not a duration. Pass seconds (3600) or a number with s, m, h or d (90m, 48h).`);
      }
      const metricsPort = args.metricsPort === "" ? undefined : Number(args.metricsPort);
      if (metricsPort !== undefined && (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535)) {
        throw new BlueGreenError("BG_MONITOR_OPTION_INVALID", `--metrics-port "${args.metricsPort}" is not a TCP port. Pass a number from 1 to 65535 (e.g. 9464).`);
      }
      if (args.signer !== "" && !args.autoRollback) {
        throw new BlueGreenError("BG_MONITOR_OPTION_INVALID", "--signer is the guardian key for --auto-rollback; pass --auto-rollback too, or drop --signer.");
      }
      const config = hre.config.blueGreen.monitor;
      const waves = hre.config.blueGreen.waves;
      const connection = await openConnection(hre);
      const networkConfig = connection.networkConfig;
      const url = networkConfig.type === "http" ? await networkConfig.url.get() : undefined;
      const startLog = jsonLog({ release: args.release });
      const chainId = await readChainId(
        connection.provider,
        { ...config.rpc, onRetry: (info) => startLog("warn", "rpc-retry", { ...info }) },
        { network: connection.networkName, ...(url !== undefined ? { url } : {}) },
      );
      const store = new ReleaseStore(hre.config.blueGreen.recordsDir);
      const record = await store.get(chainId, args.release);
      const abi = await hre.artifacts
        .readArtifact(record.green.fullyQualifiedName)
        .then((a) => new Interface(a.abi))
        .catch(() => undefined);
      const guardian = args.autoRollback ? await firstSigner(connection.ethers, connection.networkName, args.signer) : undefined;

      const log = jsonLog({ release: args.release, chainId });
      const metrics = metricsPort !== undefined ? new MonitorMetrics(args.release) : undefined;
      const stop = new AbortController();
      const onSignal = () => {
        log("info", "stopping", { message: "signal received; finishing the current step and writing the checkpoint" });
        stop.abort();
      };
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      try {
        if (metrics !== undefined) {
          const port = await metrics.serve(metricsPort!, config.metricsHost);
          log("info", "metrics-endpoint", { url: `http://${config.metricsHost}:${port}/metrics` });
          if (out.interactive) out.info(`Prometheus metrics on http://${config.metricsHost}:${port}/metrics`);
        }
        const outcome = await monitorRelease({
          provider: connection.provider,
          store,
          chainId,
          releaseId: args.release,
          config,
          ...(waves !== undefined ? { waves } : {}),
          ...(abi !== undefined ? { abi } : {}),
          once: args.once,
          ...(durationSeconds !== undefined ? { durationSeconds } : {}),
          ...(guardian !== undefined ? { autoRollback: { guardian } } : {}),
          ...(args.acknowledge ? { acknowledge: {} } : {}),
          ...(metrics !== undefined ? { metrics } : {}),
          log,
          signal: stop.signal,
        });
        return monitorJson(outcome);
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        await metrics?.close();
      }
    },
    renderMonitor,
  );
  // 0 healthy, 1 failing or rolling back, 2 inconclusive (too little of the chain analysed), as bg:replay.
  if (outcome !== undefined) process.exitCode = VERDICT_EXIT_CODES[outcome.verdict];
}
