/**
 * The observability gate: a release goes out only if it can be watched and
 * rolled back. The monitor must have at least one failure condition that
 * acts (not a dry run), and auto-rollback must have a guardian the switch
 * really knows, or an explicit acknowledgement that there is none.
 *
 * For the release, it writes into the release folder what the on-call
 * person needs: Prometheus alerting rules for the metrics `bg:monitor`
 * exports, a Grafana dashboard for them, and `runbook.md`, the rollback
 * procedure for this exact release. The files are hashed with the evidence,
 * so signers approve the procedure too. Their content depends only on the
 * config and the chain (no clock), so an unchanged release rewrites them
 * byte for byte.
 */
import { Interface, getAddress } from "ethers";

import type { MonitorConfig } from "../monitor/config.js";
import type { ReleaseRecord } from "../release/record.js";
import type { ReleaseStore } from "../release/store.js";
import type { Eip1193Provider } from "../chain/eip1193.js";
import type { ErrorCode } from "../errors.js";
import { loadSwitchArtifact } from "../switch/artifact.js";
import type { ObservabilityGateConfig } from "./config.js";
import { evidencePath, sha256Hex } from "./evidence-hash.js";
import { gateResult, type EvidenceFile, type GateResult } from "./gate-result.js";

export const RUNBOOK_FILE = "runbook.md";
export const ALERT_RULES_FILE = "alerts.rules.yml";
export const DASHBOARD_FILE = "grafana-dashboard.json";

export interface ObservabilityInput {
  record: ReleaseRecord;
  config: ObservabilityGateConfig;
  monitor: MonitorConfig;
  /** The release's chain. */
  provider: Eip1193Provider | undefined;
  store: ReleaseStore;
  projectRoot: string;
  /** The switch recorded for the release's chain. */
  switchAddress: string | undefined;
}

/** What the switch says about who can act in the rollback window. */
export interface SwitchRoles {
  address: string;
  approver: string;
  guardians: string[];
  cancellers: string[];
  rollbackDelay: number;
  rollbackWindow: number;
}

async function readRoles(provider: Eip1193Provider, address: string): Promise<SwitchRoles> {
  const iface = new Interface((await loadSwitchArtifact()).abi);
  const call = async (fn: string) => {
    const data = iface.encodeFunctionData(fn, []);
    const raw = (await provider.request({ method: "eth_call", params: [{ to: address, data }, "latest"] })) as string;
    return iface.decodeFunctionResult(fn, raw)[0];
  };
  const [approver, guardians, cancellers, rollbackDelay, rollbackWindow] = await Promise.all(
    ["approver", "guardians", "cancellers", "rollbackDelay", "rollbackWindow"].map(call),
  );
  return {
    address: getAddress(address),
    approver: getAddress(approver as string),
    guardians: [...(guardians as string[])].map((g) => getAddress(g)).sort(),
    cancellers: [...(cancellers as string[])].map((c) => getAddress(c)).sort(),
    rollbackDelay: Number(rollbackDelay),
    rollbackWindow: Number(rollbackWindow),
  };
}

