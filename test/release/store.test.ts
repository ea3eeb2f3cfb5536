import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

import { expect } from "chai";

import { canonicalJson, InvalidTransitionError, transition } from "../../src/release/record.js";
import { ReleaseStore } from "../../src/release/store.js";
import { stagedRecord } from "../helpers/record-fixture.js";

const run = promisify(execFile);
const TSX = path.resolve(import.meta.dirname, "../../node_modules/.bin/tsx");
const WRITER = path.resolve(import.meta.dirname, "../helpers/store-writer.ts");

async function freshStore(): Promise<ReleaseStore> {
  return new ReleaseStore(await mkdtemp(path.join(tmpdir(), "bg-store-")));
}

describe("release record store", () => {
  it("writes a record as stable, sorted, readable JSON and reads it back validated", async () => {
    const store = await freshStore();
    const record = stagedRecord();
    await store.update(31337, record.id, () => record);
    const text = await readFile(store.recordPath(31337, record.id), "utf8");
    expect(text.endsWith("\n")).to.equal(true);
    const keys = Object.keys(JSON.parse(text));
    expect(keys).to.deep.equal([...keys].sort());
    expect(await store.read(31337, record.id)).to.deep.equal(record);
  });

  it("leaves no temporary files behind after atomic writes", async () => {
    const store = await freshStore();
    const record = stagedRecord();
    for (let i = 0; i < 5; i++) {
      await store.update(31337, record.id, () => ({ ...record, steps: { n: { i } } }));
    }
    const files = await readdir(store.releaseDir(31337, record.id));
    expect(files).to.deep.equal(["release.json"]);
  });

  it("serializes concurrent writers from separate processes under the lock, losing no update", async function () {
    this.timeout(120_000);
    const store = await freshStore();
    const record = stagedRecord();
    await store.update(31337, record.id, () => record);
    const startAt = String(Date.now() + 3_000);
    await Promise.all([1, 2, 3].map(() => run(TSX, [WRITER, store.root, record.id, "15", startAt])));
    const final = await store.read(31337, record.id);
    expect(final!.steps.counter).to.deep.equal({ count: 45 });
  });

  it("names the file and the field when a record was hand-edited wrongly, and never overwrites it", async () => {
    const store = await freshStore();
    const record = stagedRecord();
    await store.update(31337, record.id, () => record);
    const file = store.recordPath(31337, record.id);
    const broken = (await readFile(file, "utf8")).replace(record.green.codehash, "0x1234");
    await writeFile(file, broken);
    let error: Error | undefined;
    try {
      await store.update(31337, record.id, (r) => r);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).to.include("release.json is invalid");
    expect(error?.message).to.include('field "green.codehash"');
    expect(error?.message).to.include("git checkout");
    expect(await readFile(file, "utf8")).to.equal(broken);
  });

  it("reports a corrupt (non-JSON) record with its path and leaves it untouched", async () => {
    const store = await freshStore();
    const file = store.recordPath(31337, "vault-v2");
    await store.update(31337, "vault-v2", () => stagedRecord());
    await writeFile(file, '{"schemaVersion": 1, "id": ');
    let message = "";
    try {
      await store.read(31337, "vault-v2");
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).to.match(/release\.json is not valid JSON/);
    expect(await readFile(file, "utf8")).to.equal('{"schemaVersion": 1, "id": ');
  });

  it("refuses a record written by a newer schema version, asking to upgrade", async () => {
    const store = await freshStore();
    await store.update(31337, "vault-v2", () => stagedRecord());
    const file = store.recordPath(31337, "vault-v2");
    const data = JSON.parse(await readFile(file, "utf8"));
    await writeFile(file, JSON.stringify({ ...data, schemaVersion: 99 }));
    let message = "";
    try {
      await store.read(31337, "vault-v2");
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).to.include("schemaVersion 99");
    expect(message).to.include("Upgrade hardhat-bluegreen");
  });

  it("refuses to write an invalid record and keeps the previous one", async () => {
    const store = await freshStore();
    const record = stagedRecord();
    await store.update(31337, record.id, () => record);
    let threw = false;
    try {
      await store.update(31337, record.id, (r) => ({ ...r!, proxy: "not an address" }));
    } catch {
      threw = true;
    }
    expect(threw).to.equal(true);
    expect((await store.read(31337, record.id))!.proxy).to.equal(record.proxy);
  });

  it("rejects release ids that are not safe folder names", async () => {
    const store = await freshStore();
    expect(() => store.recordPath(1, "../escape")).to.throw(/not a valid release id/);
    expect(() => store.recordPath(1, "")).to.throw(/not a valid release id/);
  });

  it("says which releases exist when asked for a missing one", async () => {
    const store = await freshStore();
    await store.update(31337, "vault-v2", () => stagedRecord("vault-v2"));
    let message = "";
    try {
      await store.get(31337, "vault-v3");
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).to.include('No release "vault-v3"');
    expect(message).to.include("Known releases: vault-v2");
  });
});

describe("release lifecycle", () => {
  it("appends every state change to the history with time, actor and tx hash", () => {
    const record = stagedRecord();
    const tx = "0x" + "ab".repeat(32);
    const next = transition(record, "replayed", { actor: "0xabc", txHash: tx, at: new Date("2026-11-23T00:00:00Z") });
    expect(next.state).to.equal("replayed");
    expect(next.history).to.have.length(2);
    expect(next.history[1]).to.deep.equal({ at: "2026-11-23T00:00:00.000Z", state: "replayed", actor: "0xabc", txHash: tx });
    expect(record.history).to.have.length(1);
  });

  it("refuses steps out of order and says what may come next", () => {
    const record = stagedRecord();
    expect(() => transition(record, "live", { actor: "x" })).to.throw(InvalidTransitionError, /from staged it can become: staged, replayed, gated, proposed/);
    const finalized = { ...record, state: "finalized" as const };
    expect(() => transition(finalized, "live", { actor: "x" })).to.throw(/finalized is final/);
  });

  it("hashes records canonically regardless of key order", () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: [3, { f: 4, e: 5 }] } })).to.equal('{"a":{"c":[3,{"e":5,"f":4}],"d":2},"b":1}');
  });
});
