/**
 * Runs every configured gate for one release, in a fixed order, and lists
 * the ones the config leaves out as "not configured".
 */
import type { InterfaceAbi } from "ethers";

import type { Eip1193Provider } from "../chain/eip1193.js";
import type { ReleaseRecord } from "../release/record.js";
import { evaluateAuditsGate } from "./audits-gate.js";
import type { GatesConfig } from "./config.js";
import { evaluateCoverageGate } from "./coverage-gate.js";
import { evaluateCustomGate } from "./custom-gates.js";
import { gateResult, notConfigured, type GateResult } from "./gate-result.js";
import { evaluateReplayGate } from "./replay-gate.js";
import { evaluateRollbackPathGate } from "./rollback-path-gate.js";
import type { RollbackPathFork } from "../switch/rollback-path.js";
import type { MonitorConfig } from "../monitor/config.js";
import { evaluateObservabilityGate } from "./observability-gate.js";
import type { ProjectChain } from "./project-chain.js";
import { evaluateRollbackSafetyGate, evaluateLiveUpgradeSafetyGate } from "./safety-gates.js";
import { evaluateSecretsGate } from "./secrets-gate.js";
import { evaluateSourceGate } from "./source-gate.js";
import { evaluateTestnetGate, type TestnetSwitchLocation } from "./testnet-gate.js";

export interface GateEnvironment<C = unknown> {
  projectRoot: string;
  /** The release's folder in the store (replay reports live there). */
  releaseDir: string;
  /** The connection to the release's network, handed to custom gates. */
  connection: C;
  /** Opens a connection to another network of the config (the testnet); the caller closes it with `close`. */
  openNetwork: (name: string) => Promise<{ provider: Eip1193Provider; close: () => Promise<void> }>;
  /** The switch recorded for a chain, if any. */
  findSwitch: (chainId: number) => Promise<TestnetSwitchLocation | undefined>;
  /** Progress for people (one line per gate); optional. */
  progress?: (gate: string) => void;
  /**
   * The release's chain and the project's build: the upgradeSafety and
   * source gates re-check against them. Without it those gates are inconclusive.
   */
  chain?: ProjectChain;
  /** The monitor's analysis, for the observability gate. */
  monitor?: MonitorConfig;
  /**
   * Opens a fork of the release's chain at its head, for the rollbackPath gate's
   * proof (it sends transactions there, never on the chain itself). Without it
   * that gate is inconclusive, saying `noForkReason`.
   */
  openFork?: () => Promise<RollbackPathFork>;
  /** Why no fork can be opened (for the rollbackPath gate's message). */
  noForkReason?: string;
}

