/**
 * The approval commands on a Safe 1.3.0 (SafeL2) against anvil, as a team that
 * finishes in the Safe web app: bg:propose, then two owners sign and execute
 * with Safe's own SDK outside the plugin; bg:status --json sees the execution
 * and bg:switch --json records it, with the executor, instead of calling the
 * proposal stale. (Before 1.3.0 was supported, bg:switch exited 1 here.)
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
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
import { SigningMethod, kitTransaction, safeKit } from "./protocol-kit.js";

const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";

describe("the approval commands with a Safe 1.3.0 whose owners execute in the Safe app", function () {
  let node: RunningNode;
  let provider: JsonRpcProvider;
  let box: DeployedBox;
  let records: string;
  let env: Record<string, string>;
  let owners: string[];
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
    const guardian = await (await signer(4)).getAddress();
    records = await mkdtemp(path.join(tmpdir(), "bg-approval-cli130-"));
    env = { BLUEGREEN_RPC_URL: node.url, BLUEGREEN_RECORDS_DIR: records };

    await deploySafeSingletons(deployer, undefined, "1.3.0");
    safe = await createSafe(deployer, { owners, threshold: 2, version: "1.3.0", singleton: "SafeL2" });
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

    // The 1.3.0 Safe adopts the proxy through the plugin's own commands.
    const proposed = await bg("bg:call", "propose", "--function", "adopt", "--args", JSON.stringify([box.proxy, box.proxyAdmin, box.blue]));
    expect(proposed.code).to.equal(0, proposed.stderr + proposed.stdout);
    const call = onlyJson(proposed).call as string;
    for (const owner of owners.slice(0, 2)) {
      const approved = await bg("bg:approve", "--call", call, "--signer", owner);
      expect(approved.code).to.equal(0, approved.stderr + approved.stdout);
    }
    const adopted = await bg("bg:call", "execute", "--call", call);
    expect(adopted.code).to.equal(0, adopted.stderr + adopted.stdout);
    expect(onlyJson(adopted)).to.include({ ok: true, executedElsewhere: false });

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
      releaseId: "cli-130",
    });
    green = staged.record.green.address;
    await recordGatesRun(store, staged.record, [gateResult("safety", "pass", true, "ok")], { actor: "test" });
  });

  after(async () => {
    provider?.destroy();
    await node?.stop();
    if (records !== undefined) await rm(records, { recursive: true, force: true });
  });

  it("bg:status and bg:switch recognize a promote executed in the Safe app and record who sent it", async () => {
    const proposed = await bg("bg:propose", "--release", "cli-130");
    expect(proposed.code).to.equal(0, proposed.stderr + proposed.stdout);
    const doc = onlyJson(proposed);

    // Two owners sign and the second executes with protocol-kit, as the Safe web app does.
    const kitA = await safeKit(node.url, 31337n, safe, owners[0]!, "1.3.0");
    const kitB = await safeKit(node.url, 31337n, safe, owners[1]!, "1.3.0");
    let tx = await kitA.signTransaction(await kitTransaction(kitA, { to: doc.to, data: doc.data }, doc.nonce), SigningMethod.ETH_SIGN_TYPED_DATA_V4);
    tx = await kitB.signTransaction(tx, SigningMethod.ETH_SIGN_TYPED_DATA_V4);
    expect(await kitA.getTransactionHash(tx)).to.equal(doc.safeTxHash);
    const executed = await kitB.executeTransaction(tx);
    await provider.waitForTransaction(executed.hash);

    const status = await bg("bg:status", "--release", "cli-130");
    expect(onlyJson(status).approvals).to.deep.equal([{ release: "cli-130", status: "executed", txHash: executed.hash, executor: owners[1] }]);

    const switched = await bg("bg:switch", "--release", "cli-130");
    expect(switched.code).to.equal(0, switched.stderr + switched.stdout);
    expect(onlyJson(switched)).to.include({ ok: true, txHash: executed.hash, implementation: green });
    expect(getAddress("0x" + (await provider.getStorage(box.proxy, IMPLEMENTATION_SLOT)).slice(-40))).to.equal(green);
    const record = JSON.parse(await readFile(path.join(records, "31337", "cli-130", "release.json"), "utf8"));
    expect(record.state).to.equal("live");
    expect(record.steps.switch).to.include({ txHash: executed.hash, executor: owners[1], executedElsewhere: true });
  });
});