export async function evaluateObservabilityGate(input: ObservabilityInput): Promise<GateResult> {
  const { record, config, monitor } = input;
  const name = "observability";
  const acting = monitor.analysis.metrics.filter((m) => m.failureCondition !== undefined && !m.dryRun);
  const conditions = acting.map((m) => ({ metric: m.name, failureCondition: m.failureCondition!.text }));
  const base = { failureConditions: conditions };
  const fail = (code: ErrorCode, detail: string, fix: string, evidence: Record<string, unknown> = {}) =>
    gateResult(name, "fail", config.required, `[${code}] ${detail}`, { fix, code, evidence: { ...base, ...evidence } });
  if (acting.length === 0) {
    return fail(
      "BG_OBSERVABILITY_NO_FAILURE_CONDITION",
      "the monitor has no failure condition that acts: every metric is a dry run or has no failureCondition, so nothing can fail the analysis",
      'Give at least one metric in blueGreen.monitor.metrics a failureCondition (e.g. { name: "revert-rate", kind: "revertRate", failureCondition: "result > 0.05" }) without dryRun.',
    );
  }
  if (input.switchAddress === undefined || input.provider === undefined) {
    return fail(
      "BG_OBSERVABILITY_NO_SWITCH",
      `no switch is recorded on chain ${record.chainId}, so there is no rollback path to write a runbook for`,
      `Deploy the switch with \`npx hardhat bg:init --network ${record.network}\` and adopt the proxy with bg:adopt, then run bg:gates again.`,
    );
  }
  const roles = await readRoles(input.provider, input.switchAddress);
  let guardianNote: string;
  if (config.guardian !== undefined) {
    const guardian = getAddress(config.guardian);
    if (!roles.guardians.includes(guardian)) {
      return fail(
        "BG_OBSERVABILITY_NOT_GUARDIAN",
        `${guardian} (blueGreen.gates.observability.guardian) is not a guardian of the switch ${roles.address}; its guardians are ${roles.guardians.join(", ") || "none"}`,
        `Have the approver add it (\`npx hardhat bg:call propose --network ${record.network} --function addGuardian --args '["${guardian}"]'\`, then bg:approve and bg:call execute), or name one of the switch's guardians.`,
        { switch: roles.address.toLowerCase(), guardian: guardian.toLowerCase() },
      );
    }
    guardianNote = `guardian ${guardian} can roll back automatically`;
  } else if (config.noAutoRollback !== undefined) {
    guardianNote = `no automatic rollback, acknowledged: ${config.noAutoRollback.reason}`;
  } else {
    return fail(
      "BG_OBSERVABILITY_NO_GUARDIAN",
      "no guardian key for auto-rollback, and no acknowledgement that the release runs without one",
      'Set blueGreen.gates.observability.guardian to the guardian address bg:monitor --auto-rollback signs with, or acknowledge with observability: { noAutoRollback: { reason: "…" } }.',
    );
  }

  const files: EvidenceFile[] = [];
  const write = async (fileName: string, content: string) => {
    const file = await input.store.writeReleaseFile(record.chainId, record.id, fileName, content);
    files.push({ path: evidencePath(input.projectRoot, file), sha256: sha256Hex(content) });
    return files.at(-1)!.path;
  };
  const rules = await write(ALERT_RULES_FILE, alertRules(record, monitor));
  const dashboard = await write(DASHBOARD_FILE, JSON.stringify(grafanaDashboard(record, monitor), null, 2) + "\n");
  const runbookPath = await write(RUNBOOK_FILE, runbook(record, roles, config, { rules, dashboard }));
  return gateResult(name, "pass", config.required, `${acting.length} failure condition(s) (${acting.map((m) => m.name).join(", ")}); ${guardianNote}; runbook ${runbookPath}`, {
    evidence: {
      ...base,
      switch: roles.address.toLowerCase(),
      guardians: roles.guardians.map((g) => g.toLowerCase()),
      cancellers: roles.cancellers.map((c) => c.toLowerCase()),
      ...(config.guardian !== undefined ? { guardian: config.guardian.toLowerCase() } : {}),
      ...(config.noAutoRollback !== undefined ? { noAutoRollback: config.noAutoRollback.reason } : {}),
      files: files.map((f) => f.path),
    },
    files,
  });
}

const q = (s: string) => JSON.stringify(s);

