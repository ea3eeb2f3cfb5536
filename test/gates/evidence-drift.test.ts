/**
 * Issue 19 on the command line: bg:gates records evidence only about a
 * release bg:status shows matching the chain; a hand-edited gates step gets
 * advice that works and is never rewritten, by bg:gates or bg:replay; and
 * bg:stage's --proxy with a wrong checksum says so.
 */
import { mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { ContractFactory, keccak256 } from "ethers";

import { type ReleaseRecord } from "../../src/release/record.js";
import { ReleaseStore } from "../../src/release/store.js";
import { onlyJson, runHardhat } from "../helpers/cli.js";
import { deployBoxBehindProxy, readArtifact, type DeployedBox } from "../helpers/box.js";
import { startNode, type RunningNode } from "../helpers/nodes.js";
import { stagedRecord } from "../helpers/record-fixture.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

describe("bg:gates and bg:replay refuse what bg:status would not show clean (issue 19)", function () {
  let node: RunningNode;

  before(async () => {
    node = await startNode("anvil");
  });
  after(async () => node?.stop());

  /** A release staged for real: BoxV1 behind a proxy as blue, a deployed BoxV2 as green, its record in a fresh folder. */
  async function world(release = "box-v2") {
    const box: DeployedBox = await deployBoxBehindProxy(node.url);
    const v2 = await readArtifact("contracts/examples/BoxV2.sol", "BoxV2");
    const green = await new ContractFactory(v2.abi, v2.bytecode, box.owner).deploy();
    await green.waitForDeployment();
    const greenAddress = await green.getAddress();
    const base = stagedRecord(release, 31337);
    const record: ReleaseRecord = {
      ...base,
      proxy: box.proxy,
      admin: box.proxyAdmin,
      blue: { address: box.blue, codehash: keccak256(await box.provider.getCode(box.blue)) },
      green: { ...base.green, address: greenAddress, codehash: keccak256(await box.provider.getCode(greenAddress)), contract: "BoxV2" },
    };
    const recordsDir = await mkdtemp(path.join(tmpdir(), "bg-evidence-drift-"));
    const store = new ReleaseStore(recordsDir);
    await store.update(31337, release, () => record);
    const env = { BLUEGREEN_RPC_URL: node.url, BLUEGREEN_RECORDS_DIR: recordsDir };
    const hardhat = (...args: string[]) => runHardhat(args, env);
    const file = store.recordPath(31337, release);
    return { box, store, record, greenAddress, file, rel: path.relative(ROOT, file), hardhat };
  }

  it("records evidence for a release that matches the chain, and refuses once green's code drifted, writing nothing", async () => {
    const w = await world();
    const clean = await w.hardhat("bg:gates", "--network", "localMainnet", "--release", "box-v2", "--json");
    expect(clean.code).to.equal(0, clean.stdout + clean.stderr);
    expect(onlyJson(clean)).to.include({ ok: true, state: "gated" });

    // Someone replaces green's code (a metamorphic contract, a chain reorganised under it): bg:status reports green.codehash drift.
    const other = await readArtifact("contracts/examples/BoxV1.sol", "BoxV1");
    await w.box.provider.send("anvil_setCode", [w.greenAddress, other.deployedBytecode]);
    const onChain = keccak256(other.deployedBytecode);
    const before = await readFile(w.file, "utf8");
    const filesBefore = await readdir(path.dirname(w.file));

    const run = await w.hardhat("bg:gates", "--network", "localMainnet", "--release", "box-v2", "--json");
    expect(run.code).to.not.equal(0);
    const doc = onlyJson(run);
    expect(doc.code).to.equal("BG_GATES_CHAIN_DRIFT");
    expect(doc.error).to.equal(
      `[BG_GATES_CHAIN_DRIFT] Release "box-v2" does not match the chain, as bg:status shows, so bg:gates evaluated and recorded nothing. ` +
        `green.codehash: Green's code at ${w.greenAddress} is not the staged code. Do not promote it; stage again. Recorded ${w.record.green.codehash}, on chain ${onChain}. ` +
        `Do not propose this green: stage it again (npx hardhat bg:stage --network <net> --proxy ${w.box.proxy} --contract BoxV2), then run bg:gates on the staged release.`,
    );
    expect(await readFile(w.file, "utf8")).to.equal(before);
    expect(await readdir(path.dirname(w.file))).to.deep.equal(filesBefore);
  });

  it("refuses when the proxy no longer runs blue, naming what it runs", async () => {
    const w = await world();
    const v2 = await readArtifact("contracts/examples/BoxV2.sol", "BoxV2");
    const elsewhere = await new ContractFactory(v2.abi, v2.bytecode, w.box.owner).deploy();
    await elsewhere.waitForDeployment();
    const { Contract } = await import("ethers");
    const admin = new Contract(w.box.proxyAdmin, ["function upgradeAndCall(address,address,bytes) payable"], w.box.owner);
    await (await admin.getFunction("upgradeAndCall")(w.box.proxy, await elsewhere.getAddress(), "0x")).wait();
    const before = await readFile(w.file, "utf8");
    const run = await w.hardhat("bg:gates", "--network", "localMainnet", "--release", "box-v2", "--json");
    expect(run.code).to.not.equal(0);
    const doc = onlyJson(run);
    expect(doc.code).to.equal("BG_GATES_CHAIN_DRIFT");
    expect(doc.error).to.include(
      `implementation: The proxy runs an unknown implementation (${await elsewhere.getAddress()}), but a staged release expects ${w.box.blue}. ` +
        `Someone upgraded it outside this release, or a step was not recorded. Recorded ${w.box.blue}, on chain ${await elsewhere.getAddress()}.`,
    );
    expect(doc.hint).to.equal(
      "Find out who changed the proxy (npx hardhat bg:status shows the same drift); put it back, or stage a new release from what it runs now, then run bg:gates.",
    );
    expect(await readFile(w.file, "utf8")).to.equal(before);
  });

  it("a hand-edited steps.gates: bg:gates names file and field with a fix that works, and neither bg:gates nor bg:replay rewrites it", async () => {
    const w = await world();
    expect((await w.hardhat("bg:gates", "--network", "localMainnet", "--release", "box-v2", "--json")).code).to.equal(0);
    const doc = JSON.parse(await readFile(w.file, "utf8"));
    doc.steps.gates.evidenceHash = "0x1234";
    const edited = JSON.stringify(doc, null, 4);
    await writeFile(w.file, edited);
    const advice =
      `Restore it from git (git checkout -- ${w.rel}), or delete the "gates" entry under "steps" in that file and run bg:gates again to record it afresh.`;

    const gates = await w.hardhat("bg:gates", "--network", "localMainnet", "--release", "box-v2", "--json");
    expect(gates.code).to.not.equal(0);
    expect(onlyJson(gates)).to.include({
      code: "BG_GATES_EVIDENCE_UNREADABLE",
      error:
        `[BG_GATES_EVIDENCE_UNREADABLE] The gates evidence of release "box-v2" is unreadable: steps.gates.evidenceHash must be a 0x-prefixed 32-byte hash (in ${w.rel}). ` +
        `bg:gates will not overwrite a step it cannot read. ${advice}`,
    });

    const replay = await w.hardhat("bg:replay", "--network", "localMainnet", "--release", "box-v2", "--last-blocks", "1", "--json");
    expect(replay.code).to.not.equal(0);
    expect(onlyJson(replay)).to.include({
      code: "BG_RECORD_STEP_INVALID",
      error:
        `[BG_RECORD_STEP_INVALID] ${w.rel} (release "box-v2", chain 31337) has an unreadable steps.gates.evidenceHash: must be a 0x-prefixed 32-byte hash. ` +
        `It was left untouched, and no command writes this record until it is fixed. ${advice}`,
    });
    expect(await readFile(w.file, "utf8")).to.equal(edited);
    expect((await readdir(path.dirname(w.file))).filter((f) => f.startsWith("replay-"))).to.deep.equal([]);

    // The advised fix: drop the entry, and bg:gates records afresh.
    delete doc.steps.gates;
    await writeFile(w.file, JSON.stringify(doc, null, 4));
    const again = await w.hardhat("bg:gates", "--network", "localMainnet", "--release", "box-v2", "--json");
    expect(again.code).to.equal(0, again.stdout + again.stderr);
    expect(onlyJson(again)).to.include({ ok: true, state: "gated" });
  });

  it("a record in another release's folder is refused by bg:gates, and no folder of its id appears", async () => {
    const w = await world("box-v3");
    const doc = JSON.parse(await readFile(w.file, "utf8"));
    doc.id = "box-v9";
    await writeFile(w.file, JSON.stringify(doc, null, 2));
    const run = await w.hardhat("bg:gates", "--network", "localMainnet", "--release", "box-v3", "--json");
    expect(run.code).to.not.equal(0);
    expect(onlyJson(run)).to.include({
      code: "BG_RECORD_FOLDER_MISMATCH",
      error:
        `[BG_RECORD_FOLDER_MISMATCH] ${w.rel} does not belong in its folder: "id" is "box-v9" but its folder is release "box-v3". ` +
        `It was left untouched, and no command writes it until this is fixed. Restore it from git (git checkout -- ${w.rel}), or set "id" to "box-v3" if the file is in the right folder.`,
    });
    expect(await w.store.listIds(31337)).to.deep.equal(["box-v3"]);
  });

  it("bg:stage --proxy with a wrong EIP-55 checksum says checksum, not '40 hex digits'", async () => {
    const w = await world();
    const wrong = w.box.proxy.replace(/[a-f]/, (c) => c.toUpperCase());
    expect(wrong).to.not.equal(w.box.proxy);
    const run = await w.hardhat("bg:stage", "--network", "localMainnet", "--proxy", wrong, "--contract", "BoxV2", "--reference", "BoxV1", "--release", "checksum", "--json");
    expect(run.code).to.not.equal(0);
    expect(onlyJson(run)).to.include({
      code: "BG_STAGE_ADDRESS_INVALID",
      error: `[BG_STAGE_ADDRESS_INVALID] --proxy: "${wrong}" has an invalid EIP-55 checksum. Copy it again, or write it all in lower case.`,
    });
  });
});
