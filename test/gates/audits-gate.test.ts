import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";

import { expect } from "chai";
import { TypedDataEncoder, Wallet, verifyTypedData } from "ethers";

import {
  ATTESTATION_DOMAIN,
  ATTESTATION_TYPES,
  attestationFileName,
  signAttestation,
  verifyAttestation,
  writeAttestation,
  type AttestationMessage,
} from "../../src/gates/attestation.js";
import { evaluateAuditsGate } from "../../src/gates/audits-gate.js";
import type { AuditsGateConfig } from "../../src/gates/config.js";
import { sha256Hex } from "../../src/gates/evidence-hash.js";
import { ACCEPTANCE_KIND, acceptanceFile, acceptanceMessage } from "../../src/gates/medium-acceptance.js";
import { savedRecord, tempProject, type TempProject } from "./fixtures.js";

const alice = new Wallet("0x" + "a1".repeat(32));
const bob = new Wallet("0x" + "b2".repeat(32));
const carol = new Wallet("0x" + "c3".repeat(32));
const mallory = new Wallet("0x" + "d4".repeat(32));

function message(greenCodehash: string, over: Partial<AttestationMessage> = {}): AttestationMessage {
  return {
    greenCodehash,
    reportSha256: sha256Hex("the report"),
    reportUri: "https://audits.example/vault-v2.pdf",
    critical: 0,
    high: 0,
    medium: 0,
    low: 5,
    date: "2026-11-01T09:30:00Z",
    ...over,
  };
}

describe("audit attestations (EIP-712, no chain id)", () => {
  it("signs over a domain without chainId, so the same signature verifies for any chain", async () => {
    const msg = message("0x" + "ab".repeat(32));
    const file = await signAttestation(alice, msg, { release: "vault-v2" });
    expect(file.domain).to.deep.equal({ name: "hardhat-bluegreen audit", version: "1" });
    expect(file.domain).to.not.have.property("chainId");
    expect(file.auditor).to.equal(alice.address);
    // Checked independently with ethers' own recovery and the published types.
    const types = { AuditAttestation: ATTESTATION_TYPES.AuditAttestation.map((f) => ({ ...f })) };
    expect(verifyTypedData(ATTESTATION_DOMAIN, types, msg, file.signature)).to.equal(alice.address);
    expect(TypedDataEncoder.from(types).encodeType("AuditAttestation")).to.equal(
      "AuditAttestation(bytes32 greenCodehash,bytes32 reportSha256,string reportUri,uint32 critical,uint32 high,uint32 medium,uint32 low,string date)",
    );
    expect(verifyAttestation(JSON.parse(JSON.stringify(file)))).to.deep.include({ kind: "valid", auditor: alice.address });
  });

  it("binds every field: changing any of them breaks the signature", async () => {
    const file = await signAttestation(bob, message("0x" + "ab".repeat(32)));
    for (const [field, value] of [
      ["greenCodehash", "0x" + "cd".repeat(32)],
      ["reportSha256", sha256Hex("another report")],
      ["reportUri", "https://audits.example/other.pdf"],
      ["critical", 1],
      ["high", 1],
      ["medium", 3],
      ["low", 0],
      ["date", "2026-12-01T09:30:00Z"],
    ] as const) {
      const tampered = { ...file, message: { ...file.message, [field]: value } };
      const check = verifyAttestation(tampered);
      expect(check.kind, field).to.equal("tampered");
    }
  });

  it("calls malformed files malformed, naming the field", () => {
    expect(verifyAttestation({ kind: "something else" })).to.deep.include({ kind: "malformed" });
    const check = verifyAttestation({
      kind: "hardhat-bluegreen/audit-attestation",
      version: 1,
      auditor: alice.address,
      domain: ATTESTATION_DOMAIN,
      primaryType: "AuditAttestation",
      types: ATTESTATION_TYPES,
      message: { ...message("0x" + "ab".repeat(32)), critical: -1 },
      signature: "0x" + "00".repeat(65),
    });
    expect(check).to.deep.equal({ kind: "malformed", reason: 'field "message.critical" must not be negative' });
  });
});

