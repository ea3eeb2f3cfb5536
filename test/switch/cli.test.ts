import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { ContractFactory, JsonRpcProvider, Wallet, getAddress } from "ethers";

import { ReleaseStore } from "../../src/release/store.js";
import { loadSwitchArtifact } from "../../src/switch/artifact.js";
import { writeSwitchFile } from "../../src/switch/switch-file.js";
import { deployBoxBehindProxy, readArtifact } from "../helpers/box.js";
import { onlyJson, runHardhat } from "../helpers/cli.js";
import { type RunningNode, startNode } from "../helpers/nodes.js";

const CONFIG = path.join("test", "switch", "cli-project", "hardhat.config.ts");

for (const kind of ["anvil", "hardhat"] as const) {
  describe(`bg:init and bg:adopt from the command line, against a separate ${kind} node`, function () {
    let node: RunningNode;
    let env: Record<string, string>;
    let provider: JsonRpcProvider;
    let approver: string;
    let guardian: string;

    before(async () => {
      node = await startNode(kind);
      const scratch = await mkdtemp(path.join(tmpdir(), "bg-switch-cli-"));
      env = {
        BLUEGREEN_RPC_URL: node.url,
        BG_TEST_CACHE: path.join(scratch, "cache"),
        BG_TEST_ARTIFACTS: path.join(scratch, "artifacts"),
      };
      provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
      const accounts = (await provider.send("eth_accounts", [])) as string[];
      approver = getAddress(accounts[1]!);
      guardian = getAddress(accounts[2]!);
    });
    beforeEach(async () => {
      // Each test starts from a project with no switch recorded.
      env.BG_TEST_RECORDS = await mkdtemp(path.join(tmpdir(), "bg-switch-records-"));
    });
    after(async () => {
      provider?.destroy();
      await node?.stop();
    });

    const hardhat = (...args: string[]) => runHardhat(["--config", CONFIG, "--network", "localMainnet", ...args], env);

    it("bg:init deploys the switch, records it, and reuses it when run again", async function () {
      const run = await hardhat("bg:init", "--approver", approver, "--guardians", guardian, "--rollback-delay", "10m", "--json");
      expect(run.code, run.stderr).to.equal(0);
      const doc = onlyJson(run);
      expect(doc).to.deep.include({ ok: true, approver, guardians: [guardian], rollbackDelay: 600, rollbackWindow: 604800, reused: false });
      expect(await provider.getCode(doc.switch)).to.not.equal("0x");
      const file = JSON.parse(await readFile(path.join(env.BG_TEST_RECORDS!, "31337", "switch.json"), "utf8"));
      expect(file).to.deep.include({ address: doc.switch, approver, deployTx: doc.deployTx });

      const again = onlyJson(await hardhat("bg:init", "--approver", approver, "--guardians", guardian, "--rollback-delay", "600", "--json"));
      expect(again).to.deep.include({ ok: true, switch: doc.switch, reused: true });

      const people = await hardhat("bg:init", "--approver", approver, "--guardians", guardian, "--rollback-delay", "600");
      expect(people.code).to.equal(0);
      expect(people.stdout).to.match(/Reusing the BlueGreenSwitch at/);
      // The next command is given for the network this one ran on.
      expect(people.stdout).to.contain("Next: npx hardhat bg:adopt --network localMainnet --proxy");
    });

    it("bg:init fails clearly, in JSON, without an approver or with other settings than the recorded switch", async function () {
      const missing = await hardhat("bg:init", "--json");
      expect(missing.code).to.equal(1);
      expect(onlyJson(missing)).to.deep.equal({
        ok: false,
        error: "[BG_SWITCH_OPTIONS] Missing --approver. Pass the address that approves releases (usually a Safe): --approver 0x…",
        code: "BG_SWITCH_OPTIONS",
        docs: "hardhat-bluegreen/docs/errors.md#bg_switch_options",
      });
      await hardhat("bg:init", "--approver", approver, "--guardians", guardian, "--rollback-delay", "600", "--json");
      const other = await hardhat("bg:init", "--approver", approver, "--guardians", guardian, "--rollback-delay", "900", "--json");
      expect(other.code).to.equal(1);
      expect(onlyJson(other).error).to.match(/already deployed .* other settings: rollback delay 600s, not 900s/);
    });

    it("bg:adopt moves a proxy owned by a local account under the switch; a second run finds it adopted", async function () {
      const init = onlyJson(await hardhat("bg:init", "--approver", approver, "--guardians", guardian, "--rollback-delay", "600", "--json"));
      const box = await deployBoxBehindProxy(node.url);
      try {
        const run = await hardhat("bg:adopt", "--proxy", box.proxy, "--json");
        expect(run.code, run.stderr + run.stdout).to.equal(0);
        const doc = onlyJson(run);
        expect(doc).to.deep.include({
          ok: true,
          proxy: getAddress(box.proxy),
          proxyAdmin: box.proxyAdmin,
          switch: init.switch,
          implementation: getAddress(box.blue),
          alreadyAdopted: false,
        });
        const owner = await new (await import("ethers")).Contract(box.proxyAdmin, ["function owner() view returns (address)"], provider).getFunction("owner")();
        expect(owner).to.equal(init.switch);
        const again = onlyJson(await hardhat("bg:adopt", "--proxy", box.proxy, "--json"));
        expect(again).to.deep.include({ ok: true, alreadyAdopted: true });
      } finally {
        box.provider.destroy();
      }
    });

    it("bg:adopt stops with ok:false and the exact call when the ProxyAdmin owner is not a local account", async function () {
      await hardhat("bg:init", "--approver", approver, "--guardians", guardian, "--rollback-delay", "600", "--json");
      const deployer = await provider.getSigner(0);
      const outsider = Wallet.createRandom().address;
      const v1 = await readArtifact("contracts/examples/BoxV1.sol", "BoxV1");
      const proxyArtifact = await readArtifact(
        "@openzeppelin/contracts/proxy/transparent/TransparentUpgradeableProxy.sol",
        "TransparentUpgradeableProxy",
      );
      const blue = await (await new ContractFactory(v1.abi, v1.bytecode, deployer).deploy()).waitForDeployment();
      const init = blue.interface.encodeFunctionData("initialize", [outsider]);
      const proxy = await (await new ContractFactory(proxyArtifact.abi, proxyArtifact.bytecode, deployer).deploy(await blue.getAddress(), outsider, init)).waitForDeployment();
      const run = await hardhat("bg:adopt", "--proxy", await proxy.getAddress(), "--json");
      expect(run.code).to.equal(1);
      const doc = onlyJson(run);
      expect(doc.ok).to.equal(false);
      expect(doc.pending).to.have.length(1);
      expect(doc.pending[0]).to.deep.include({ role: "proxy-admin-owner", from: getAddress(outsider), to: doc.proxyAdmin, value: "0" });
      expect(doc.error).to.match(/not a local account/);

      const people = await hardhat("bg:adopt", "--proxy", await proxy.getAddress());
      expect(people.code).to.equal(1);
      expect(people.stdout).to.include(doc.pending[0].data);
      expect(people.stdout).to.match(/Calls still to be made/);
    });

    /** A contract that is neither a Safe nor a timelock, deployed by account 0 (the user's router). */
    async function deployRouter(): Promise<string> {
      const forwarder = await readArtifact("contracts/test/SwitchTestDoubles.sol", "CallForwarder");
      const router = await new ContractFactory(forwarder.abi, forwarder.bytecode, await provider.getSigner(0)).deploy();
      return getAddress(await (await router.waitForDeployment()).getAddress());
    }

    it("bg:init refuses an approver contract that is neither a Safe nor a timelock: exit 1, nothing deployed or recorded", async function () {
      const router = await deployRouter();
      const deployer = await (await provider.getSigner(0)).getAddress();
      const nonce = await provider.getTransactionCount(deployer);
      const run = await hardhat("bg:init", "--approver", router, "--guardians", guardian, "--json");
      expect(run.code, run.stderr).to.equal(1);
      const doc = onlyJson(run);
      expect(doc).to.include({ ok: false, code: "BG_SWITCH_APPROVER_KIND", docs: "hardhat-bluegreen/docs/errors.md#bg_switch_approver_kind" });
      expect(doc.error).to.contain(`--approver ${router} is a contract, but neither a Safe (1.3.0 or 1.4.1) nor a TimelockController`);
      expect(doc.hint).to.match(/^Pass as --approver a Safe/);
      const people = await hardhat("bg:init", "--approver", router, "--guardians", guardian);
      expect(people.code).to.equal(1);
      expect(people.stderr).to.contain("[BG_SWITCH_APPROVER_KIND]");
      expect(await provider.getTransactionCount(deployer)).to.equal(nonce);
      expect(await readFile(path.join(env.BG_TEST_RECORDS!, "31337", "switch.json"), "utf8").catch(() => "absent")).to.equal("absent");
    });

    it("bg:adopt of a beacon refuses a switch whose approver it cannot drive, before the beacon's ownership moves", async function () {
      // The user's case: a switch governed by a router contract (deployed outside bg:init), and a beacon owned by a local account.
      const router = await deployRouter();
      const deployer = await provider.getSigner(0);
      const switchArtifact = await loadSwitchArtifact();
      const sw = await new ContractFactory(switchArtifact.abi, switchArtifact.bytecode, deployer).deploy(router, [guardian], 600, 604800);
      const deployment = (await sw.deploymentTransaction()!.wait())!;
      const switchAddress = getAddress(await sw.getAddress());
      await writeSwitchFile(new ReleaseStore(env.BG_TEST_RECORDS!), {
        schemaVersion: 1,
        chainId: 31337,
        address: switchAddress,
        approver: router,
        guardians: [guardian],
        rollbackDelay: 600,
        rollbackWindow: 604800,
        deployTx: deployment.hash,
        blockNumber: deployment.blockNumber,
        deployedAt: new Date().toISOString(),
      });
      const v1 = await readArtifact("contracts/examples/beacon/BeaconBox.sol", "BeaconBoxV1");
      const beaconArtifact = await readArtifact("contracts/examples/beacon/BeaconBox.sol", "BoxBeacon");
      const blue = await (await new ContractFactory(v1.abi, v1.bytecode, deployer).deploy()).waitForDeployment();
      const beacon = await (await new ContractFactory(beaconArtifact.abi, beaconArtifact.bytecode, deployer).deploy(await blue.getAddress(), await deployer.getAddress())).waitForDeployment();
      const beaconAddress = getAddress(await beacon.getAddress());
      const nonce = await provider.getTransactionCount(await deployer.getAddress());

      const run = await hardhat("bg:adopt", "--proxy", beaconAddress, "--json");
      expect(run.code, run.stderr).to.equal(1);
      const doc = onlyJson(run);
      expect(doc).to.include({ ok: false, code: "BG_SWITCH_APPROVER_KIND" });
      expect(doc.error).to.contain(`The approver ${router} of the switch ${switchAddress} is a contract`);
      expect(doc.error).to.contain(`nothing was sent, and ${beaconAddress} keeps its owner or admin`);
      expect(doc.hint).to.contain(`proposeApprover(<new approver>) on the switch ${switchAddress} with its own means`);
      expect(doc.error).to.not.contain("bg:call propose --function proposeApprover");
      expect(await beacon.getFunction("owner")()).to.equal(await deployer.getAddress());
      expect(await provider.getTransactionCount(await deployer.getAddress())).to.equal(nonce);
    });

    it("bg:adopt without a recorded switch says to run bg:init", async function () {
      const run = await hardhat("bg:adopt", "--proxy", approver, "--json");
      expect(run.code).to.equal(1);
      expect(onlyJson(run).error).to.match(/No BlueGreenSwitch is recorded .* npx hardhat bg:init --network localMainnet/);
    });
  });
}
