/**
 * Issue 19, faults in the records and in what users type: a hand-edited
 * step is reported as that step of that release and is never rewritten; a
 * record in another release's folder is refused; a wrong EIP-55 checksum
 * gets the checksum message from every parser of a user's address.
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";

import { parseAddressOption, parseCallArgs } from "../../src/approval/cli-args.js";
import { parseUserAddress } from "../../src/common/address.js";
import { BlueGreenError } from "../../src/errors.js";
import { gateResult } from "../../src/gates/gate-result.js";
import { readGatesStep, recordGatesRun } from "../../src/gates/gates-step.js";
import { transition, type ReleaseRecord } from "../../src/release/record.js";
import { knownStepNames } from "../../src/release/step-catalogue.js";
import { ReleaseStore } from "../../src/release/store.js";
import { recordReplay } from "../../src/replay/record-step.js";
import { startMirror } from "../../src/replay/mirror.js";
import type { ReplayReport } from "../../src/replay/report.js";
import { parseAddress } from "../../src/stage/read-proxy.js";
import { stagedRecord } from "../helpers/record-fixture.js";

/** A well-known address with one letter's case flipped: a wrong EIP-55 checksum. */
const BAD_CHECKSUM = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD";
const GOOD = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

async function refusal(fn: () => unknown): Promise<BlueGreenError> {
  try {
    await fn();
  } catch (error) {
    expect(BlueGreenError.is(error), String(error)).to.equal(true);
    return error as BlueGreenError;
  }
  expect.fail("expected a refusal");
}

