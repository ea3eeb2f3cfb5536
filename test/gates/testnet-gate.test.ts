/**
 * The testnet gate against a separate node standing in for a public testnet
 * (anvil with Sepolia's chain id), with a real BlueGreenSwitch that owns a
 * real OpenZeppelin proxy's admin. Time moves with evm_increaseTime, so the
 * 14-day line is crossed in both directions on chain time.
 */
import { expect } from "chai";
import { Contract, ContractFactory, JsonRpcProvider, keccak256, type JsonRpcSigner } from "ethers";

import type { Eip1193Provider } from "../../src/chain/eip1193.js";
import type { TestnetGateConfig } from "../../src/gates/config.js";
import { evaluateTestnetGate } from "../../src/gates/testnet-gate.js";
import type { ReleaseRecord } from "../../src/release/record.js";
import { loadSwitchArtifact } from "../../src/switch/artifact.js";
import { deploySwitch } from "../../src/switch/deploy-switch.js";
import { deployBoxBehindProxy, readArtifact } from "../helpers/box.js";
import { startNode, type RunningNode } from "../helpers/nodes.js";
import { stagedRecord } from "../helpers/record-fixture.js";

const DAY = 86_400;
const SEPOLIA = 11155111;
const EVIDENCE = "0x" + "e0".repeat(32);

/** A plain EIP-1193 provider over HTTP: no caching between the gate and the chain. */
function httpProvider(url: string): Eip1193Provider {
  let id = 0;
  return {
    async request({ method, params }) {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params: params ?? [] }),
      });
      const body = (await res.json()) as { result?: unknown; error?: { message: string } };
      if (body.error !== undefined) throw new Error(body.error.message);
      return body.result;
    },
  };
}

