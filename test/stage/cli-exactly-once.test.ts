/**
 * Issue 19 on the command line, with real processes: a bg:stage killed
 * (SIGKILL) while its deploy is pending, then run again; and two bg:stage
 * runs from one deployer at the same time.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { getCreateAddress } from "ethers";
import { Manifest } from "@openzeppelin/upgrades-core";

import { onlyJson, runHardhat } from "../helpers/cli.js";
import { deployBoxBehindProxy, type DeployedBox } from "../helpers/box.js";
import { startNode, type RunningNode } from "../helpers/nodes.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const BIN = path.join(ROOT, "node_modules", ".bin");

describe("bg:stage on the command line sends green's deploy exactly once", function () {
  let node: RunningNode;
  let box: DeployedBox;
  let env: Record<string, string>;
  let deployer: string;

  before(async () => {
    node = await startNode("anvil");
    box = await deployBoxBehindProxy(node.url);
    deployer = await box.owner.getAddress();
  });
  beforeEach(async () => {
    // Each test starts from an empty OpenZeppelin manifest of this node, so green is not found there.
    const manifest = await Manifest.forNetwork({ send: (m: string, p: unknown[]) => box.provider.send(m, p) });
    await manifest.lockedRun(async () => {
      const data = await manifest.read();
      data.impls = {};
      data.proxies = [];
      await manifest.write(data);
    });
    env = { BLUEGREEN_RPC_URL: node.url, BLUEGREEN_RECORDS_DIR: await mkdtemp(path.join(tmpdir(), "bg-cli-once-")) };
  });
  afterEach(async () => box.provider.send("evm_setAutomine", [true]));
  after(async () => node?.stop());

  const args = (release: string) => ["bg:stage", "--network", "localMainnet", "--proxy", box.proxy, "--contract", "BoxV2", "--reference", "BoxV1", "--release", release, "--json"];
  const nonceOf = async () => Number(await box.provider.send("eth_getTransactionCount", [deployer, "latest"]));
  async function creationsSince(from: number): Promise<string[]> {
    const latest = await box.provider.getBlockNumber();
    const created: string[] = [];
    for (let n = from; n <= latest; n++) {
      const block = await box.provider.send("eth_getBlockByNumber", ["0x" + n.toString(16), true]);
      for (const tx of block.transactions) if (tx.to === null && tx.from.toLowerCase() === deployer.toLowerCase()) created.push(tx.hash);
    }
    return created;
  }

  it("two runs at once from one deployer: one deploys, the other waits and finds it; no double deploy, no journal lost", async () => {
    const startBlock = (await box.provider.getBlockNumber()) + 1;
    const nonce = await nonceOf();
    const [a, b] = await Promise.all([runHardhat(args("race"), env), runHardhat(args("race"), env)]);
    expect(a.code).to.equal(0, a.stderr);
    expect(b.code).to.equal(0, b.stderr);
    const [docA, docB] = [onlyJson(a), onlyJson(b)];
    expect(docA.green.address).to.equal(docB.green.address);
    expect(docA.green.address).to.equal(getCreateAddress({ from: deployer, nonce }));
    expect(await creationsSince(startBlock)).to.have.length(1);
    expect(await nonceOf()).to.equal(nonce + 1);
    expect(await readdir(path.join(env.BLUEGREEN_RECORDS_DIR!, "31337", "race"))).to.deep.equal(["release.json"]);
  });

  it("a run killed while its deploy is pending, run again: the journaled deploy is the green, deployed once", async () => {
    const startBlock = (await box.provider.getBlockNumber()) + 1;
    const nonce = await nonceOf();
    await box.provider.send("evm_setAutomine", [false]);

    const { HARDHAT_CONFIG: _parent, ...inherited } = process.env;
    const child = spawn(path.join(BIN, "hardhat"), args("killed"), {
      cwd: ROOT,
      env: { ...inherited, ...env, PATH: `${BIN}${path.delimiter}${process.env.PATH}`, NO_COLOR: "1" },
      stdio: "ignore",
    });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const journalFile = path.join(env.BLUEGREEN_RECORDS_DIR!, "31337", "killed", "pending-deploy.json");
    let sent: string | undefined;
    for (let i = 0; i < 600 && sent === undefined; i++) {
      const text = await readFile(journalFile, "utf8").catch(() => undefined);
      sent = text === undefined ? undefined : (JSON.parse(text) as { txHash?: string }).txHash;
      if (sent === undefined) await new Promise((r) => setTimeout(r, 200));
    }
    expect(sent, "the first run journaled its deploy").to.match(/^0x[0-9a-f]{64}$/);
    // Wait until the node has it (the journal is written before the broadcast), then kill the run.
    for (let i = 0; i < 100 && (await box.provider.send("eth_getTransactionByHash", [sent])) === null; i++) await new Promise((r) => setTimeout(r, 100));
    process.kill(child.pid!, "SIGKILL");
    await exited;
    expect(await box.provider.send("eth_getTransactionReceipt", [sent])).to.equal(null);
    // The killed run also held OpenZeppelin's manifest lock (proper-lockfile), which counts as stale 10 s after its
    // last refresh; OpenZeppelin's own retries (~7 s) would give up before that. A person re-running a crashed
    // command is slower than this test; wait as they would.
    await new Promise((r) => setTimeout(r, 11_000));

    // The re-run, mined only once it is seen waiting for the pending deploy (or once it has sent a second one).
    const rerun = spawn(path.join(BIN, "hardhat"), args("killed"), {
      cwd: ROOT,
      env: { ...inherited, ...env, PATH: `${BIN}${path.delimiter}${process.env.PATH}`, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    rerun.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    rerun.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    let code: number | null | undefined;
    const rerunExited = new Promise<void>((resolve) => rerun.once("exit", (c) => ((code = c), resolve())));
    let mining = false;
    while (code === undefined) {
      const pendingNonce = Number(await box.provider.send("eth_getTransactionCount", [deployer, "pending"]));
      mining ||= stderr.includes("still pending") || pendingNonce > nonce + 1;
      if (mining) await box.provider.send("evm_mine", []);
      await Promise.race([rerunExited, new Promise((r) => setTimeout(r, 200))]);
    }
    const run = { code: code ?? 1, stdout, stderr };
    expect(stderr).to.include(`Waiting for the journaled transaction ${sent} (nonce ${nonce} of ${deployer}), still pending.`);
    expect(run.code).to.equal(0, run.stdout + run.stderr);
    const doc = onlyJson(run);
    expect(doc.green.address).to.equal(getCreateAddress({ from: deployer, nonce }));
    expect(doc.greenDeployment).to.equal("resumed");
    const record = JSON.parse(await readFile(path.join(env.BLUEGREEN_RECORDS_DIR!, "31337", "killed", "release.json"), "utf8"));
    expect(record.green.deployTx).to.equal(sent);
    expect(await creationsSince(startBlock)).to.deep.equal([sent]);
    expect(await nonceOf()).to.equal(nonce + 1);
    expect(await readdir(path.join(env.BLUEGREEN_RECORDS_DIR!, "31337", "killed"))).to.deep.equal(["release.json"]);
  });
});
