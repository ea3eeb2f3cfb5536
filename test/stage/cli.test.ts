import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { Contract } from "ethers";

import { onlyJson, runHardhat } from "../helpers/cli.js";
import { deployBoxBehindProxy, type DeployedBox } from "../helpers/box.js";
import { startNode, type RunningNode } from "../helpers/nodes.js";

describe("bg:stage and bg:status on the command line", function () {
  let node: RunningNode;
  let box: DeployedBox;
  let env: Record<string, string>;

  before(async () => {
    node = await startNode("anvil");
    box = await deployBoxBehindProxy(node.url);
    env = { BLUEGREEN_RPC_URL: node.url, BLUEGREEN_RECORDS_DIR: await mkdtemp(path.join(tmpdir(), "bg-cli-")) };
  });
  after(async () => node?.stop());

  const stage = (...extra: string[]) =>
    runHardhat(["bg:stage", "--network", "localMainnet", "--proxy", box.proxy, "--reference", "BoxV1", ...extra], env);

  it("prints exactly one JSON document with the release, and exits 0", async () => {
    const run = await stage("--contract", "BoxV2", "--release", "cli-v2", "--json");
    expect(run.code).to.equal(0, run.stderr);
    const doc = onlyJson(run);
    expect(doc).to.include({ ok: true, release: "cli-v2", chainId: 31337, proxy: box.proxy, admin: box.proxyAdmin });
    expect(doc.blue).to.deep.include({ address: box.blue });
    expect(doc.green.contract).to.equal("BoxV2");
    // A deployment is built as `ignition deploy` builds it, not as the tests are.
    expect(doc.green.buildProfile).to.equal("production");
    expect(doc.green.codehash).to.match(/^0x[0-9a-f]{64}$/);
    expect(doc.rollbackRisks).to.be.an("array").with.length(1);
  });

  it("reports an unsafe upgrade as ok:false JSON with a non-zero exit", async () => {
    const run = await stage("--contract", "BoxV2Clash", "--release", "cli-clash", "--json");
    expect(run.code).to.not.equal(0);
    const doc = onlyJson(run);
    expect(doc.ok).to.equal(false);
    expect(doc.error).to.include("storage layout is incompatible");
  });

  it("refuses a --reference that is not blue's code with a stable code, and accepts it with --allow-reference-mismatch", async () => {
    // Its own proxy: the other tests' stages put the shared blue in OpenZeppelin's manifest, which wins over --reference.
    const own = await deployBoxBehindProxy(node.url);
    const refused = await runHardhat(
      ["bg:stage", "--network", "localMainnet", "--proxy", own.proxy, "--contract", "BoxV2", "--reference", "BoxV2Clash", "--release", "cli-mismatch", "--json"],
      env,
    );
    expect(refused.code).to.not.equal(0);
    expect(onlyJson(refused).error).to.include("[BG_REFERENCE_MISMATCH]");
    expect(onlyJson(refused).code).to.equal("BG_REFERENCE_MISMATCH");
    const allowed = await runHardhat(
      ["bg:stage", "--network", "localMainnet", "--proxy", own.proxy, "--contract", "BoxV2", "--reference", "BoxV2", "--release", "cli-mismatch", "--allow-reference-mismatch", "--json"],
      env,
    );
    expect(allowed.code).to.equal(0, allowed.stderr);
    expect(onlyJson(allowed).warnings.join("\n")).to.include("--allow-reference-mismatch");
  });

  it("explains a bad address to people without a stack trace", async () => {
    const run = await runHardhat(["bg:stage", "--network", "localMainnet", "--proxy", "0xnope", "--contract", "BoxV2"], env, undefined, {
      asPerson: true,
    });
    expect(run.code).to.not.equal(0);
    const all = run.stdout + run.stderr;
    expect(all).to.include('"0xnope" is not a valid address for --proxy');
    expect(all).to.not.match(/\n\s+at .+\(.+:\d+:\d+\)/);
  });

  it("lists the staged release with no drift, then reports drift once the proxy moves outside the release", async () => {
    // Its own proxy, since this test upgrades it.
    const own = await deployBoxBehindProxy(node.url);
    const staged = await runHardhat(
      ["bg:stage", "--network", "localMainnet", "--proxy", own.proxy, "--contract", "BoxV2", "--reference", "BoxV1", "--release", "cli-status"],
      env,
    );
    expect(staged.code).to.equal(0, staged.stderr);
    expect(staged.stdout).to.include("Release cli-status staged");
    const inSync = onlyJson(await runHardhat(["bg:status", "--network", "localMainnet", "--json"], env));
    expect(inSync.ok).to.equal(true);
    const release = inSync.releases.find((r: any) => r.release === "cli-status");
    expect(release).to.deep.include({ state: "staged", drift: [] });

    // Someone upgrades the proxy behind the release's back.
    const admin = new Contract(own.proxyAdmin, ["function upgradeAndCall(address,address,bytes) payable"], own.owner);
    await (await admin.getFunction("upgradeAndCall")(own.proxy, release.green.address, "0x")).wait();
    const drifted = await runHardhat(["bg:status", "--network", "localMainnet", "--json"], env);
    expect(drifted.code).to.not.equal(0);
    const doc = onlyJson(drifted);
    expect(doc.ok).to.equal(false);
    const entry = doc.releases.find((r: any) => r.release === "cli-status");
    expect(entry.drift.map((d: any) => d.field)).to.deep.equal(["implementation"]);
    expect(entry.drift[0].onChain).to.equal(release.green.address);
  });

  // Last in the file: switching profiles makes the next production build start from scratch (slow with solcjs).
  it("honours Hardhat's global --build-profile and records it", async () => {
    const run = await runHardhat(
      ["--build-profile", "default", "bg:stage", "--network", "localMainnet", "--proxy", box.proxy, "--contract", "BoxV2", "--reference", "BoxV1", "--release", "cli-default-profile", "--json"],
      env,
    );
    expect(run.code).to.equal(0, run.stderr);
    expect(onlyJson(run).green.buildProfile).to.equal("default");
  });
});
