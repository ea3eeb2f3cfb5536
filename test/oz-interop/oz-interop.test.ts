/**
 * bg:* in a project that already uses OpenZeppelin's hardhat-upgrades and
 * Hardhat Ignition (test/oz-interop/project), with the real plugins on a
 * separate anvil, the tools alternating on one proxy as a team would use
 * them: no forceImport, no duplicate deployment, no --reference after the
 * first release.
 */
import { mkdir, mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { Manifest } from "@openzeppelin/upgrades-core";
import { expect } from "chai";
import { Interface, JsonRpcProvider, getAddress } from "ethers";
import solc from "solc";

import type { ReleaseApprovalContext } from "../../src/approval/release-switch.js";
import { proposeRelease, switchRelease } from "../../src/approval/release-switch.js";
import { rollbackNow } from "../../src/approval/release-window.js";
import { gateResult } from "../../src/gates/gate-result.js";
import { recordGatesRun } from "../../src/gates/gates-step.js";
import { ReleaseStore } from "../../src/release/store.js";
import { findBlue } from "../../src/stage/find-blue.js";
import { loadSwitchArtifact } from "../../src/switch/artifact.js";
import { onlyJson, runHardhat, type CliRun } from "../helpers/cli.js";
import { startNode, type RunningNode } from "../helpers/nodes.js";

const PROJECT = path.join("test", "oz-interop", "project");
const CONFIG = path.join(PROJECT, "hardhat.config.ts");
const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";

interface OzResult {
  ok: boolean;
  error?: string;
  proxy?: string;
  implementation?: string;
  admin?: string;
}

/** One story's world: its own anvil, records and Ignition folder; the build output is shared. */
interface Story {
  node: RunningNode;
  provider: JsonRpcProvider;
  env: Record<string, string>;
  records: string;
  ignition: string;
  /** `npx hardhat <args> --network localMainnet` in the interop project. */
  hardhat(args: string[], options?: { asPerson?: boolean }): Promise<CliRun>;
  /** A bg:* command with --json, which must succeed. */
  bg(...args: string[]): Promise<any>;
  /** OpenZeppelin's own API, run in a script of the project with the production build profile. */
  oz(steps: { do: string; contract: string; proxy?: string }[]): Promise<OzResult[]>;
  implementationOf(proxy: string): Promise<string>;
  stop(): Promise<void>;
}

describe("bg:* beside OpenZeppelin's hardhat-upgrades and Hardhat Ignition, on the same proxies", function () {
  let build: string;

  before(async () => {
    // Compiled once for both stories: every command of both builds with the production profile.
    build = await mkdtemp(path.join(tmpdir(), "bg-oz-interop-build-"));
  });
  after(async () => {
    if (build !== undefined) await rm(build, { recursive: true, force: true });
  });

  async function story(): Promise<Story> {
    const node = await startNode("anvil");
    const provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    provider.pollingInterval = 100;
    const root = await mkdtemp(path.join(tmpdir(), "bg-oz-interop-"));
    const records = path.join(root, "records");
    const ignition = path.join(root, "ignition");
    // Ignition only deploys modules found under its own folder; link the project's modules there.
    await mkdir(ignition, { recursive: true });
    await symlink(path.resolve(PROJECT, "ignition", "modules"), path.join(ignition, "modules"));
    const env = {
      BLUEGREEN_RPC_URL: node.url,
      BG_TEST_CACHE: path.join(build, "cache"),
      BG_TEST_ARTIFACTS: path.join(build, "artifacts"),
      BG_TEST_IGNITION: ignition,
      BG_TEST_RECORDS: records,
    };
    const hardhat = (args: string[], options: { asPerson?: boolean } = {}) =>
      runHardhat(["--config", CONFIG, ...args, "--network", "localMainnet"], env, undefined, options);
    return {
      node,
      provider,
      env,
      records,
      ignition,
      hardhat,
      bg: async (...args: string[]) => {
        const run = await hardhat([...args, "--json"]);
        expect(run.code).to.equal(0, `${args.join(" ")}\n${run.stdout}\n${run.stderr}`);
        return onlyJson(run);
      },
      oz: async (steps) => {
        const run = await runHardhat(
          ["--config", CONFIG, "run", "--build-profile", "production", "--network", "localMainnet", path.join(PROJECT, "scripts", "oz-steps.ts")],
          { ...env, OZ_STEPS: JSON.stringify(steps) },
        );
        expect(run.code).to.equal(0, run.stdout + run.stderr);
        const last = run.stdout.trim().split("\n").at(-1)!;
        return JSON.parse(last) as OzResult[];
      },
      implementationOf: async (proxy) => getAddress("0x" + (await provider.getStorage(proxy, IMPLEMENTATION_SLOT)).slice(-40)),
      stop: async () => {
        provider.destroy();
        await node.stop();
        await rm(root, { recursive: true, force: true });
      },
    };
  }

  /** The switch with a plain account as approver (as on a development network), adopting `proxy` through bg:adopt. */
  async function adoptUnderSwitch(s: Story, proxy: string): Promise<{ ctx: ReleaseApprovalContext; approver: Awaited<ReturnType<JsonRpcProvider["getSigner"]>>; adoptText: string }> {
    const approver = await s.provider.getSigner(1);
    const guardian = await s.provider.getSigner(2);
    const init = await s.bg("bg:init", "--approver", await approver.getAddress(), "--guardians", await guardian.getAddress(), "--rollback-delay", "60", "--rollback-window", "3600");
    const adopted = await s.hardhat(["bg:adopt", "--proxy", proxy], { asPerson: true });
    expect(adopted.code).to.equal(0, adopted.stdout + adopted.stderr);
    const artifact = await loadSwitchArtifact();
    const ctx: ReleaseApprovalContext = {
      env: { provider: { request: ({ method, params }) => s.provider.send(method, (params as unknown[]) ?? []) }, chainId: 31337, errors: new Interface(artifact.abi) },
      store: new ReleaseStore(s.records),
      switchAddress: getAddress(init.switch),
      projectRoot: path.dirname(s.records),
    };
    return { ctx, approver, adoptText: adopted.stdout + adopted.stderr };
  }

  /** Gates (one passing check), proposal and switch, by the approval library itself. */
  async function goLive(ctx: ReleaseApprovalContext, releaseId: string, approver: Awaited<ReturnType<JsonRpcProvider["getSigner"]>>): Promise<void> {
    const record = await ctx.store.get(31337, releaseId);
    await recordGatesRun(ctx.store, record, [gateResult("safety", "pass", true, "checked by the interop test")], { actor: "test" });
    await proposeRelease(ctx, releaseId, { actor: "test" });
    const done = await switchRelease(ctx, releaseId, { executor: approver });
    expect(done.status).to.equal("live");
  }

  it("deployProxy, a bg:* release, OZ's validateUpgrade and prepareUpgrade, the next bg:stage without --reference, then a rollback", async () => {
    const s = await story();
    try {
      const deployer = await (await s.provider.getSigner(0)).getAddress();
      const [deployed] = await s.oz([{ do: "deployProxy", contract: "VaultV1" }]);
      expect(deployed!.ok).to.equal(true, deployed!.error);
      const proxy = getAddress(deployed!.proxy!);
      const v1 = getAddress(deployed!.implementation!);

      const { ctx, approver, adoptText } = await adoptUnderSwitch(s, proxy);
      // Adoption says what will now happen to OZ's and Ignition's own upgrades, and how to undo it.
      expect(adoptText).to.include("OwnableUnauthorizedAccount");
      expect(adoptText).to.include("0x118cdaa7");
      expect(adoptText).to.include("--function release");

      // First release: blue comes from the manifest deployProxy wrote; no --reference.
      const first = await s.bg("bg:stage", "--proxy", proxy, "--contract", "VaultV2", "--release", "vault-v2");
      expect(first.blue).to.deep.include({ address: v1, foundBy: "manifest" });
      expect(first.green.buildProfile).to.equal("production");
      expect(first.greenDeployment).to.equal("deployed");
      const green = getAddress(first.green.address);
      const record = JSON.parse(await readFile(path.join(s.records, "31337", "vault-v2", "release.json"), "utf8"));
      // The project's default profile has the optimizer off; the deployed green was built optimized.
      expect(record.green.compiler.settings.optimizer).to.deep.include({ enabled: true });

      // Before the switch, OZ's prepareUpgrade finds bg:stage's green instead of deploying a second copy.
      const nonce = await s.provider.getTransactionCount(deployer);
      const [prepared] = await s.oz([{ do: "prepareUpgrade", contract: "VaultV2", proxy }]);
      expect(prepared).to.deep.equal({ ok: true, implementation: green });
      expect(await s.provider.getTransactionCount(deployer)).to.equal(nonce);

      await goLive(ctx, "vault-v2", approver);
      expect(await s.implementationOf(proxy)).to.equal(green);

      // After the switch, OZ knows green: no "not registered … forceImport". Its own upgrade is refused by the switch-owned ProxyAdmin.
      const [validated, preparedV3, upgraded] = await s.oz([
        { do: "validateUpgrade", contract: "VaultV3", proxy },
        { do: "prepareUpgrade", contract: "VaultV3", proxy },
        { do: "upgradeProxy", contract: "VaultV3", proxy },
      ]);
      expect(validated).to.deep.equal({ ok: true });
      expect(preparedV3!.ok).to.equal(true, preparedV3!.error);
      expect(upgraded!.ok).to.equal(false);
      expect(upgraded!.error).to.match(/OwnableUnauthorizedAccount|0x118cdaa7/);

      // Second release: no --reference, and the V3 that prepareUpgrade deployed is reused, not deployed again.
      const nonceBefore = await s.provider.getTransactionCount(deployer);
      const second = await s.bg("bg:stage", "--proxy", proxy, "--contract", "VaultV3", "--release", "vault-v3");
      expect(second.blue).to.deep.include({ address: green, foundBy: "manifest" });
      expect(second.green.address).to.equal(getAddress(preparedV3!.implementation!));
      expect(second.greenDeployment).to.equal("manifest");
      expect(await s.provider.getTransactionCount(deployer)).to.equal(nonceBefore);

      // Rollback of the first release: back to exactly V1, which OZ still knows.
      const rolledBack = await rollbackNow(ctx, "vault-v2", { executor: approver });
      expect(rolledBack.state).to.equal("rolled-back");
      expect(await s.implementationOf(proxy)).to.equal(v1);
      const [afterRollback] = await s.oz([{ do: "validateUpgrade", contract: "VaultV2", proxy }]);
      expect(afterRollback).to.deep.equal({ ok: true });
    } finally {
      await s.stop();
    }
  });

  it("stages an Ignition-deployed proxy without --reference, and the next release finds blue in its own records", async () => {
    const s = await story();
    try {
      const deploy = await s.hardhat(["ignition", "deploy", path.join(s.ignition, "modules", "VaultProxy.ts")]);
      expect(deploy.code).to.equal(0, deploy.stdout + deploy.stderr);
      const addresses = JSON.parse(await readFile(path.join(s.ignition, "deployments", "chain-31337", "deployed_addresses.json"), "utf8"));
      const proxy = getAddress(addresses["VaultProxy#TransparentUpgradeableProxy"]);
      const v1 = getAddress(addresses["VaultProxy#VaultV1"]);

      // A project whose sources moved on since Ignition deployed blue: blue is rebuilt from Ignition's own build info.
      const rebuilt = await findBlue({
        provider: { request: ({ method, params }) => s.provider.send(method, (params as unknown[]) ?? []) },
        artifacts: {
          readArtifact: async (name) => {
            throw new Error(`${name} is no longer in this project`);
          },
          getBuildInfoPath: async () => undefined,
          getBuildInfoOutputPath: async () => undefined,
        },
        store: new ReleaseStore(s.records),
        chainId: 31337,
        proxy,
        blue: v1,
        blueCode: await s.provider.getCode(v1),
        ignitionDeploymentsDir: path.join(s.ignition, "deployments"),
        // What Hardhat's compileBuildInfo does, with the same solcjs the project is configured with.
        compileBuildInfo: async (buildInfo) => JSON.parse(solc.compile(JSON.stringify(buildInfo.input))),
      });
      expect(rebuilt).to.deep.include({ foundBy: "ignition", via: "Ignition's deployment chain-31337 (future VaultProxy#VaultV1)" });
      expect(rebuilt.build?.contractName).to.equal("VaultV1");
      expect(rebuilt.layout.storage.map((v) => v.label)).to.deep.equal(["total", "balances"]);

      const first = await s.bg("bg:stage", "--proxy", proxy, "--contract", "VaultV2", "--release", "ign-v2");
      expect(first.blue).to.deep.include({ address: v1, foundBy: "ignition" });
      // Blue was imported as forceImport would: OZ's tools validate against it with no forceImport.
      const [validated] = await s.oz([{ do: "validateUpgrade", contract: "VaultV2", proxy }]);
      expect(validated).to.deep.equal({ ok: true });

      const { ctx, approver } = await adoptUnderSwitch(s, proxy);
      await goLive(ctx, "ign-v2", approver);
      expect(await s.implementationOf(proxy)).to.equal(getAddress(first.green.address));

      // A team that lost OZ's manifest (a temporary file on a local node, or one never committed) still needs no --reference.
      const manifest = await Manifest.forNetwork({ send: (m: string, p: unknown[]) => s.provider.send(m, p) });
      await manifest.lockedRun(async () => {
        const data = await manifest.read();
        data.impls = {};
        data.proxies = [];
        await manifest.write(data);
      });
      const second = await s.bg("bg:stage", "--proxy", proxy, "--contract", "VaultV3", "--release", "ign-v3");
      expect(second.blue).to.deep.include({ address: getAddress(first.green.address), foundBy: "release" });
      expect((await manifest.getDeploymentFromAddress(first.green.address)).address).to.equal(getAddress(first.green.address));
    } finally {
      await s.stop();
    }
  });
});
