import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { Interface } from "ethers";

import {
  SWITCH_CONTRACT_NAME,
  loadSwitchArtifact,
  packageRoot,
  readSwitchArtifact,
  switchArtifactCandidates,
} from "../../src/switch/artifact.js";
import { decodeSwitchRevert, findRevertData } from "../../src/switch/read-switch.js";
import { explainSwitchRevert } from "../../src/switch/switch-errors.js";
import { duration } from "../../src/ui/switch-view.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

describe("the switch artifact", function () {
  it("is found from the package root: the shipped copy first, then this repository's build", function () {
    expect(packageRoot()).to.equal(ROOT);
    expect(switchArtifactCandidates(ROOT)).to.deep.equal([
      path.join(ROOT, "artifacts-dist", "contracts", "BlueGreenSwitch.sol", "BlueGreenSwitch.json"),
      path.join(ROOT, "artifacts", "contracts", "BlueGreenSwitch.sol", "BlueGreenSwitch.json"),
    ]);
  });

  it("prefers the shipped copy when both exist", async function () {
    const dir = await mkdtemp(path.join(tmpdir(), "bg-artifact-"));
    const [shipped, built] = switchArtifactCandidates(dir) as [string, string];
    const fake = (bytecode: string) => ({ contractName: SWITCH_CONTRACT_NAME, sourceName: "x", abi: [], bytecode, deployedBytecode: "0x" });
    for (const [file, bytecode] of [
      [shipped, "0x01"],
      [built, "0x02"],
    ] as const) {
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, JSON.stringify(fake(bytecode)));
    }
    expect((await readSwitchArtifact([shipped, built])).bytecode).to.equal("0x01");
    expect((await readSwitchArtifact([path.join(dir, "missing.json"), built])).bytecode).to.equal("0x02");
  });

  it("says how to get it when it is missing, and refuses a file that is not the switch", async function () {
    const dir = await mkdtemp(path.join(tmpdir(), "bg-artifact-"));
    let message = "";
    try {
      await readSwitchArtifact([path.join(dir, "a.json")]);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).to.match(/BlueGreenSwitch artifact is missing \(looked in .*a\.json\)\. Reinstall hardhat-bluegreen.*`npx hardhat build`/);
    const other = path.join(dir, "other.json");
    await writeFile(other, JSON.stringify({ contractName: "BoxV1", abi: [], bytecode: "0x01" }));
    try {
      await readSwitchArtifact([other]);
      expect.fail("accepted another contract");
    } catch (e) {
      expect((e as Error).message).to.match(/is not a BlueGreenSwitch artifact/);
    }
  });

  it("carries the fixed interface other tools depend on", async function () {
    const iface = new Interface((await loadSwitchArtifact()).abi);
    const events = iface.fragments.filter((f) => f.type === "event").map((f) => f.format("sighash"));
    expect(events).to.include.members([
      "Adopted(address,address,address,uint8)",
      "Promoted(address,address,address,bytes32,bytes32,uint64,uint64,bytes32,uint64)",
      "RollbackScheduled(address,address,uint64)",
      "RollbackCancelled(address,address)",
      "RolledBack(address,address,address,address,bool)",
      "Finalized(address,address,address)",
      "Released(address,address)",
      "ProxyReleased(address,address,address,uint8)",
      "CancellerAdded(address)",
      "CancellerRemoved(address)",
    ]);
    const indexed = (name: string) => iface.getEvent(name)!.inputs.map((i) => i.indexed);
    expect(indexed("Promoted")).to.deep.equal([true, true, true, false, false, false, false, false, false]);
    expect(indexed("RolledBack")).to.deep.equal([true, true, true, false, false]);
    const functions = iface.fragments.filter((f) => f.type === "function").map((f) => f.format("sighash"));
    expect(functions).to.include.members([
      "adopt(address,address,address)",
      "promote(address,address,bytes32,address,bytes,bytes32)",
      "promoteBatch((address,address,bytes32,address,bytes,bytes32)[])",
      "scheduleRollback(address)",
      "cancelRollback(address)",
      "executeRollback(address)",
      "rollbackNow(address)",
      "finalize(address)",
      "release(address,address)",
      "proposeApprover(address)",
      "acceptApprover()",
      "addGuardian(address)",
      "removeGuardian(address)",
      "addCanceller(address)",
      "removeCanceller(address)",
      "isCanceller(address)",
      "releaseProxies(address)",
      "proxyState(address)",
      "currentImplementation(address)",
      "previousImplementation(address)",
      "isGuardian(address)",
      "approver()",
      "pendingApprover()",
      "rollbackDelay()",
      "rollbackWindow()",
    ]);
  });
});

describe("switch errors for people", function () {
  it("finds revert data nested in an error and explains it", async function () {
    const iface = new Interface((await loadSwitchArtifact()).abi);
    const data = iface.encodeErrorResult("RollbackNotReady", ["0x00000000000000000000000000000000000000a1", 1234]);
    const wrapped = { message: "call failed", info: { error: { data } } };
    expect(findRevertData(wrapped)).to.equal(data);
    const revert = await decodeSwitchRevert(wrapped);
    expect(revert).to.deep.equal({
      name: "RollbackNotReady",
      args: ["0x00000000000000000000000000000000000000A1", "1234"],
      signature: "RollbackNotReady(0x00000000000000000000000000000000000000A1, 1234)",
    });
    expect(explainSwitchRevert(revert!)).to.match(/delay has not passed yet/);
    expect(await decodeSwitchRevert(new Error("no data"))).to.equal(undefined);
    expect(await decodeSwitchRevert({ data: "0xdeadbeef" })).to.equal(undefined);
  });

  it("shows durations in both units and seconds", function () {
    expect(duration(3600)).to.equal("1h (3600s)");
    expect(duration(604800)).to.equal("7d (604800s)");
    expect(duration(90061)).to.equal("1d 1h 1m 1s (90061s)");
    expect(duration(45)).to.equal("45s (45s)");
  });
});