describe("the audits gate", () => {
  let project: TempProject;
  let config: AuditsGateConfig;
  let green: string;

  beforeEach(async () => {
    project = await tempProject();
    const record = await savedRecord(project);
    green = record.green.codehash;
    config = { min: 2, auditors: [alice.address, bob.address, carol.address], dir: path.join(project.root, "audits"), required: true };
  });

  const attest = async (signer: Wallet, over: Partial<AttestationMessage> = {}, codehash = green) =>
    writeAttestation(config.dir, await signAttestation(signer, message(codehash, over)));
  const evaluate = async () => evaluateAuditsGate((await project.store.get(1, "vault-v2"))!, config, project.root);

  it("passes with two distinct configured auditors and no open critical/high; their files are evidence", async () => {
    const a = await attest(alice);
    const b = await attest(bob);
    expect(path.basename(a)).to.equal(`${green.slice(0, 10)}-${alice.address}.json`);
    const result = await evaluate();
    expect(result).to.deep.include({ name: "audits", status: "pass", ok: true, required: true });
    expect(result.detail).to.include("2 of 2 required auditor(s)");
    expect(result.files!.map((f) => f.path).sort()).to.deep.equal(
      [`audits/${attestationFileName(green, alice.address)}`, `audits/${attestationFileName(green, bob.address)}`].sort(),
    );
    expect(result.files![0]!.sha256).to.equal(sha256Hex(await readFile(path.join(project.root, result.files![0]!.path))));
    expect((result.evidence.attestations as any[]).map((x) => x.auditor)).to.have.members([alice.address.toLowerCase(), bob.address.toLowerCase()]);
    expect(b).to.not.equal(a);
  });

  it("fails with one auditor, and says who else must sign", async () => {
    await attest(alice);
    const result = await evaluate();
    expect(result.status).to.equal("fail");
    expect(result.detail).to.include("1 of 2 required auditor(s)");
    expect(result.fix).to.include(bob.address).and.include("bg:attest");
  });

  it("fails when the same auditor signs twice: auditors are counted once", async () => {
    await attest(alice);
    await writeFile(
      path.join(config.dir, `${green.slice(0, 10)}-second-copy.json`),
      JSON.stringify(await signAttestation(alice, message(green, { date: "2026-11-02T00:00:00Z" }))),
    );
    expect((await evaluate()).status).to.equal("fail");
  });

  it("does not count open critical or high findings until the auditor re-attests", async () => {
    await attest(alice);
    await attest(bob, { high: 1 });
    const open = await evaluate();
    expect(open.status).to.equal("fail");
    expect(open.detail).to.include(`${bob.address} reports 0 critical, 1 high open`);
    expect(open.fix).to.include("Resolve the open critical and high findings");

    await attest(bob, { high: 0, date: "2026-11-10T00:00:00Z" });
    expect((await evaluate()).status).to.equal("pass");
  });

  it("names a tampered file and fails, even with enough valid attestations", async () => {
    await attest(alice);
    await attest(bob);
    const file = await attest(carol, { medium: 2 });
    const doc = JSON.parse(await readFile(file, "utf8"));
    doc.message.high = 0;
    doc.message.critical = 0;
    doc.message.medium = 0; // was 2: a quiet edit after signing
    await writeFile(file, JSON.stringify(doc, null, 2));
    const result = await evaluate();
    expect(result.status).to.equal("fail");
    const rel = `audits/${attestationFileName(green, carol.address)}`;
    expect(result.detail).to.include(`tampered attestation(s): ${rel}`);
    expect(result.notes!.join("\n")).to.include(`${rel}: tampered: the signature does not match the contents`);
    expect(result.fix).to.include("Restore it from git");
  });

  it("names an unknown signer and does not count it", async () => {
    await attest(alice);
    await attest(mallory);
    const result = await evaluate();
    expect(result.status).to.equal("fail");
    expect(result.notes).to.deep.equal([
      `audits/${attestationFileName(green, mallory.address)}: unknown signer ${mallory.address}, not among blueGreen.gates.audits.auditors`,
    ]);
  });

  it("names a file about this green whose signed codehash is another, and ignores earlier releases' files", async () => {
    await attest(alice);
    await attest(bob);
    const other = "0x" + "77".repeat(32);
    // An earlier release's attestation: not this green's business.
    await attest(carol, {}, other);
    // A file named for this green but signed for other bytecode.
    const wrong = path.join(config.dir, attestationFileName(green, carol.address));
    await writeFile(wrong, JSON.stringify(await signAttestation(carol, message(other))));
    const result = await evaluate();
    expect(result.status).to.equal("pass");
    expect(result.notes).to.deep.equal([
      `audits/${attestationFileName(green, carol.address)}: wrong codehash: signed by ${carol.address} for ${other}, not green's ${green}`,
    ]);
  });

  it("names a file that is not JSON", async () => {
    await attest(alice);
    await attest(bob);
    await writeFile(path.join(config.dir, "notes.json"), "{ not json");
    const result = await evaluate();
    expect(result.status).to.equal("pass");
    expect(result.notes![0]).to.match(/^audits\/notes\.json: not a valid attestation: it is not valid JSON/);
  });

  it("fails on a configured auditor with a broken checksum, before reading any file", async () => {
    // The same address with every letter's case flipped: same bytes, checksum broken.
    const broken = "0x" + swapCase(alice.address.slice(2));
    config = { ...config, auditors: [broken, bob.address] };
    const result = await evaluate();
    expect(result.status).to.equal("fail");
    expect(result.detail).to.equal(`auditor address ${broken} fails its EIP-55 checksum`);
  });

  /** Writes the acceptance file of this green's mediums, signed by `by` (unless `sign` says otherwise). */
  async function acceptMediums(by: Wallet, findings: Array<{ auditor: string; id: string }>, edit: (doc: any) => void = () => {}) {
    const doc: any = {
      kind: ACCEPTANCE_KIND,
      greenCodehash: green,
      acceptedBy: by.address,
      findings: findings.map((f) => ({ ...f, title: `finding ${f.id}`, reason: "rounding favours the vault; documented in the report" })),
    };
    doc.signature = await by.signMessage(acceptanceMessage(doc));
    edit(doc);
    const file = acceptanceFile(config.dir, green);
    await project.write(path.relative(project.root, file), JSON.stringify(doc, null, 2));
    return file;
  }

  it("does not count an attestation with open mediums until a signer accepts each of them in a signed file", async () => {
    await attest(alice);
    await attest(bob, { medium: 2 });
    const open = await evaluate();
    expect(open.status).to.equal("fail");
    expect(open.detail).to.include(`[BG_AUDITS_MEDIUMS_NOT_ACCEPTED] ${bob.address} reports 2 open medium(s)`);
    expect(open.fix).to.include("audits/accepted/").and.include("signed by the accepting signer");

    // Accepting one of two is not enough.
    await acceptMediums(carol, [{ auditor: bob.address, id: "M-01" }]);
    expect((await evaluate()).status).to.equal("fail");

    const file = await acceptMediums(carol, [
      { auditor: bob.address, id: "M-01" },
      { auditor: bob.address, id: "M-02" },
    ]);
    const accepted = await evaluate();
    expect(accepted.status).to.equal("pass");
    expect(accepted.evidence.mediumsAccepted).to.deep.include({ acceptedBy: carol.address.toLowerCase() });
    expect(accepted.files!.map((f) => f.path)).to.include(path.relative(project.root, file));
  });

  it("refuses an acceptance edited after signing, naming the file", async () => {
    await attest(alice);
    await attest(bob, { medium: 1 });
    await acceptMediums(carol, [{ auditor: bob.address, id: "M-01" }], (doc) => {
      doc.acceptedBy = alice.address; // claimed by someone who did not sign it
    });
    const result = await evaluate();
    expect(result.status).to.equal("fail");
    expect(result.notes!.join("\n")).to.match(/accepted\/0x[0-9a-f]{8}-mediums\.json: not a valid acceptance of medium findings: it is signed by 0x[0-9a-fA-F]{40}, not by acceptedBy/);
  });

  it("fails with no audits folder at all, saying how to attest", async () => {
    const result = await evaluate();
    expect(result.status).to.equal("fail");
    expect(result.detail).to.include("0 of 2");
    expect(result.fix).to.include(`${alice.address}, ${bob.address}, ${carol.address}`);
  });
});

function swapCase(s: string): string {
  return [...s].map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join("");
}