/** Evaluates all gates. Never throws for a gate's own failure: that is a result. */
export async function evaluateGates<C>(record: ReleaseRecord, gates: GatesConfig, env: GateEnvironment<C>): Promise<GateResult[]> {
  const results: GateResult[] = [];
  const run = async (name: string, evaluate: () => Promise<GateResult> | GateResult) => {
    env.progress?.(name);
    try {
      results.push(await evaluate());
    } catch (e) {
      // A bug or an environment problem (unreadable folder, ...) in one gate
      // must not hide the others' verdicts; it proves nothing either way.
      results.push(
        gateResult(name, "inconclusive", requiredOf(gates, name), `could not be evaluated: ${(e as Error)?.message ?? String(e)}`, {
          fix: "Fix the problem above and run bg:gates again.",
        }),
      );
    }
  };

  if (gates.audits !== undefined) {
    const audits = gates.audits;
    await run("audits", () => evaluateAuditsGate(record, audits, env.projectRoot));
  } else results.push(notConfigured("audits", "set blueGreen.gates.audits to require signed audit attestations"));

  if (gates.testnet !== undefined) {
    const testnet = gates.testnet;
    await run("testnet", async () => {
      let opened: Awaited<ReturnType<GateEnvironment["openNetwork"]>>;
      try {
        opened = await env.openNetwork(testnet.network);
      } catch (e) {
        return gateResult("testnet", "inconclusive", testnet.required, `cannot connect to network "${testnet.network}": ${(e as Error)?.message ?? String(e)}`, {
          fix: `Check network "${testnet.network}" in hardhat.config.ts (its URL and any configuration variables it needs).`,
          evidence: { network: testnet.network },
        });
      }
      try {
        return await evaluateTestnetGate({ record, config: testnet, provider: opened.provider, findSwitch: env.findSwitch });
      } finally {
        await opened.close().catch(() => {});
      }
    });
  } else results.push(notConfigured("testnet", "set blueGreen.gates.testnet to require bake time on a testnet"));

  if (gates.replay !== undefined) {
    const replay = gates.replay;
    const provider = env.chain?.provider;
    await run("replay", () =>
      evaluateReplayGate(record, replay, {
        releaseDir: env.releaseDir,
        projectRoot: env.projectRoot,
        ...(provider !== undefined ? { head: async () => Number(BigInt((await provider.request({ method: "eth_blockNumber", params: [] })) as string)) } : {}),
      }),
    );
  } else results.push(notConfigured("replay", "set blueGreen.gates.replay to require a clean replay"));

  if (gates.coverage !== undefined) {
    const coverage = gates.coverage;
    await run("coverage", () => evaluateCoverageGate(coverage, env.projectRoot));
  } else results.push(notConfigured("coverage", "set blueGreen.gates.coverage to require line coverage"));

  if (gates.upgradeSafety !== undefined) {
    const upgradeSafety = gates.upgradeSafety;
    await run("upgradeSafety", () => evaluateLiveUpgradeSafetyGate(record, upgradeSafety, env.chain));
  } else results.push(notConfigured("upgradeSafety", "set blueGreen.gates.upgradeSafety to re-run OpenZeppelin's validation against the chain"));

  if (gates.rollbackSafety !== undefined) {
    const rollbackSafety = gates.rollbackSafety;
    await run("rollbackSafety", () => evaluateRollbackSafetyGate(record, rollbackSafety));
  } else results.push(notConfigured("rollbackSafety", "set blueGreen.gates.rollbackSafety to check that rollback keeps storage readable"));

  if (gates.rollbackPath !== undefined) {
    const rollbackPath = gates.rollbackPath;
    await run("rollbackPath", async () => {
      const location = await env.findSwitch(record.chainId);
      return evaluateRollbackPathGate({
        record,
        config: rollbackPath,
        ...(env.openFork !== undefined ? { openFork: env.openFork } : {}),
        ...(env.noForkReason !== undefined ? { noForkReason: env.noForkReason } : {}),
        ...(location !== undefined ? { switchAddress: location.address } : {}),
        ...(env.chain !== undefined ? { errors: await greenErrors(env.chain, record.green.fullyQualifiedName) } : {}),
      });
    });
  } else results.push(notConfigured("rollbackPath", "set blueGreen.gates.rollbackPath to prove on a fork that the switch can roll green back to blue"));

  if (gates.source !== undefined) {
    const source = gates.source;
    await run("source", () => evaluateSourceGate(record, source, env.chain, env.projectRoot));
  } else results.push(notConfigured("source", "set blueGreen.gates.source to prove green's code is this project's build"));

  if (gates.observability !== undefined) {
    const observability = gates.observability;
    await run("observability", async () => {
      if (env.monitor === undefined || env.chain === undefined) {
        return gateResult("observability", "inconclusive", observability.required, "cannot check: no monitor config or no connection to the release's chain was given", {
          fix: "Run bg:gates with --network set to the release's network.",
        });
      }
      const location = await env.findSwitch(record.chainId);
      return evaluateObservabilityGate({
        record,
        config: observability,
        monitor: env.monitor,
        provider: env.chain.provider,
        store: env.chain.store,
        projectRoot: env.projectRoot,
        switchAddress: location?.address,
      });
    });
  } else results.push(notConfigured("observability", "set blueGreen.gates.observability to require monitoring, a guardian and a runbook"));

  if (gates.secrets !== undefined) {
    const secrets = gates.secrets;
    await run("secrets", () => evaluateSecretsGate(record, secrets, gates));
  } else results.push(notConfigured("secrets", "set blueGreen.gates.secrets to refuse keys written into the config"));

  for (const gate of gates.custom) {
    await run(gate.name, () => evaluateCustomGate(gate, record, env.connection as never));
  }
  return results;
}

/** True when every required gate passed. */
export function allRequiredPass(results: readonly GateResult[]): boolean {
  return results.every((r) => !r.required || r.status === "pass");
}

/** Green's ABI, to name its custom errors in a failed proof; none when the project has no build of it (the proof still runs). */
async function greenErrors(chain: ProjectChain, fullyQualifiedName: string): Promise<InterfaceAbi> {
  try {
    return (await chain.artifacts.readArtifact(fullyQualifiedName)).abi as InterfaceAbi;
  } catch {
    return [];
  }
}

function requiredOf(gates: GatesConfig, name: string): boolean {
  const builtin = (gates as unknown as Record<string, { required?: boolean } | undefined>)[name];
  if (builtin !== undefined && typeof builtin === "object" && "required" in builtin) return builtin.required === true;
  return gates.custom.find((g) => g.name === name)?.required ?? true;
}
