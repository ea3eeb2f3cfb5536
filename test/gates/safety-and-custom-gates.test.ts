import { expect } from "chai";

import { evaluateCustomGate } from "../../src/gates/custom-gates.js";
import { evaluateRollbackSafetyGate, evaluateUpgradeSafetyGate } from "../../src/gates/safety-gates.js";
import type { ReleaseRecord } from "../../src/release/record.js";
import { stagedRecord } from "../helpers/record-fixture.js";

describe("the safety gates", () => {
  it("upgradeSafety passes on stage's clean validation and fails on a failed one", () => {
    const record = stagedRecord();
    const pass = evaluateUpgradeSafetyGate(record, { required: true });
    expect(pass).to.deep.include({ name: "upgradeSafety", status: "pass", required: true });
    expect(pass.evidence).to.deep.equal({ ok: true, blueLayoutFrom: "reference", reference: "contracts/VaultV1.sol:VaultV1", warnings: [] });

    const failed: ReleaseRecord = { ...record, upgradeSafety: { ...record.upgradeSafety, ok: false, warnings: ["delegatecall allowed"] } };
    const fail = evaluateUpgradeSafetyGate(failed, { required: true });
    expect(fail.status).to.equal("fail");
    expect(fail.detail).to.include("1 warning(s): delegatecall allowed");
    expect(fail.fix).to.include("bg:stage");
  });

  it("rollbackSafety lists the rollback risks and is advisory when configured so", () => {
    const record: ReleaseRecord = {
      ...stagedRecord(),
      rollbackRisks: [{ kind: "layout-append", message: "blue ignores green's new variable `fee`", detail: "slot 3" } as any],
    };
    const result = evaluateRollbackSafetyGate(record, { required: false });
    expect(result).to.deep.include({ status: "fail", required: false, ok: false });
    expect(result.detail).to.equal("1 rollback risk(s): layout-append: blue ignores green's new variable `fee`");
    expect(result.evidence).to.deep.equal({ risks: [{ kind: "layout-append", message: "blue ignores green's new variable `fee`" }] });
    expect(evaluateRollbackSafetyGate(stagedRecord(), { required: false }).status).to.equal("pass");
  });
});

describe("custom gates", () => {
  const record = stagedRecord();

  it("passes the release and the connection to the check, and keeps its evidence", async () => {
    const connection = { networkName: "localMainnet" };
    let seen: unknown[] = [];
    const result = await evaluateCustomGate(
      {
        name: "oracle-fresh",
        required: true,
        check: async (release, conn) => {
          seen = [release.id, conn];
          return { ok: true, detail: "oracle updated 3 min ago", evidence: { maxAge: 3600n, age: 180 } };
        },
      },
      record,
      connection,
    );
    expect(seen).to.deep.equal(["vault-v2", connection]);
    expect(result).to.deep.include({ name: "oracle-fresh", status: "pass", ok: true, detail: "oracle updated 3 min ago" });
    expect(result.evidence).to.deep.equal({ maxAge: "3600", age: 180 });
  });

  it("fails on ok:false and cannot change the record it is given", async () => {
    const result = await evaluateCustomGate(
      {
        name: "pause-guardian-set",
        required: true,
        check: (release: ReleaseRecord) => {
          (release as any).state = "live";
          return { ok: false, detail: "no pause guardian" };
        },
      },
      record,
      undefined,
    );
    expect(result).to.deep.include({ status: "fail", detail: "no pause guardian" });
    expect(record.state).to.equal("staged");
  });

  it("is inconclusive when the check throws, answers nonsense, or hangs", async () => {
    const threw = await evaluateCustomGate({ name: "t", required: true, check: async () => { throw new Error("RPC down"); } }, record, undefined);
    expect(threw).to.deep.include({ status: "inconclusive", detail: "the check threw: RPC down" });
    const nonsense = await evaluateCustomGate({ name: "n", required: false, check: async () => "yes" }, record, undefined);
    expect(nonsense).to.deep.include({ status: "inconclusive", required: false, detail: 'the check returned "yes", not { ok: boolean, detail: string }' });
    const hung = await evaluateCustomGate({ name: "h", required: true, check: () => new Promise(() => {}) }, record, undefined, 50);
    expect(hung).to.deep.include({ status: "inconclusive", detail: "the check threw: no answer within 0.05s" });
  });
});