/** Prometheus alerting rules over the metrics bg:monitor exports (JSON strings are valid YAML scalars). */
export function alertRules(record: ReleaseRecord, monitor: MonitorConfig): string {
  const release = { release: record.id, proxy: record.proxy.toLowerCase() };
  const rule = (alert: string, expr: string, forFor: string, severity: string, summary: string, description: string) =>
    [
      `      - alert: ${alert}`,
      `        expr: ${q(expr)}`,
      `        for: ${forFor}`,
      `        labels:`,
      `          severity: ${severity}`,
      `          release: ${q(release.release)}`,
      `          proxy: ${q(release.proxy)}`,
      `        annotations:`,
      `          summary: ${q(summary)}`,
      `          description: ${q(description)}`,
      `          runbook: ${q(`${RUNBOOK_FILE} of release ${record.id}`)}`,
    ].join("\n");
  const rules = [
    rule("BlueGreenAnalysisFailed", 'max(bluegreen_analysis_phase{phase="Failed"}) == 1', "0m", "critical", `Release ${record.id}: the analysis of green failed`, "Follow the runbook: roll back to blue now, or veto a scheduled rollback if the failure is understood."),
    rule("BlueGreenAnalysisInconclusive", 'max(bluegreen_analysis_phase{phase="Inconclusive"}) == 1', "10m", "warning", `Release ${record.id}: the analysis is inconclusive and paused`, "A person must look: resume with bg:monitor --acknowledge, or roll back."),
    rule("BlueGreenRollbackScheduled", 'max(bluegreen_proxy_switch_status{status="rollback-scheduled"}) == 1', "0m", "critical", `Release ${record.id}: a rollback to blue is scheduled`, "Check it: let it execute after the delay, or veto it (canceller or approver) within the delay."),
    rule("BlueGreenMonitorBehind", `max(bluegreen_blocks_behind_head) > ${monitor.confirmations + 50}`, "5m", "warning", `Release ${record.id}: the monitor is falling behind the chain`, "The analysis is stale: check the monitor's RPC and process."),
    rule("BlueGreenMonitorRpcErrors", "increase(bluegreen_rpc_errors_total[10m]) > 20", "0m", "warning", `Release ${record.id}: the monitor's RPC keeps failing`, "Check the RPC endpoint of the release's network."),
    ...monitor.analysis.metrics
      .filter((m) => m.failureCondition !== undefined && !m.dryRun)
      .map((m) =>
        rule(
          `BlueGreenMetricFailed_${m.name.replace(/[^A-Za-z0-9_]/g, "_")}`,
          `increase(bluegreen_analysis_measurements_total{metric=${q(m.name)},phase="Failed"}[15m]) > 0`,
          "0m",
          "warning",
          `Release ${record.id}: metric ${m.name} failed a measurement`,
          `failureCondition: ${m.failureCondition!.text} (failure limit ${m.failureLimit})`,
        ),
      ),
  ];
  return [`# Prometheus alerting rules for release ${record.id}, written by bg:gates.`, "groups:", `  - name: ${q(`bluegreen-${record.id}`)}`, "    rules:", ...rules, ""].join("\n");
}

/** A Grafana dashboard of the metrics bg:monitor exports (import it, pick the Prometheus data source). */
export function grafanaDashboard(record: ReleaseRecord, monitor: MonitorConfig): Record<string, unknown> {
  const panel = (id: number, title: string, targets: Array<[string, string]>, y: number, x: number, unit = "short") => ({
    id,
    type: "timeseries",
    title,
    datasource: { type: "prometheus", uid: "${datasource}" },
    gridPos: { h: 8, w: 12, x, y },
    fieldConfig: { defaults: { unit }, overrides: [] },
    targets: targets.map(([expr, legendFormat], i) => ({ refId: String.fromCharCode(65 + i), expr, legendFormat })),
  });
  return {
    uid: `bluegreen-${record.id}`.slice(0, 40),
    title: `Blue-green release ${record.id}`,
    description: `Proxy ${record.proxy}: blue ${record.blue.address}, green ${record.green.address} (${record.green.contract})`,
    schemaVersion: 39,
    tags: ["hardhat-bluegreen"],
    time: { from: "now-6h", to: "now" },
    templating: { list: [{ name: "datasource", type: "datasource", query: "prometheus" }] },
    panels: [
      panel(1, "Calls to the proxy by status", [['sum by (status) (rate(bluegreen_proxy_requests_total[5m]))', "{{status}}"]], 0, 0, "reqps"),
      panel(2, "Revert ratio", [['sum(rate(bluegreen_proxy_requests_total{status="reverted"}[5m])) / sum(rate(bluegreen_proxy_requests_total[5m]))', "reverted"]], 0, 12, "percentunit"),
      panel(3, "Gas used (p50, p95)", [["max by (selector, quantile) (bluegreen_proxy_gas_used)", "{{selector}} p{{quantile}}"]], 8, 0),
      panel(4, "Analysis metric values", monitor.analysis.metrics.map((m) => [`bluegreen_analysis_metric_value{metric=${q(m.name)}}`, m.name] as [string, string]), 8, 12),
      panel(5, "Analysis phase", [["max by (phase) (bluegreen_analysis_phase)", "{{phase}}"]], 16, 0),
      panel(6, "Switch status of the proxy", [["max by (status) (bluegreen_proxy_switch_status)", "{{status}}"]], 16, 12),
      panel(7, "Monitor lag and RPC errors", [["max(bluegreen_blocks_behind_head)", "blocks behind"], ["increase(bluegreen_rpc_errors_total[10m])", "RPC errors / 10m"]], 24, 0),
    ],
  };
}

