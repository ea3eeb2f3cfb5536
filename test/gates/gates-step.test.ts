import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";

import { expect } from "chai";
import { keccak256 } from "ethers";

import { resolveGatesConfig } from "../../src/gates/config.js";
import { evaluateGates } from "../../src/gates/evaluate-gates.js";
import { evidenceDocument, evidenceHash } from "../../src/gates/evidence-hash.js";
import { gateResult } from "../../src/gates/gate-result.js";
import {
  assertRequiredGatesPass,
  checkEvidenceDrift,
  EVIDENCE_FILE,
  recordGatesRun,
  requiredGatesPass,
} from "../../src/gates/gates-step.js";
import { transition, type ReleaseRecord } from "../../src/release/record.js";
import { savedRecord, tempProject, type TempProject } from "./fixtures.js";

const LCOV = (hit: number) => `SF:contracts/Vault.sol\nLF:10\nLH:${hit}\nend_of_record\n`;

describe("recording gates: evidence hash, state, drift", () => {
  let project: TempProject;
  let record: ReleaseRecord;

  const env = () => ({
    projectRoot: project.root,
    releaseDir: project.store.releaseDir(1, "vault-v2"),
    connection: undefined,
    openNetwork: async () => {
      throw new Error("no testnet in this test");
    },
    findSwitch: async () => undefined,
  });
  const config = (min = 80) => resolveGatesConfig({ coverage: { min }, rollbackSafety: {} }, project.root);
  const run = async (min = 80) => {
    const current = (await project.store.get(1, "vault-v2"))!;
    const results = await evaluateGates(current, config(min), env());
    return recordGatesRun(project.store, current, results, { actor: "test", at: new Date("2026-11-22T12:00:00Z") });
  };

  beforeEach(async () => {
    project = await tempProject();
    record = await savedRecord(project);
    await project.write("coverage/lcov.info", LCOV(9));
  });

  it("keeps a failure's code out of the evidence hash, and a pass carries none", () => {
    const failing = gateResult("secrets", "fail", true, "[BG_SECRETS_LITERAL_KEY] a key is written", { code: "BG_SECRETS_LITERAL_KEY", evidence: { literal: ["x"] } });
    const { code, ...uncoded } = failing;
    expect(code).to.equal("BG_SECRETS_LITERAL_KEY");
    expect(evidenceHash(evidenceDocument(record, [failing], []))).to.equal(evidenceHash(evidenceDocument(record, [uncoded], [])));
    expect(gateResult("secrets", "pass", true, "fine", { code: "BG_SECRETS_LITERAL_KEY" })).to.not.have.property("code");
  });

  it("lists every gate, configured or not, in a fixed order", async () => {
    const results = await evaluateGates(record, config(), env());
    expect(results.map((r) => [r.name, r.status])).to.deep.equal([
      ["audits", "not-configured"],
      ["testnet", "not-configured"],
      ["replay", "not-configured"],
      ["coverage", "pass"],
      ["upgradeSafety", "not-configured"],
      ["rollbackSafety", "pass"],
      ["rollbackPath", "not-configured"],
      ["source", "not-configured"],
      ["observability", "not-configured"],
      ["secrets", "not-configured"],
    ]);
    expect(results.filter((r) => r.status === "not-configured").every((r) => !r.required)).to.equal(true);
  });

  it("records results and the evidence hash, writes the hashed bytes beside the record, and moves staged → gated", async () => {
    const recorded = await run();
    expect(recorded.from).to.equal("staged");
    expect(recorded.to).to.equal("gated");
    expect(recorded.record.state).to.equal("gated");
    const step = recorded.record.steps.gates as any;
    expect(step.ok).to.equal(true);
    expect(step.greenCodehash).to.equal(record.green.codehash);
    expect(step.evidenceFiles).to.deep.equal([{ path: "coverage/lcov.info", sha256: step.results[3].evidence.sha256 }]);
    expect(step.evidenceHash).to.match(/^0x[0-9a-f]{64}$/);
    // Anyone can check the hash from the file: keccak256 of its exact bytes.
    const bytes = await readFile(path.join(project.store.releaseDir(1, "vault-v2"), EVIDENCE_FILE));
    expect(keccak256(bytes)).to.equal(step.evidenceHash);
    expect(JSON.parse(bytes.toString()).files).to.deep.equal(step.evidenceFiles);
    expect(recorded.record.history.at(-1)).to.deep.include({ state: "gated", actor: "test", note: `evidence ${step.evidenceHash}` });
  });

  it("gives the same hash for the same evidence, and another when an evidence file changes", async () => {
    const first = await run();
    const second = await run();
    expect(second.step.evidenceHash).to.equal(first.step.evidenceHash);
    expect(second.stateNote).to.equal("release stays gated: the evidence is unchanged");
    expect(second.record.history.length).to.equal(first.record.history.length);
    await project.write("coverage/lcov.info", LCOV(10));
    const third = await run();
    expect(third.step.evidenceHash).to.not.equal(first.step.evidenceHash);
    expect(third.previousEvidenceHash).to.equal(first.step.evidenceHash);
  });

  it("hashes no text meant for people: only status, evidence and files", () => {
    const a = gateResult("coverage", "pass", true, "90% today", { evidence: { percent: 90 } });
    const b = { ...a, detail: "90% — reworded", notes: ["a note"] };
    expect(evidenceHash(evidenceDocument(record, [a], []))).to.equal(evidenceHash(evidenceDocument(record, [b], [])));
    const c = { ...a, evidence: { percent: 91 } };
    expect(evidenceHash(evidenceDocument(record, [a], []))).to.not.equal(evidenceHash(evidenceDocument(record, [c], [])));
  });

  it("flags evidence files that changed or vanished since the hash was recorded", async () => {
    const recorded = await run();
    const clean = await checkEvidenceDrift(recorded.record, project.root);
    expect(clean).to.deep.include({ checked: true, ok: true, evidenceHash: recorded.step.evidenceHash, currentHash: recorded.step.evidenceHash });

    await writeFile(path.join(project.root, "coverage/lcov.info"), LCOV(8));
    const changed = await checkEvidenceDrift(recorded.record, project.root);
    expect(changed.ok).to.equal(false);
    expect(changed.currentHash).to.not.equal(recorded.step.evidenceHash);
    expect(changed.files).to.deep.equal([
      { path: "coverage/lcov.info", recorded: recorded.step.evidenceFiles[0]!.sha256, current: changed.files[0]!.current, status: "changed" },
    ]);
    expect(changed.problems).to.deep.equal(["evidence file coverage/lcov.info changed since bg:gates ran"]);

    expect(await checkEvidenceDrift(record, project.root)).to.deep.include({ checked: false, ok: true });
  });

  it("keeps a failing run's state and says the proposal will refuse it", async () => {
    await run();
    const failing = await run(95);
    expect(failing.step.ok).to.equal(false);
    expect(failing.record.state).to.equal("gated");
    expect(failing.stateNote).to.include("bg:propose will refuse it");
    const verdict = requiredGatesPass(failing.record);
    expect(verdict.ok).to.equal(false);
    expect(verdict.reasons).to.deep.equal(["required gate coverage is fail: 90% of 10 lines in 1 file(s) (min 95%) from coverage/lcov.info"]);
  });

  it("sends a proposed release back to gated when its evidence changes, and keeps it proposed when not", async () => {
    const gated = await run();
    await project.store.update(1, "vault-v2", (r) => transition(r!, "proposed", { actor: "test" }));
    const same = await run();
    expect(same.record.state).to.equal("proposed");
    await project.write("coverage/lcov.info", LCOV(10));
    const changed = await run();
    expect(changed.record.state).to.equal("gated");
    expect(changed.stateNote).to.include("the earlier proposal no longer matches");
    expect(changed.step.evidenceHash).to.not.equal(gated.step.evidenceHash);
  });

  it("fails closed: with no gate configured the release is not gated and cannot be proposed", async () => {
    const none = resolveGatesConfig(undefined, project.root);
    const results = await evaluateGates(record, none, env());
    expect(results.every((r) => r.status === "not-configured")).to.equal(true);
    const recorded = await recordGatesRun(project.store, record, results, { actor: "test" });
    expect(recorded.step.ok).to.equal(false);
    expect(recorded.record.state).to.equal("staged");
    expect(recorded.stateNote).to.include("[BG_GATES_NONE]");
    const verdict = requiredGatesPass(recorded.record, { config: none });
    expect(verdict.ok).to.equal(false);
    expect(verdict.reasons.join(" ")).to.include("[BG_GATES_NONE]").and.include("blueGreen.gates.waive");
  });

  it("lets an explicit waiver through, recording its reason in the step and in the hashed evidence", async () => {
    const reason = "emergency fix of a paused vault; audits follow in the next release";
    const waived = resolveGatesConfig({ waive: { reason } }, project.root);
    const results = await evaluateGates(record, waived, env());
    const recorded = await recordGatesRun(project.store, record, results, { actor: "test", waiver: waived.waive! });
    expect(recorded.step).to.deep.include({ ok: true, waiver: { reason } });
    expect(recorded.record.state).to.equal("gated");
    const bytes = await readFile(recorded.evidenceFile!, "utf8");
    expect(JSON.parse(bytes).waiver).to.deep.equal({ reason });
    expect(keccak256(Buffer.from(bytes))).to.equal(recorded.step.evidenceHash);
    expect(evidenceHash(evidenceDocument(recorded.record, results, []))).to.not.equal(recorded.step.evidenceHash);
    expect(requiredGatesPass(recorded.record, { config: waived })).to.deep.include({ ok: true });
    // Dropping the waiver from the config closes the door again.
    expect(requiredGatesPass(recorded.record, { config: resolveGatesConfig(undefined, project.root) }).reasons[0]).to.include("[BG_GATES_NONE]");
  });

  it("never overwrites the evidence of a live release: a later run is a recheck", async () => {
    const gated = await run();
    await project.store.update(1, "vault-v2", (r) => transition(transition(r!, "proposed", { actor: "t" }), "live", { actor: "t" }));
    await project.write("coverage/lcov.info", LCOV(10));
    const recheck = await run();
    expect(recheck.storedAs).to.equal("gatesRecheck");
    expect(recheck.record.state).to.equal("live");
    expect((recheck.record.steps.gates as any).evidenceHash).to.equal(gated.step.evidenceHash);
    expect((recheck.record.steps.gatesRecheck as any).evidenceHash).to.equal(recheck.step.evidenceHash);
    expect(recheck.stateNote).to.include("release is live");
  });

  it("lets a proposal through only when required gates pass, the config asks for nothing more, and nothing drifted", async () => {
    expect(requiredGatesPass(record).reasons[0]).to.match(/^bg:gates has not run for release "vault-v2"/);
    const recorded = await run();
    expect(requiredGatesPass(recorded.record)).to.deep.include({ ok: true, evidenceHash: recorded.step.evidenceHash });
    expect(await assertRequiredGatesPass(recorded.record, { projectRoot: project.root, config: config() })).to.deep.equal({
      evidenceHash: recorded.step.evidenceHash,
    });

    const stricter = resolveGatesConfig({ coverage: {}, rollbackSafety: { required: true } }, project.root);
    expect(requiredGatesPass(recorded.record, { config: stricter }).reasons).to.deep.equal([
      'gate rollbackSafety is required by the current config but was not required when bg:gates ran. Run `npx hardhat bg:gates --network <net> --release vault-v2`.',
    ]);

    const restaged: ReleaseRecord = { ...recorded.record, green: { ...recorded.record.green, codehash: "0x" + "55".repeat(32) } };
    expect(requiredGatesPass(restaged).reasons[0]).to.include("but the release's green is now 0x5555");

    await writeFile(path.join(project.root, "coverage/lcov.info"), LCOV(10));
    let error: Error | undefined;
    try {
      await assertRequiredGatesPass(recorded.record, { projectRoot: project.root });
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).to.equal(
      '[BG_GATES_NOT_PASSED] Release "vault-v2" cannot be proposed: evidence file coverage/lcov.info changed since bg:gates ran. Fix that, then run `npx hardhat bg:gates --network <net> --release vault-v2` again.',
    );
  });

  it("reports a gate that crashes as inconclusive without losing the others", async () => {
    // The audits "folder" is a file: reading it throws, which proves nothing either way.
    const gates = resolveGatesConfig(
      { audits: { min: 1, auditors: ["0x1111111111111111111111111111111111111111"], dir: "coverage/lcov.info" }, coverage: {}, rollbackSafety: {} },
      project.root,
    );
    const results = await evaluateGates(record, gates, env());
    const audits = results.find((r) => r.name === "audits")!;
    expect(audits).to.deep.include({ status: "inconclusive", required: true });
    expect(audits.detail).to.match(/^could not be evaluated: ENOTDIR/);
    expect(results.find((r) => r.name === "coverage")!.status).to.equal("pass");
    expect(results.find((r) => r.name === "rollbackSafety")!.status).to.equal("pass");
  });
});
