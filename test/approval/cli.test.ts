/**
 * The approval commands as a user runs them, against anvil as "mainnet":
 * a 2-of-3 Safe adopts the proxy with bg:call, then bg:propose, bg:approve,
 * bg:switch and bg:rollback, each with --json.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { Contract, ContractFactory, JsonRpcProvider, type JsonRpcSigner, getAddress } from "ethers";
import hre from "hardhat";

import { createSafe, deploySafeSingletons } from "../../src/approval/deploy-safe-singletons.js";
import { gateResult } from "../../src/gates/gate-result.js";
import { recordGatesRun } from "../../src/gates/gates-step.js";
import { ReleaseStore } from "../../src/release/store.js";
import { stageRelease } from "../../src/stage/stage-release.js";
import { loadSwitchArtifact } from "../../src/switch/artifact.js";
import { writeSwitchFile } from "../../src/switch/switch-file.js";
import { deployBoxBehindProxy, type DeployedBox } from "../helpers/box.js";
import { onlyJson, runHardhat } from "../helpers/cli.js";
import { startNode, type RunningNode } from "../helpers/nodes.js";

const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";

describe("the approval commands on the command line", function () {
  let node: RunningNode;
  let provider: JsonRpcProvider;
  let box: DeployedBox;
  let records: string;
  let env: Record<string, string>;
  let owners: string[];
  let guardian: string;
  let safe: string;
  let green: string;

  const bg = (...args: string[]) => runHardhat([...args, "--network", "localMainnet", "--json"], env);

  before(async () => {
    node = await startNode("anvil");
    provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    provider.pollingInterval = 100;
    const signer = (i: number): Promise<JsonRpcSigner> => provider.getSigner(i);
    const deployer = await signer(0);
    owners = await Promise.all([1, 2, 3].map(async (i) => (await signer(i)).getAddress()));
    guardian = await (await signer(4)).getAddress();
    records = await mkdtemp(path.join(tmpdir(), "bg-approval-cli-"));
    env = { BLUEGREEN_RPC_URL: node.url, BLUEGREEN_RECORDS_DIR: records };

    await deploySafeSingletons(deployer);
    safe = await createSafe(deployer, { owners, threshold: 2 });
    const artifact = await loadSwitchArtifact();
    const sw = await new ContractFactory(artifact.abi, artifact.bytecode, deployer).deploy(safe, [guardian], 60, 3600);
    const deployment = await sw.deploymentTransaction()!.wait();
    const store = new ReleaseStore(records);
    await writeSwitchFile(store, {
      schemaVersion: 1,
      chainId: 31337,
      address: getAddress(await sw.getAddress()),
      approver: safe,
      guardians: [guardian],
      rollbackDelay: 60,
      rollbackWindow: 3600,
      deployTx: deployment!.hash,
      blockNumber: deployment!.blockNumber,
      deployedAt: new Date().toISOString(),
    });
    box = await deployBoxBehindProxy(node.url);
    const admin = new Contract(box.proxyAdmin, ["function transferOwnership(address)"], box.owner);
    await (await admin.getFunction("transferOwnership")(await sw.getAddress())).wait();

    // The Safe adopts the proxy through the general approver-call commands.
    const proposed = await bg("bg:call", "propose", "--function", "adopt", "--args", JSON.stringify([box.proxy, box.proxyAdmin, box.blue]));
    expect(proposed.code).to.equal(0, proposed.stderr + proposed.stdout);
    const call = onlyJson(proposed).call as string;
    for (const owner of owners.slice(0, 2)) {
      const approved = await bg("bg:approve", "--call", call, "--signer", owner);
      expect(approved.code).to.equal(0, approved.stderr + approved.stdout);
    }
    const adopted = await bg("bg:call", "execute", "--call", call);
    expect(adopted.code).to.equal(0, adopted.stderr + adopted.stdout);
    expect(onlyJson(adopted).ok).to.equal(true);

    // Staged by bg:stage's own code, gated by the gates' own recorder.
    const staged = await stageRelease({
      provider: { request: ({ method, params }) => provider.send(method, (params as unknown[]) ?? []) },
      signer: deployer,
      artifacts: hre.artifacts,
      store,
      networkName: "localMainnet",
      config: { unsafeAllow: [], unsafeAllowRenames: false },
      proxy: box.proxy,
      contract: "BoxV2",
      reference: "BoxV1",
      releaseId: "cli-v2",
    });
    green = staged.record.green.address;
    await recordGatesRun(store, staged.record, [gateResult("safety", "pass", true, "ok")], { actor: "test" });
  });

  after(async () => {
    provider?.destroy();
    await node?.stop();
    if (records !== undefined) await rm(records, { recursive: true, force: true });
  });

  it("bg:adopt hands the ProxyAdmin over and proposes adopt through the Safe approver, then confirms it", async () => {
    const other = await deployBoxBehindProxy(node.url);
    const first = await bg("bg:adopt", "--proxy", other.proxy);
    expect(first.code).to.not.equal(0);
    const pending = onlyJson(first);
    expect(pending.ok).to.equal(false);
    expect(pending.ownershipTransferTx).to.match(/^0x[0-9a-f]{64}$/);
    expect(pending.safeProposal.call).to.be.a("string");
    expect(pending.error).to.include("is a Safe");
    for (const [i, owner] of owners.slice(1, 3).entries()) {
      const approved = await runHardhat(["bg:approve", "--call", pending.safeProposal.call, "--signer", owner, "--network", "localMainnet"], env);
      expect(approved.code).to.equal(0, approved.stderr + approved.stdout);
      // The signer sees what it signs; after the last signature, the hint names no command that did not propose it.
      expect(approved.stdout).to.include(other.proxy).and.include("safeTxHash");
      if (i === 1) {
        expect(approved.stdout).to.include(`bg:call execute --call ${pending.safeProposal.call}`);
        expect(approved.stdout).to.not.include("bg:rollback / bg:finalize");
      }
    }
    const executed = await bg("bg:call", "execute", "--call", pending.safeProposal.call);
    expect(executed.code).to.equal(0, executed.stderr + executed.stdout);
    const confirmed = await bg("bg:adopt", "--proxy", other.proxy);
    expect(confirmed.code).to.equal(0, confirmed.stderr + confirmed.stdout);
    expect(onlyJson(confirmed)).to.include({ ok: true, alreadyAdopted: true, implementation: other.blue });
  });

  it("proposes, collects two signatures, refuses to switch with one, switches with two, and rolls back", async () => {
    const safeNonce = Number(await new Contract(safe, ["function nonce() view returns (uint256)"], provider).getFunction("nonce")());
    const proposed = await bg("bg:propose", "--release", "cli-v2");
    expect(proposed.code).to.equal(0, proposed.stderr + proposed.stdout);
    const doc = onlyJson(proposed);
    expect(Object.keys(doc).sort()).to.deep.equal(["builderFile", "data", "nonce", "ok", "safe", "safeTxHash", "to"]);
    expect(doc).to.include({ ok: true, safe, nonce: safeNonce });
    expect(doc.safeTxHash).to.match(/^0x[0-9a-f]{64}$/);
    expect(doc.builderFile).to.include("safe-tx-builder.json");

    const first = await bg("bg:approve", "--release", "cli-v2", "--signer", owners[2]!);
    expect(onlyJson(first)).to.deep.equal({ ok: true, signatures: 1, threshold: 2, missing: 1 });

    const early = await bg("bg:switch", "--release", "cli-v2");
    expect(early.code).to.not.equal(0);
    expect(onlyJson(early)).to.deep.include({ ok: false, txHash: null, implementation: null, missing: 1 });

    const outsider = await bg("bg:approve", "--release", "cli-v2", "--signer", guardian);
    expect(outsider.code).to.not.equal(0);
    expect(onlyJson(outsider).error).to.match(/not an owner/);

    const second = await bg("bg:approve", "--release", "cli-v2", "--signer", owners[0]!);
    expect(onlyJson(second)).to.deep.equal({ ok: true, signatures: 2, threshold: 2, missing: 0 });

    const switched = await bg("bg:switch", "--release", "cli-v2");
    expect(switched.code).to.equal(0, switched.stderr + switched.stdout);
    const switchDoc = onlyJson(switched);
    expect(Object.keys(switchDoc).sort()).to.deep.equal(["implementation", "ok", "txHash"]);
    expect(switchDoc).to.include({ ok: true, implementation: green });
    expect(getAddress("0x" + (await provider.getStorage(box.proxy, IMPLEMENTATION_SLOT)).slice(-40))).to.equal(green);

    const scheduled = await bg("bg:rollback", "--release", "cli-v2", "--signer", guardian);
    expect(scheduled.code).to.equal(0, scheduled.stderr + scheduled.stdout);
    const rollbackDoc = onlyJson(scheduled);
    expect(rollbackDoc).to.include({ ok: true, state: "rollback-scheduled" });
    expect(Date.parse(rollbackDoc.readyAt)).to.be.greaterThan(Date.parse("2020-01-01"));

    const tooSoon = await bg("bg:rollback", "--release", "cli-v2", "--execute");
    expect(tooSoon.code).to.not.equal(0);
    expect(onlyJson(tooSoon).error).to.match(/executable from/);

    await provider.send("evm_increaseTime", [61]);
    await provider.send("evm_mine", []);
    const executed = await bg("bg:rollback", "--release", "cli-v2", "--execute");
    expect(executed.code).to.equal(0, executed.stderr + executed.stdout);
    expect(onlyJson(executed)).to.include({ ok: true, state: "rolled-back" });
    expect(getAddress("0x" + (await provider.getStorage(box.proxy, IMPLEMENTATION_SLOT)).slice(-40))).to.equal(box.blue);
  });
});