function duration(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} day(s)`;
  if (seconds % 3_600 === 0) return `${seconds / 3_600} hour(s)`;
  return `${seconds} second(s)`;
}

/** The rollback procedure of this release, for the person on call. */
export function runbook(record: ReleaseRecord, roles: SwitchRoles, config: ObservabilityGateConfig, files: { rules: string; dashboard: string }): string {
  const net = `--network ${record.network} --release ${record.id}`;
  const list = (xs: string[]) => (xs.length === 0 ? "none" : xs.map((x) => `\`${x}\``).join(", "));
  return [
    `# Runbook: release ${record.id}`,
    "",
    `Written by \`bg:gates\` for this exact release; hashed with its evidence. Network \`${record.network}\` (chain ${record.chainId}).`,
    "",
    "## What is switched",
    "",
    `| | |`,
    `|---|---|`,
    `| proxy | \`${record.proxy}\` |`,
    `| blue (rollback target) | \`${record.blue.address}\`, codehash \`${record.blue.codehash}\` |`,
    `| green | \`${record.green.address}\` (${record.green.contract}), codehash \`${record.green.codehash}\` |`,
    `| switch | \`${roles.address}\` |`,
    `| approver | \`${roles.approver}\` |`,
    `| guardians (may schedule a rollback) | ${list(roles.guardians)} |`,
    `| cancellers (may veto a scheduled rollback) | ${list(roles.cancellers)} |`,
    `| rollback delay | ${duration(roles.rollbackDelay)} between scheduling and executing a rollback |`,
    `| rollback window | ends ${duration(roles.rollbackWindow)} after the promote block; \`npx hardhat bg:status ${net}\` shows the exact end |`,
    `| automatic rollback | ${config.guardian !== undefined ? `by guardian \`${getAddress(config.guardian)}\`` : `none: ${config.noAutoRollback?.reason ?? ""}`} |`,
    "",
    "## Watch",
    "",
    "```sh",
    config.guardian !== undefined
      ? `npx hardhat bg:monitor ${net} --auto-rollback --signer ${getAddress(config.guardian)} --metrics-port 9464`
      : `npx hardhat bg:monitor ${net} --metrics-port 9464`,
    "```",
    "",
    `Alerting rules: \`${files.rules}\` (load into Prometheus). Dashboard: \`${files.dashboard}\` (import into Grafana).`,
    "",
    "## Roll back to blue",
    "",
    "The target is always exactly blue; nothing else can be rolled back to.",
    "",
    "```sh",
    "# 1. A guardian schedules the rollback (executable after the delay):",
    `npx hardhat bg:rollback ${net} --signer <guardian>`,
    "# 2. Once the delay has passed, anyone executes it:",
    `npx hardhat bg:rollback ${net} --execute`,
    "# Or the approver rolls back at once, skipping the delay (a proposal the signers approve):",
    `npx hardhat bg:rollback ${net} --now`,
    "```",
    "",
    "## Veto a scheduled rollback",
    "",
    "```sh",
    "# A canceller, during the delay, with its own key:",
    `npx hardhat bg:rollback ${net} --cancel --signer <canceller>`,
    "# Or the approver, through a proposal the signers approve:",
    `npx hardhat bg:rollback ${net} --cancel`,
    "```",
    "",
    "## Finalize (close the rollback window)",
    "",
    "```sh",
    "# Anyone, after the window ends; the approver (through a proposal) before:",
    `npx hardhat bg:finalize ${net}`,
    "```",
    "",
    "After finalize only a new release moves the proxy.",
    "",
  ].join("\n");
}
