/**
 * `npx hardhat bg:demo --json`, run as a user runs it: both acts happen on
 * real nodes, the records say what the summary says, and no process the
 * demo started is left behind.
 */
import { readFile, rm } from "node:fs/promises";
import path from "node:path";

import { expect } from "chai";

import { onlyJson, runHardhat, type CliRun } from "../helpers/cli.js";

/** True while a process with this PID exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function recordOf(file: string): Promise<any> {
  return JSON.parse(await readFile(file, "utf8"));
}

describe("bg:demo", function () {
  let run: CliRun;
  let doc: any;

  before(async function () {
    this.timeout(600_000);
    run = await runHardhat(["bg:demo", "--json"]);
    doc = onlyJson(run);
  });
  // Each run has its own folder under cache/bluegreen-demo/; the test's is not worth keeping.
  after(async () => {
    if (typeof doc?.runDir === "string") await rm(doc.runDir, { recursive: true, force: true });
  });

  it("exits 0 with one JSON summary on stdout and the narration on stderr", () => {
    expect(run.code).to.equal(0, run.stderr);
    expect(doc.ok).to.equal(true);
    expect(run.stderr).to.include("Act one: a good release, DemoTokenV2");
    expect(run.stderr).to.include("Act two: a buggy release, DemoTokenV3");
  });

  it("started two real nodes, reported their PIDs, and left none running", () => {
    expect(doc.nodes.map((n: any) => [n.role, n.chainId])).to.deep.equal([
      ["mainnet", 31337],
      ["testnet", 11155111],
    ]);
    for (const node of doc.nodes) {
      expect(node.pid).to.be.a("number").greaterThan(0);
      expect(node.stopped).to.equal(true);
      expect(alive(node.pid), `node ${node.role} (pid ${node.pid}) is still running`).to.equal(false);
    }
  });

  it("set up a 2-of-3 Safe as the switch's approver and a proxy adopted through it", () => {
    expect(doc.setup.safe.threshold).to.equal(2);
    expect(doc.setup.safe.owners).to.have.length(3);
    expect(doc.setup.switch.approver).to.equal(doc.setup.safe.address);
    expect(doc.setup.token.adoptionSafeTxHash).to.match(/^0x[0-9a-f]{64}$/);
    expect(doc.setup.traffic.txs).to.be.greaterThan(100);
    expect(doc.setup.traffic.senders).to.be.greaterThan(20);
  });

  it("act one: replays cleanly, passes the gates, switches with two Safe signatures, stays healthy, finalizes", async () => {
    const one = doc.actOne;
    expect(one.replay.divergences).to.equal(0);
    expect(one.replay.txs).to.equal(doc.setup.traffic.txs);
    expect(one.replay.fidelity.matched).to.equal(one.replay.fidelity.total);
    expect(one.gates.ok).to.equal(true);
    const status = Object.fromEntries(one.gates.results.map((r: any) => [r.name, r.status]));
    expect(status).to.include({ audits: "pass", testnet: "pass", replay: "pass", upgradeSafety: "pass" });
    expect(one.switch.approvals).to.have.length(2);
    expect(one.switch.version).to.equal("2");
    expect(one.monitor).to.include({ verdict: "healthy", ok: true });
    expect(one.state).to.equal("finalized");

    const record = await recordOf(doc.reports.actOneRecord);
    expect(record.history.map((h: any) => h.state)).to.deep.equal(["staged", "replayed", "gated", "proposed", "approved", "live", "finalized"]);
    expect(record.steps.switch.evidenceHash).to.equal(one.gates.evidenceHash);
  });

  it("act two: the replay catches the bug and the proposal is refused", () => {
    const two = doc.actTwo;
    expect(two.replay.divergences).to.be.greaterThan(0);
    expect(two.replay.divergenceKinds).to.deep.equal(["revert"]);
    expect(two.gates.ok).to.equal(false);
    expect(two.gates.results.find((r: any) => r.name === "replay")).to.include({ status: "fail", required: true });
    expect(two.proposalRefused).to.match(/cannot be proposed: required gate replay is fail/);
  });

  it("act two: the skip of the replay is explicit, in the output and in the record", async () => {
    const two = doc.actTwo;
    expect(two.replaySkip).to.include({ flag: "skipReplay", divergences: two.replay.divergences });
    expect(two.gatesAfterSkip.ok).to.equal(true);
    expect(two.gatesAfterSkip.results.find((r: any) => r.name === "replay")).to.include({ status: "fail", required: false });
    expect(run.stderr).to.match(/SKIP\s+skipReplay: the replay gate is made advisory/);

    const record = await recordOf(doc.reports.actTwoRecord);
    expect(record.steps.replaySkip).to.include({ flag: "skipReplay", divergences: two.replay.divergences });
    expect(record.history.some((h: any) => /replay skipped on purpose \(skipReplay\)/.test(h.note ?? ""))).to.equal(true);
  });

  it("act two: a 5% canary goes through the Safe, 95% of callers stay on blue, and the monitor catches green's cohort and rolls back", async () => {
    const two = doc.actTwo;
    const canary = two.canary;
    expect(canary).to.include({ step: "5%", bps: 500 });
    expect(canary.router).to.match(/^0x[0-9a-fA-F]{40}$/);
    expect(canary.versions).to.deep.equal({ blue: "2", green: "3" });
    // The router's own split of the holders, and the chain's answer: only green's cohort reverted, blue's paid.
    expect(canary.greenCallers.length).to.be.greaterThan(0);
    expect(canary.greenCallers.length / canary.callers).to.be.below(0.1);
    expect([...two.payday.revertedFrom].sort()).to.deep.equal([...canary.greenCallers].sort());
    expect(two.payday.txs).to.equal(canary.callers);
    expect(two.monitor.verdict).to.equal("rolled-back");
    expect(two.monitor.cause.metric).to.equal("canary-revert-rate");
    expect(run.stderr).to.match(/green's cohort reverted 100\.0% of \d+ call\(s\), blue's cohort 0\.0%/);
    expect(two.rollback.guardian).to.equal(doc.setup.switch.guardian);
    expect(two.rollback.scheduleTx).to.match(/^0x[0-9a-f]{64}$/);
    expect(two.rollback.executeTx).to.match(/^0x[0-9a-f]{64}$/);
    // Back on exactly blue, not on the router.
    expect(two.rollback.implementation).to.equal(doc.actOne.green.address);
    expect(two.rollback.version).to.equal("2");
    expect(two.state).to.equal("rolled-back");

    const record = await recordOf(doc.reports.actTwoRecord);
    const states = record.history.map((h: any) => h.state);
    expect(states.slice(-4)).to.deep.equal(["approved", "live", "rollback-scheduled", "rolled-back"]);
    expect(record.steps.rollback).to.include({ scheduleTx: two.rollback.scheduleTx, rolledBackTx: two.rollback.executeTx, immediate: false });
    expect(record.steps.canary.promotions.map((p: any) => p.step)).to.deep.equal(["5%"]);
  });

  it("writes everything into a fresh folder of the project's cache, with the reports it names", async () => {
    expect(path.relative(path.resolve(import.meta.dirname, "../../cache/bluegreen-demo"), doc.runDir)).to.not.match(/^\.\./);
    for (const file of Object.values(doc.reports) as string[]) {
      expect(file.startsWith(doc.runDir), file).to.equal(true);
    }
    const markdown = await readFile(doc.actTwo.replay.markdown, "utf8");
    expect(markdown).to.include("TransferAboveCap");
    const summary = JSON.parse(await readFile(path.join(doc.runDir, "summary.json"), "utf8"));
    expect(summary.actTwo.rollback.executeTx).to.equal(doc.actTwo.rollback.executeTx);
  });
});