describe("the testnet gate (a separate node as the testnet, real switch)", function () {
  let node: RunningNode;
  let rpc: Eip1193Provider;
  let provider: JsonRpcProvider;
  let approver: JsonRpcSigner;
  let owner: JsonRpcSigner;
  let sw: Contract;
  let switchAddress: string;
  let switchBlock: number;
  let proxy: string;
  let blue: string;
  let green: string;
  let codehash: string;
  let record: ReleaseRecord;
  let snapshot: string;

  const config = (over: Partial<TestnetGateConfig> = {}): TestnetGateConfig => ({
    network: "sepolia",
    minDays: 14,
    minTxs: 0,
    fromBlock: 0,
    maxScanBlocks: 5000,
    required: true,
    ...over,
  });
  const evaluate = (over: Partial<TestnetGateConfig> = {}, r: ReleaseRecord = record) =>
    evaluateTestnetGate({
      record: r,
      config: config(over),
      provider: rpc,
      findSwitch: async (chainId) => (chainId === SEPOLIA ? { address: switchAddress, blockNumber: switchBlock, source: ".bluegreen/11155111/switch.json" } : undefined),
    });
  const wait = async (seconds: number) => {
    await provider.send("evm_increaseTime", [seconds]);
    await provider.send("evm_mine", []);
  };
  const promote = async (impl = green, hash = codehash, expectedBlue = blue) => {
    const tx = await sw.connect(approver).getFunction("promote")(proxy, impl, hash, expectedBlue, "0x", EVIDENCE);
    return (await tx.wait())!;
  };
  const deployImpl = async (name: string) => {
    const artifact = await readArtifact(`contracts/examples/${name}.sol`, name);
    const c = await new ContractFactory(artifact.abi, artifact.bytecode, owner).deploy();
    await c.waitForDeployment();
    const address = await c.getAddress();
    return { address, codehash: keccak256(await provider.getCode(address)) };
  };

  before(async () => {
    node = await startNode("anvil", ["--chain-id", String(SEPOLIA)]);
    rpc = httpProvider(node.url);
    const box = await deployBoxBehindProxy(node.url);
    ({ provider, owner, proxy, blue } = box);
    approver = await provider.getSigner(1);
    const guardian = await provider.getSigner(2);
    const deployment = await deploySwitch(owner, {
      approver: await approver.getAddress(),
      guardians: [await guardian.getAddress()],
      rollbackDelay: 3600,
      rollbackWindow: 7 * DAY,
    });
    switchAddress = deployment.address;
    switchBlock = deployment.blockNumber;
    sw = new Contract(switchAddress, (await loadSwitchArtifact()).abi, provider);
    // Hand the proxy's admin to the switch, as bg:init/adopt would on the testnet.
    const admin = new Contract(box.proxyAdmin, ["function transferOwnership(address)"], owner);
    await (await admin.getFunction("transferOwnership")(switchAddress)).wait();
    await (await sw.connect(approver).getFunction("adopt")(proxy, box.proxyAdmin, blue)).wait();
    ({ address: green, codehash } = await deployImpl("BoxV2"));
    // The mainnet release record of the same build: another chain, same codehash.
    const base = stagedRecord("vault-v2", 1);
    record = { ...base, green: { ...base.green, address: "0x" + "4".repeat(40), codehash } };
  });
  after(async () => node?.stop());
  beforeEach(async () => {
    snapshot = (await provider.send("evm_snapshot", [])) as string;
  });
  afterEach(async () => {
    await provider.send("evm_revert", [snapshot]);
  });

  it("fails before 14 days of testnet chain time, passes after, and fails again when the clock goes back", async () => {
    const receipt = await promote();
    const fresh = await evaluate();
    expect(fresh.status).to.equal("fail");
    expect(fresh.detail).to.match(/baked 0 days of chain time, needs 14$/);
    expect(fresh.fix).to.match(/^Wait: the testnet bake completes at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(testnet chain time\)/);

    await wait(14 * DAY - 60);
    const almost = await evaluate();
    expect(almost.status).to.equal("fail");
    expect(almost.detail).to.include("baked 13.99 days");

    const beforeLine = (await provider.send("evm_snapshot", [])) as string;
    await wait(120);
    const baked = await evaluate();
    expect(baked).to.deep.include({ status: "pass", ok: true, required: true });
    expect(baked.detail).to.match(/baked 14 days of chain time \(min 14\), not rolled back, code unchanged$/);
    expect(baked.evidence).to.deep.include({ chainId: SEPOLIA, switch: switchAddress.toLowerCase(), proxy: proxy.toLowerCase(), green: green.toLowerCase(), codehash });
    expect((baked.evidence.promotion as any).txHash).to.equal(receipt.hash.toLowerCase());
    expect((baked.evidence.promotion as any).blockNumber).to.equal(receipt.blockNumber);

    // Back across the line: the same chain before the 14th day is not enough.
    await provider.send("evm_revert", [beforeLine]);
    expect((await evaluate()).status).to.equal("fail");
  });

  it("does not count a promotion that was rolled back, but counts a later promotion of the same bytecode", async () => {
    const first = await promote();
    await wait(2 * DAY);
    const rollback = await (await sw.connect(approver).getFunction("rollbackNow")(proxy)).wait();
    await wait(20 * DAY);
    const rolledBack = await evaluate();
    expect(rolledBack.status).to.equal("fail");
    expect(rolledBack.detail).to.equal(
      `green ${codehash.slice(0, 10)}… was promoted on "sepolia" (tx ${first.hash.toLowerCase()}, block ${first.blockNumber}) and rolled back since (tx ${rollback!.hash.toLowerCase()}, block ${rollback!.blockNumber})`,
    );

    const again = await promote();
    await wait(15 * DAY);
    const result = await evaluate();
    expect(result.status).to.equal("pass");
    expect((result.evidence.promotion as any).txHash).to.equal(again.hash.toLowerCase());
    expect((result.evidence.rolledBackPromotions as any[]).map((p) => p.txHash)).to.deep.equal([first.hash.toLowerCase()]);
  });

  it("counts bake time only while green ran: a release superseded after 5 days fails", async () => {
    await promote();
    await wait(5 * DAY);
    await (await sw.connect(approver).getFunction("finalize")(proxy)).wait();
    const next = await deployImpl("BoxV2Clash");
    await promote(next.address, next.codehash, green);
    await wait(20 * DAY);
    const result = await evaluate();
    expect(result.status).to.equal("fail");
    expect(result.detail).to.match(/baked 5 days until it was superseded at .* of chain time, needs 14$/);
    expect(result.fix).to.include("stopped running on the testnet");
  });

  it("fails when green's address no longer holds the promoted code", async () => {
    await promote();
    await wait(15 * DAY);
    await provider.send("anvil_setCode", [green, "0x6000"]);
    const result = await evaluate();
    expect(result.status).to.equal("fail");
    expect(result.detail).to.include(`now has codehash ${keccak256("0x6000")}, not ${codehash}`);
  });

  it("fails when this codehash was never promoted there, or only for another proxy", async () => {
    const never = await evaluate();
    expect(never.status).to.equal("fail");
    expect(never.detail).to.match(new RegExp(`^codehash ${codehash.slice(0, 10)}… was never promoted by the switch ${switchAddress} on "sepolia"`));
    expect(never.fix).to.include("Promote this exact build on the testnet first");
    await promote();
    await wait(15 * DAY);
    const other = await evaluate({ proxy: "0x" + "12".repeat(20) });
    expect(other.status).to.equal("fail");
    expect(other.detail).to.include("for proxy 0x1212121212121212121212121212121212121212");
    expect((await evaluate({ proxy: proxy.toLowerCase() })).status).to.equal("pass");
  });

  it("counts successful transactions through the testnet proxy since the promotion, when asked", async () => {
    await promote();
    const box = new Contract(proxy, ["function store(uint256)"], owner);
    await (await box.getFunction("store")(1)).wait();
    await (await box.getFunction("store")(2)).wait();
    // A reverting call to the proxy (no such function) is mined but does not count.
    const reverted = await owner.sendTransaction({ to: proxy, data: "0xdeadbeef", gasLimit: 100_000 });
    expect((await provider.getTransactionReceipt(reverted.hash))!.status).to.equal(0);
    await wait(15 * DAY);

    expect((await evaluate({ minTxs: 2 })).evidence).to.deep.include({ txsCounted: 2 });
    expect((await evaluate({ minTxs: 2 })).status).to.equal("pass");
    const tooFew = await evaluate({ minTxs: 3 });
    expect(tooFew.status).to.equal("fail");
    expect(tooFew.detail).to.equal(`only 2 successful tx(s) went to proxy ${proxy} on "sepolia" since the promotion; needs 3`);
    const bounded = await evaluate({ minTxs: 3, maxScanBlocks: 2 });
    expect(bounded.status).to.equal("inconclusive");
    expect(bounded.fix).to.include("maxScanBlocks");
  });

  it("refuses the release's own chain as a testnet, and a chain without a known switch", async () => {
    // A mainnet release whose testnet network was pointed at its own chain by mistake.
    const sameChain = await evaluate({}, { ...record, chainId: SEPOLIA });
    expect(sameChain.status).to.equal("fail");
    expect(sameChain.detail).to.equal('network "sepolia" is chain 11155111, the release\'s own chain: bake time there proves nothing about a testnet');

    // The release on the testnet itself (its bake): the gate does not apply there, and does not block.
    const onTestnet = await evaluate({}, { ...record, chainId: SEPOLIA, network: "sepolia" });
    expect(onTestnet).to.deep.include({ status: "not-applicable", ok: false, required: false });

    const noSwitch = await evaluateTestnetGate({ record, config: config(), provider: rpc, findSwitch: async () => undefined });
    expect(noSwitch.status).to.equal("fail");
    expect(noSwitch.detail).to.equal('no switch is known on "sepolia" (chain 11155111)');
    expect(noSwitch.fix).to.include(".bluegreen/11155111/switch.json");

    const noCode = await evaluateTestnetGate({ record, config: config({ switch: "0x" + "34".repeat(20) }), provider: rpc, findSwitch: async () => undefined });
    expect(noCode.detail).to.include("has no code on \"sepolia\"");
  });

  it("is inconclusive, never a pass, when the testnet cannot be reached", async () => {
    const dead = httpProvider("http://127.0.0.1:9");
    const result = await evaluateTestnetGate({ record, config: config(), provider: dead, findSwitch: async () => undefined });
    expect(result).to.deep.include({ status: "inconclusive", ok: false });
    expect(result.detail).to.match(/^could not read the testnet "sepolia": /);
  });
});
