/**
 * The demo's world, as a team would have it before its first blue-green
 * release:
 *
 * - on "mainnet": the canonical Safe v1.4.1 contracts and a 2-of-3 Safe,
 *   the switch (approver: the Safe; one guardian), DemoTokenV1 behind an
 *   OpenZeppelin TransparentUpgradeableProxy adopted by the switch through
 *   the Safe, and holders using the token;
 * - on the testnet: a switch whose approver is the team's deployer, and the
 *   same token behind its own proxy.
 */
import { ContractFactory, JsonRpcProvider, JsonRpcSigner, type Signer, getAddress } from "ethers";

import type { Eip1193Provider } from "../chain/eip1193.js";
import { switchCallSpec } from "../approval/approver-call.js";
import { createSafe, deploySafeSingletons } from "../approval/deploy-safe-singletons.js";
import { executeProposal } from "../approval/execute.js";
import { type ApprovalEnv, approveProposal, proposeApproverCall } from "../approval/proposal.js";
import { callProposalFolder } from "../approval/proposal-folder.js";
import type { ReleaseApprovalContext } from "../approval/release-switch.js";
import { BlueGreenError } from "../errors.js";
import type { GatesConfig } from "../gates/config.js";
import { shippedArtifacts } from "../packaged-artifacts.js";
import { ReleaseStore } from "../release/store.js";
import { readTransparentProxy } from "../stage/read-proxy.js";
import { adoptProxy } from "../switch/adopt-proxy.js";
import { switchInterface } from "../switch/artifact.js";
import { initSwitch } from "../switch/deploy-switch.js";
import { MAINNET_NETWORK, NODE_ACCOUNTS, ROLE_ACCOUNTS, ROLLBACK_DELAY, ROLLBACK_WINDOW, TESTNET_NETWORK } from "./demo-config.js";
import { TOKEN_ABI } from "./demo-traffic.js";
import type { LocalNode } from "./local-node.js";

/** One of the demo's chains, with its accounts by role. */
export interface DemoChain {
  node: LocalNode;
  network: string;
  chainId: number;
  rpc: Eip1193Provider;
  provider: JsonRpcProvider;
  deployer: JsonRpcSigner;
  guardian: JsonRpcSigner;
  /** Safe owners (mainnet) — on the testnet, unused. */
  owners: JsonRpcSigner[];
  /** Accounts that use the token. */
  holders: string[];
  switchAddress: string;
  proxy: string;
  /** DemoTokenV1, the implementation the proxy runs at first. */
  blue: string;
  store: ReleaseStore;
}

export interface MainnetChain extends DemoChain {
  safe: string;
  /** The Safe transaction that adopted the proxy into the switch. */
  adoption: { safeTxHash: string; txHash: string; signers: string[] };
}

async function accounts(provider: JsonRpcProvider): Promise<{ all: string[]; signer: (i: number) => JsonRpcSigner }> {
  const all = ((await provider.send("eth_accounts", [])) as string[]).map((a) => getAddress(a));
  if (all.length < NODE_ACCOUNTS) throw new BlueGreenError("BG_DEMO_UNEXPECTED", `The demo node has ${all.length} accounts, expected ${NODE_ACCOUNTS}. Run the demo again.`);
  // The node unlocks its accounts: each signs through the node (eth_sendTransaction, eth_signTypedData_v4).
  return { all, signer: (i) => new JsonRpcSigner(provider, all[i]!) };
}

async function deployShipped(signer: Signer, name: string, args: unknown[] = []): Promise<string> {
  const artifact = await shippedArtifacts().readArtifact(name);
  const contract = await new ContractFactory(artifact.abi as never, artifact.bytecode, signer).deploy(...args);
  await contract.waitForDeployment();
  return getAddress(await contract.getAddress());
}

/** Deploys DemoTokenV1 behind a TransparentUpgradeableProxy whose ProxyAdmin the deployer owns at first. */
async function deployToken(deployer: Signer): Promise<{ proxy: string; blue: string }> {
  const owner = await deployer.getAddress();
  const blue = await deployShipped(deployer, "DemoTokenV1");
  const proxy = await deployShipped(deployer, "TransparentUpgradeableProxy", [blue, owner, TOKEN_ABI.encodeFunctionData("initialize", [owner])]);
  return { proxy, blue };
}

async function chainBase(node: LocalNode, network: string, recordsDir: string) {
  const provider = localEthersProvider(node.url, node.chainId);
  const { all, signer } = await accounts(provider);
  return {
    node,
    network,
    chainId: node.chainId,
    rpc: node.rpc,
    provider,
    deployer: signer(ROLE_ACCOUNTS.deployer),
    guardian: signer(ROLE_ACCOUNTS.guardian),
    owners: ROLE_ACCOUNTS.owners.map((i) => signer(i)),
    holders: all.slice(ROLE_ACCOUNTS.firstHolder),
    store: new ReleaseStore(recordsDir),
  };
}

/**
 * Mainnet: Safe 2-of-3, the switch governed by it, the token adopted by the
 * switch. Adopting is an approver call, so the Safe's owners sign it.
 */