describe("damaged release records (issue 19)", () => {
  let root: string;
  let store: ReleaseStore;
  let file: string;
  let rel: string;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), "bg-corrupt-"));
    store = new ReleaseStore(root);
    file = store.recordPath(31337, "vault-v2");
    rel = path.relative(process.cwd(), file);
  });
  afterEach(async () => rm(root, { recursive: true, force: true }));

  /** vault-v2 gated with a real gates step, then steps.gates.evidenceHash edited by hand; vault-v1 and vault-v3 fine. */
  async function handEditedGates(): Promise<string> {
    await store.update(31337, "vault-v1", () => stagedRecord("vault-v1"));
    await store.update(31337, "vault-v3", () => stagedRecord("vault-v3"));
    const staged = stagedRecord("vault-v2");
    await store.update(31337, "vault-v2", () => staged);
    await recordGatesRun(store, staged, [gateResult("safety", "pass", true, "ok")], { actor: "test", at: new Date("2026-11-22T12:00:00Z") });
    const doc = JSON.parse(await readFile(file, "utf8"));
    expect(doc.state).to.equal("gated");
    doc.steps.gates.evidenceHash = "0x1234";
    const text = JSON.stringify(doc, null, 4);
    await writeFile(file, text);
    return text;
  }

  const stepMessage = () =>
    `[BG_RECORD_STEP_INVALID] ${rel} (release "vault-v2", chain 31337) has an unreadable steps.gates.evidenceHash: must be a 0x-prefixed 32-byte hash. ` +
    `It was left untouched, and no command writes this record until it is fixed. ` +
    `Restore it from git (git checkout -- ${rel}), or delete the "gates" entry under "steps" in that file and run bg:gates again to record it afresh.`;

  it("lists every release of the chain, the hand-edited one as an error naming its file and field", async () => {
    await handEditedGates();
    await store.update(31337, "vault-v4", () => stagedRecord("vault-v4"));
    await writeFile(store.recordPath(31337, "vault-v4"), "{ not json");
    const entries = await store.list(31337);
    expect(entries.map((e) => [e.id, e.status])).to.deep.equal([
      ["vault-v1", "ok"],
      ["vault-v2", "unreadable"],
      ["vault-v3", "ok"],
      ["vault-v4", "unreadable"],
    ]);
    const bad = entries[1]!;
    if (bad.status !== "unreadable") throw new Error("unreachable");
    expect(bad.part).to.equal("steps.gates.evidenceHash");
    expect(bad.error.code).to.equal("BG_RECORD_STEP_INVALID");
    expect(bad.error.message).to.equal(stepMessage());
    // The rest of the record is still there to show.
    expect(bad.record?.state).to.equal("gated");
    const notJson = entries[3]!;
    if (notJson.status !== "unreadable") throw new Error("unreachable");
    expect(notJson.part).to.equal("release.json");
    expect(notJson.error.code).to.equal("BG_RECORD_INVALID");
    expect(notJson.record).to.equal(undefined);
  });

  it("lists a release folder without release.json as missing, not as an error", async () => {
    await store.writeReleaseFile(31337, "half-staged", "deploy-journal.json", { started: true });
    expect(await store.list(31337)).to.deep.equal([{ id: "half-staged", status: "missing", file: path.relative(process.cwd(), store.recordPath(31337, "half-staged")) }]);
  });

  it("refuses every read-modify-write of a record with a hand-edited step, leaving the file byte for byte", async () => {
    const text = await handEditedGates();
    let called = false;
    const update = await refusal(() =>
      store.update(31337, "vault-v2", (r) => {
        called = true;
        return r;
      }),
    );
    expect(update.message).to.equal(stepMessage());
    expect(called).to.equal(false);
    expect((await refusal(() => store.readIntact(31337, "vault-v2"))).message).to.equal(stepMessage());
    expect(await readFile(file, "utf8")).to.equal(text);
  });

  it("bg:gates' reader names the file and the field, and advises a fix that does not fail the same way", async () => {
    await handEditedGates();
    const record = (await store.get(31337, "vault-v2"))!;
    const error = await refusal(() => readGatesStep(record, "gates", rel));
    expect(error.code).to.equal("BG_GATES_EVIDENCE_UNREADABLE");
    expect(error.message).to.equal(
      `[BG_GATES_EVIDENCE_UNREADABLE] The gates evidence of release "vault-v2" is unreadable: steps.gates.evidenceHash must be a 0x-prefixed 32-byte hash (in ${rel}). ` +
        `bg:gates will not overwrite a step it cannot read. ` +
        `Restore it from git (git checkout -- ${rel}), or delete the "gates" entry under "steps" in that file and run bg:gates again to record it afresh.`,
    );
    expect(error.message).to.not.include("Run `npx hardhat bg:gates");
  });

  it("the advised fix works: with the gates entry dropped, the gates run records afresh", async () => {
    await handEditedGates();
    const doc = JSON.parse(await readFile(file, "utf8"));
    delete doc.steps.gates;
    await writeFile(file, JSON.stringify(doc));
    const record = (await store.get(31337, "vault-v2"))!;
    const recorded = await recordGatesRun(store, record, [gateResult("safety", "pass", true, "ok")], { actor: "test" });
    expect(recorded.storedAs).to.equal("gates");
    expect((await store.readIntact(31337, "vault-v2"))!.steps.gates).to.deep.equal(recorded.step);
  });

  it("recording gates refuses a hand-edited gates step instead of overwriting it", async () => {
    const text = await handEditedGates();
    const record = (await store.get(31337, "vault-v2"))!;
    const error = await refusal(() => recordGatesRun(store, record, [gateResult("safety", "pass", true, "ok")], { actor: "test" }));
    expect(error.message).to.equal(stepMessage());
    expect(await readFile(file, "utf8")).to.equal(text);
  });

  it("bg:replay's recording refuses a hand-edited step before writing any report, and leaves release.json alone", async () => {
    const text = await handEditedGates();
    const before = await readdir(store.releaseDir(31337, "vault-v2"));
    const report = { release: "vault-v2", startedAt: "2026-11-22T10:00:00.000Z" } as unknown as ReplayReport;
    const error = await refusal(() => recordReplay(store, 31337, report, { actor: "bg:replay", markdown: () => "# report" }));
    expect(error.message).to.equal(stepMessage());
    expect(await readFile(file, "utf8")).to.equal(text);
    expect(await readdir(store.releaseDir(31337, "vault-v2"))).to.deep.equal(before);
  });

  it("says that a live release's gates evidence can only come back from git, since bg:gates no longer records it", async () => {
    await handEditedGates();
    const doc = JSON.parse(await readFile(file, "utf8"));
    doc.state = "live";
    await writeFile(file, JSON.stringify(doc));
    expect((await refusal(() => store.update(31337, "vault-v2", (r) => r))).message).to.equal(
      `[BG_RECORD_STEP_INVALID] ${rel} (release "vault-v2", chain 31337) has an unreadable steps.gates.evidenceHash: must be a 0x-prefixed 32-byte hash. ` +
        `It was left untouched, and no command writes this record until it is fixed. ` +
        `Restore it from git (git checkout -- ${rel}): the release is live, so bg:gates no longer records steps.gates (it is the evidence the release went forward on).`,
    );
  });

  it("says that a step recording what happened on chain can only come back from git", async () => {
    const record = transition(stagedRecord("vault-v2"), "gated", { actor: "t" });
    await store.update(31337, "vault-v2", () => ({ ...record, steps: { switch: { txHash: "0x12" } } }));
    const error = await refusal(() => store.update(31337, "vault-v2", (r) => r));
    expect(error.message).to.equal(
      `[BG_RECORD_STEP_INVALID] ${rel} (release "vault-v2", chain 31337) has an unreadable steps.switch.txHash: must be a 0x-prefixed 32-byte hash. ` +
        `It was left untouched, and no command writes this record until it is fixed. ` +
        `Restore it from git (git checkout -- ${rel}): steps.switch records what happened on chain, so no command can recompute it.`,
    );
  });

  it("knows every step the package writes, once src/gates/record-steps.ts is loaded", async () => {
    await import("../../src/status/record-steps.js");
    expect(knownStepNames()).to.deep.equal(
      ["approval", "finalize", "gates", "gatesRecheck", "monitor", "proposal", "replay", "replayRecheck", "rollback", "switch", "timelock", "waves"],
    );
    await store.update(31337, "vault-v2", () => ({ ...stagedRecord("vault-v2"), steps: { monitor: { lastBlock: -1 } } }));
    expect((await refusal(() => store.update(31337, "vault-v2", (r) => r))).message).to.match(
      /^\[BG_RECORD_STEP_INVALID\] .* has an unreadable steps\.monitor\.updatedAt: required\. .* delete the "monitor" entry under "steps" in that file and run bg:monitor again to record it afresh\.$/,
    );
  });

  it("keeps steps it does not know (a team's own) as they are", async () => {
    await store.update(31337, "vault-v2", () => ({ ...stagedRecord("vault-v2"), steps: { teamNotes: { anything: [1, "two"] } } }));
    const updated = await store.update(31337, "vault-v2", (r) => ({ ...r!, network: "mainnet" }));
    expect(updated!.steps).to.deep.equal({ teamNotes: { anything: [1, "two"] } });
  });

  describe("a record whose id or chainId is not its folder's", () => {
    async function misfiled(edit: (doc: ReleaseRecord) => void): Promise<string> {
      await store.update(31337, "vault-v2", () => stagedRecord("vault-v2")).catch(() => undefined);
      const doc = JSON.parse(JSON.stringify(stagedRecord("vault-v2")));
      edit(doc);
      const text = JSON.stringify(doc, null, 2);
      await writeFile(file, text);
      return text;
    }

    it("is refused on read, naming both the record's id and its folder's", async () => {
      const text = await misfiled((doc) => (doc.id = "vault-v3"));
      const error = await refusal(() => store.get(31337, "vault-v2"));
      expect(error.code).to.equal("BG_RECORD_FOLDER_MISMATCH");
      expect(error.message).to.equal(
        `[BG_RECORD_FOLDER_MISMATCH] ${rel} does not belong in its folder: "id" is "vault-v3" but its folder is release "vault-v2". ` +
          `It was left untouched, and no command writes it until this is fixed. Restore it from git (git checkout -- ${rel}), or set "id" to "vault-v2" if the file is in the right folder.`,
      );
      expect(await readFile(file, "utf8")).to.equal(text);
    });

    it("is refused for a chainId of another chain, and for both at once", async () => {
      await misfiled((doc) => (doc.chainId = 1));
      expect((await refusal(() => store.read(31337, "vault-v2"))).message).to.equal(
        `[BG_RECORD_FOLDER_MISMATCH] ${rel} does not belong in its folder: "chainId" is 1 but its folder is chain 31337. ` +
          `It was left untouched, and no command writes it until this is fixed. Restore it from git (git checkout -- ${rel}), or set "chainId" to 31337 if the file is in the right folder.`,
      );
      await misfiled((doc) => {
        doc.id = "other";
        doc.chainId = 5;
      });
      expect((await refusal(() => store.read(31337, "vault-v2"))).message).to.equal(
        `[BG_RECORD_FOLDER_MISMATCH] ${rel} does not belong in its folder: "id" is "other" but its folder is release "vault-v2", and "chainId" is 5 but its folder is chain 31337. ` +
          `It was left untouched, and no command writes it until this is fixed. Restore it from git (git checkout -- ${rel}), or set "id" to "vault-v2" and "chainId" to 31337 if the file is in the right folder.`,
      );
    });

    it("is never rewritten, and nothing is written into the folder its id names", async () => {
      const text = await misfiled((doc) => (doc.id = "vault-v3"));
      expect((await refusal(() => store.update(31337, "vault-v2", (r) => r))).code).to.equal("BG_RECORD_FOLDER_MISMATCH");
      const report = { release: "vault-v2", startedAt: "2026-11-22T10:00:00.000Z" } as unknown as ReplayReport;
      expect((await refusal(() => recordReplay(store, 31337, report, { actor: "bg:replay", markdown: () => "# report" }))).code).to.equal(
        "BG_RECORD_FOLDER_MISMATCH",
      );
      expect(await readFile(file, "utf8")).to.equal(text);
      expect(await store.listIds(31337)).to.deep.equal(["vault-v2"]);
      expect(await readdir(store.releaseDir(31337, "vault-v2"))).to.deep.equal(["release.json"]);
      const [entry] = await store.list(31337);
      expect(entry).to.include({ id: "vault-v2", status: "unreadable", part: "release.json" });
    });
  });
});