export async function setUpMainnet(node: LocalNode, recordsDir: string): Promise<MainnetChain> {
  const base = await chainBase(node, MAINNET_NETWORK, recordsDir);
  await deploySafeSingletons(base.deployer, ["Safe", "SafeProxyFactory", "CompatibilityFallbackHandler"]);
  const owners = await Promise.all(base.owners.map((o) => o.getAddress()));
  const safe = getAddress(await createSafe(base.deployer, { owners, threshold: 2 }));
  const init = await initSwitch({
    store: base.store,
    chainId: base.chainId,
    networkName: base.network,
    provider: base.provider,
    signer: base.deployer,
    parameters: { approver: safe, guardians: [await base.guardian.getAddress()], rollbackDelay: ROLLBACK_DELAY, rollbackWindow: ROLLBACK_WINDOW },
  });
  const { proxy, blue } = await deployToken(base.deployer);
  const chain = { ...base, switchAddress: init.file.address, proxy, blue };

  // Step 1 (the deployer hands the ProxyAdmin to the switch) runs locally; step 2, adopt, is the Safe's.
  const adopted = await adoptProxy({
    provider: base.rpc,
    ethersProvider: base.provider,
    signers: [base.deployer],
    switchAddress: chain.switchAddress,
    proxy,
    networkName: base.network,
  });
  const pending = adopted.pending[0];
  if (adopted.ok || pending === undefined || pending.role !== "approver") {
    throw new BlueGreenError("BG_DEMO_UNEXPECTED", `The demo expected the Safe to adopt the proxy, but bg:adopt said: ${adopted.error ?? "already adopted"}.`);
  }
  const env = await approvalEnv(base.rpc, base.chainId);
  const spec = await switchCallSpec(env, { address: chain.switchAddress, iface: env.errors }, "adopt", [proxy, adopted.proxyAdmin, adopted.implementation], {
    id: "adopt-demo-token",
  });
  const folder = callProposalFolder(base.store, base.chainId, spec.id);
  const { proposal } = await proposeApproverCall(env, folder, spec);
  const signers: string[] = [];
  for (const owner of base.owners.slice(0, 2)) signers.push((await approveProposal(env, folder, { signer: owner })).added);
  const outcome = await executeProposal(env, folder, { executor: base.deployer });
  if (outcome.status !== "executed") throw new BlueGreenError("BG_DEMO_UNEXPECTED", "The Safe's adopt call did not execute with two signatures.");
  const onChain = await readTransparentProxy(base.rpc, proxy, base.network);
  if (getAddress(onChain.implementation) !== blue) throw new BlueGreenError("BG_DEMO_UNEXPECTED", `After adoption the proxy runs ${onChain.implementation}, not DemoTokenV1 ${blue}.`);
  return { ...chain, safe, adoption: { safeTxHash: proposal.safe!.safeTxHash, txHash: outcome.txHash, signers } };
}

/** The testnet: a switch approved by the team's deployer account, and the token under it. */
export async function setUpTestnet(node: LocalNode, recordsDir: string): Promise<DemoChain> {
  const base = await chainBase(node, TESTNET_NETWORK, recordsDir);
  const deployer = await base.deployer.getAddress();
  const init = await initSwitch({
    store: base.store,
    chainId: base.chainId,
    networkName: base.network,
    provider: base.provider,
    signer: base.deployer,
    parameters: { approver: deployer, guardians: [await base.guardian.getAddress()], rollbackDelay: ROLLBACK_DELAY, rollbackWindow: ROLLBACK_WINDOW },
  });
  const { proxy, blue } = await deployToken(base.deployer);
  const adopted = await adoptProxy({
    provider: base.rpc,
    ethersProvider: base.provider,
    signers: [base.deployer],
    switchAddress: init.file.address,
    proxy,
    networkName: base.network,
  });
  if (!adopted.ok) throw new BlueGreenError("BG_DEMO_UNEXPECTED", `Adopting the testnet proxy failed: ${adopted.error}`);
  return { ...base, switchAddress: init.file.address, proxy, blue };
}

export async function approvalEnv(provider: Eip1193Provider, chainId: number): Promise<ApprovalEnv & { errors: Awaited<ReturnType<typeof switchInterface>> }> {
  return { provider, chainId, errors: await switchInterface() };
}

/** The approval steps' context for a chain, with the gates that chain's releases answer to. */
export async function releaseContext(chain: DemoChain, projectRoot: string, gatesConfig: GatesConfig): Promise<ReleaseApprovalContext> {
  return { env: await approvalEnv(chain.rpc, chain.chainId), store: chain.store, switchAddress: chain.switchAddress, projectRoot, gatesConfig };
}

/** Moves a chain's clock forward and mines a block at the new time. */
export async function moveClock(chain: DemoChain, seconds: number): Promise<number> {
  await chain.rpc.request({ method: "evm_increaseTime", params: [seconds] });
  await chain.rpc.request({ method: "evm_mine", params: [] });
  const block = (await chain.rpc.request({ method: "eth_getBlockByNumber", params: ["latest", false] })) as { timestamp: string };
  return Number(BigInt(block.timestamp));
}

/** The `version()` the token's proxy answers now (to `from`: during a canary, the answer depends on the caller's cohort). */
export async function tokenVersion(chain: DemoChain, from?: string): Promise<string> {
  const call = { to: chain.proxy, data: TOKEN_ABI.encodeFunctionData("version"), ...(from !== undefined ? { from } : {}) };
  const raw = (await chain.rpc.request({ method: "eth_call", params: [call, "latest"] })) as string;
  return TOKEN_ABI.decodeFunctionResult("version", raw)[0] as string;
}

/** An ethers provider for a local node: no batching, no cache, fast receipt polling. */
function localEthersProvider(url: string, chainId: number): JsonRpcProvider {
  const provider = new JsonRpcProvider(url, chainId, { staticNetwork: true, cacheTimeout: -1, batchMaxCount: 1 });
  // Blocks are mined on demand: poll for receipts often rather than every 4 seconds.
  provider.pollingInterval = 50;
  return provider;
}