describe("addresses a user types (issue 19)", () => {
  const checksum = (what: string) => `${what}: "${BAD_CHECKSUM}" has an invalid EIP-55 checksum. Copy it again, or write it all in lower case.`;

  it("one parser: checksummed and all-lower-case addresses pass, a wrong checksum gets the checksum message", async () => {
    expect(parseUserAddress(GOOD, "--proxy", "BG_STAGE_ADDRESS_INVALID")).to.equal(GOOD);
    expect(parseUserAddress(GOOD.toLowerCase(), "--proxy", "BG_STAGE_ADDRESS_INVALID")).to.equal(GOOD);
    expect(parseUserAddress(` ${GOOD} `, "--proxy", "BG_STAGE_ADDRESS_INVALID")).to.equal(GOOD);
    const error = await refusal(() => parseUserAddress(BAD_CHECKSUM, "--proxy", "BG_STAGE_ADDRESS_INVALID"));
    expect(error.code).to.equal("BG_STAGE_ADDRESS_INVALID");
    expect(error.message).to.equal(`[BG_STAGE_ADDRESS_INVALID] ${checksum("--proxy")}`);
    expect(error.message).to.not.include("40 hex digits");
  });

  it("bg:stage's parseAddress says checksum, not '40 hex digits', and keeps its other messages", async () => {
    expect((await refusal(() => parseAddress(BAD_CHECKSUM, "--proxy"))).message).to.equal(`[BG_STAGE_ADDRESS_INVALID] ${checksum("--proxy")}`);
    expect((await refusal(() => parseAddress("0x1234", "--proxy"))).message).to.equal(
      '[BG_STAGE_ADDRESS_INVALID] "0x1234" is not a valid address for --proxy. Pass a 0x-prefixed 20-byte hex address (40 hex digits).',
    );
    expect((await refusal(() => parseAddress("", "--proxy"))).message).to.equal("[BG_STAGE_ADDRESS_INVALID] Missing --proxy. Pass it as a 0x-prefixed 20-byte address.");
  });

  it("the approval commands' address options and --args say the same", async () => {
    expect(parseAddressOption(GOOD.toLowerCase(), "--signer")).to.equal(GOOD);
    expect((await refusal(() => parseAddressOption(BAD_CHECKSUM, "--signer"))).message).to.equal(`[BG_APPROVAL_CLI_ARGS] ${checksum("--signer")}`);
    expect((await refusal(() => parseCallArgs(JSON.stringify([GOOD, BAD_CHECKSUM])))).message).to.equal(`[BG_APPROVAL_CLI_ARGS] ${checksum("--args[1]")}`);
    // Not addresses, or addresses without a checksum: left to the function's ABI.
    expect(parseCallArgs(JSON.stringify([GOOD.toLowerCase(), "0x" + "AB".repeat(20), "7"]))).to.deep.equal([GOOD.toLowerCase(), "0x" + "AB".repeat(20), "7"]);
  });

  it("the mirror's --proxy says the same, and still refuses what is not an address", async () => {
    const out = path.join(await mkdtemp(path.join(tmpdir(), "bg-mirror-addr-")), "capture.jsonl");
    const error = await refusal(() => startMirror({ upstream: "http://127.0.0.1:1", proxy: BAD_CHECKSUM, out }));
    expect(error.message).to.equal(`[BG_REPLAY_MIRROR_OPTION] ${checksum("--proxy")}`);
    expect((await refusal(() => startMirror({ upstream: "http://127.0.0.1:1", proxy: "0xnope", out }))).message).to.equal(
      '[BG_REPLAY_MIRROR_OPTION] --proxy "0xnope" is not an address. Pass the proxy\'s 0x-prefixed address.',
    );
  });
});
