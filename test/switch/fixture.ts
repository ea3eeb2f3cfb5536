/**
 * A world for the switch tests, on its own in-process network: a switch with
 * an approver and a guardian, and BoxV1 behind real OpenZeppelin v5 (and v4)
 * transparent proxies whose ProxyAdmins the switch owns. Each test runs from
 * a snapshot of it, so no test depends on another.
 */
import { expect } from "chai";
import { type Contract, Interface, type TransactionReceipt, getAddress, keccak256 } from "ethers";
import { network } from "hardhat";

export const DELAY = 3600;
export const WINDOW = 7 * 24 * 3600;
export const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";
export const ADMIN_SLOT = "0xb53127684a568b3173ae13b9f8a6016e243e63b6e8ee1178d6a717850b5d6103";
export const EVIDENCE = keccak256("0x1234");
export const ZERO = "0x0000000000000000000000000000000000000000";
export const V5_PROXY = "@openzeppelin/contracts/proxy/transparent/TransparentUpgradeableProxy.sol:TransparentUpgradeableProxy";
export const V5_ADMIN = "@openzeppelin/contracts/proxy/transparent/ProxyAdmin.sol:ProxyAdmin";

export const STATUS = { None: 0n, Live: 1n, RollbackScheduled: 2n, RolledBack: 3n, Finalized: 4n } as const;

export type Connection = Awaited<ReturnType<typeof network.create>>;
export type Ethers = Connection["ethers"];
export type Signer = Awaited<ReturnType<Ethers["getSigners"]>>[number];

export interface World {
  connection: Connection;
  ethers: Ethers;
  deployer: Signer;
  approver: Signer;
  guardian: Signer;
  stranger: Signer;
  owner: Signer;
  nextApprover: Signer;
  sw: Contract;
  /** BoxV1 implementation (blue). */
  blue: string;
  /** BoxV2 implementation (green). */
  green: string;
  greenCodehash: string;
  /** A v5 proxy running blue, adopted by the switch. */
  proxy: string;
  proxyAdmin: string;
  /** Errors of every contract involved, for decoding reverts. */
  errors: Interface;
}

export async function at(ethers: Ethers, name: string, address: string, signer?: Signer): Promise<Contract> {
  return (await ethers.getContractAt(name, address, signer)) as unknown as Contract;
}

export async function deploy(ethers: Ethers, name: string, args: unknown[] = [], signer?: Signer): Promise<Contract> {
  const c = await ethers.deployContract(name, args, signer === undefined ? {} : { signer });
  await c.waitForDeployment();
  return c as unknown as Contract;
}

export async function addr(c: { getAddress(): Promise<string> }): Promise<string> {
  return getAddress(await c.getAddress());
}

/** Deploys BoxV1 behind a v5 transparent proxy owned by `owner`; returns proxy and its ProxyAdmin. */
export async function v5Box(w: Pick<World, "ethers" | "owner">, blue: string): Promise<{ proxy: string; proxyAdmin: string }> {
  const box = await at(w.ethers, "BoxV1", blue);
  const init = box.interface.encodeFunctionData("initialize", [await w.owner.getAddress()]);
  const proxy = await deploy(w.ethers, V5_PROXY, [blue, await w.owner.getAddress(), init], w.owner);
  const proxyAddress = await proxy.getAddress();
  return { proxy: proxyAddress, proxyAdmin: await slotAddress(w.ethers, proxyAddress, ADMIN_SLOT) };
}

export async function slotAddress(ethers: Ethers, address: string, slot: string): Promise<string> {
  return getAddress("0x" + (await ethers.provider.getStorage(address, slot)).slice(-40));
}

export async function switchWorld(): Promise<World> {
  const connection = await network.create();
  const { ethers } = connection;
  const [deployer, approver, guardian, stranger, owner, nextApprover] = await ethers.getSigners();
  const sw = await deploy(ethers, "BlueGreenSwitch", [await approver!.getAddress(), [await guardian!.getAddress()], DELAY, WINDOW]);
  const blue = await addr(await deploy(ethers, "BoxV1"));
  const green = await addr(await deploy(ethers, "BoxV2"));
  const w = { ethers, owner: owner! };
  const { proxy, proxyAdmin } = await v5Box(w, blue);
  const admin = await at(ethers, V5_ADMIN, proxyAdmin, owner);
  await (await admin.transferOwnership(await sw.getAddress())).wait();
  await (await (sw.connect(approver!) as Contract).adopt(proxy, proxyAdmin, blue)).wait();
  const errors = new Interface([
    ...sw.interface.fragments.filter((f) => f.type === "error"),
    ...(await ethers.getContractFactory("RevertingInitGreen")).interface.fragments.filter((f) => f.type === "error"),
    ...(await ethers.getContractFactory(V5_PROXY)).interface.fragments.filter((f) => f.type === "error"),
    ...(await ethers.getContractFactory(V5_ADMIN)).interface.fragments.filter((f) => f.type === "error"),
    ...(await ethers.getContractFactory("BoxV1")).interface.fragments.filter((f) => f.type === "error"),
  ]);
  return {
    connection,
    ethers,
    deployer: deployer!,
    approver: approver!,
    guardian: guardian!,
    stranger: stranger!,
    owner: owner!,
    nextApprover: nextApprover!,
    sw,
    blue,
    green,
    greenCodehash: keccak256(await ethers.provider.getCode(green)),
    proxy,
    proxyAdmin,
    errors,
  };
}

/** Runs each test of the enclosing describe from a snapshot of the world. */
export function isolateEach(world: () => World): void {
  let snapshot: unknown;
  beforeEach(async () => {
    snapshot = await world().connection.provider.request({ method: "evm_snapshot", params: [] });
  });
  afterEach(async () => {
    await world().connection.provider.request({ method: "evm_revert", params: [snapshot] });
  });
}

export function asSigner(c: Contract, signer: Signer): Contract {
  return c.connect(signer) as Contract;
}

/** Sends, waits, and returns the receipt. */
export async function send(p: Promise<{ wait(): Promise<TransactionReceipt | null> }>): Promise<TransactionReceipt> {
  const receipt = await (await p).wait();
  if (receipt === null) throw new Error("no receipt");
  return receipt;
}

/** Asserts the promise reverts with the custom error `name` (and `args`, when given). */
export async function expectRevert(errors: Interface, p: Promise<unknown>, name: string, args?: unknown[]): Promise<void> {
  let caught: unknown;
  try {
    await p;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected a revert with ${name}`).to.not.equal(undefined);
  const data = revertData(caught);
  expect(data, `no revert data in ${String(caught)}`).to.be.a("string");
  const parsed = errors.parseError(data!);
  expect(parsed?.name, `revert data ${data}`).to.equal(name);
  if (args !== undefined) expect([...parsed!.args].map(normalize)).to.deep.equal(args.map(normalize));
}

/** Asserts the promise reverts with no decodable reason (e.g. a call to a missing function). */
export async function expectBareRevert(p: Promise<unknown>): Promise<void> {
  let caught: unknown;
  try {
    await p;
  } catch (error) {
    caught = error;
  }
  expect(caught, "expected a revert").to.not.equal(undefined);
}

function normalize(v: unknown): unknown {
  if (typeof v === "string" && /^0x[0-9a-fA-F]{40}$/.test(v)) return getAddress(v);
  if (typeof v === "number") return BigInt(v);
  return v;
}

function revertData(error: unknown, depth = 0): string | undefined {
  if (depth > 6 || error === null || typeof error !== "object") return undefined;
  const e = error as Record<string, unknown>;
  if (typeof e.data === "string" && /^0x[0-9a-fA-F]{8,}$/.test(e.data)) return e.data;
  for (const key of ["data", "error", "info", "cause"]) {
    const found = revertData(e[key], depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Decoded events named `name` that `contract` emitted in `receipt`. */
export function eventsOf(receipt: TransactionReceipt, contract: Contract, name: string): unknown[][] {
  const target = contract.target as string;
  return receipt.logs
    .filter((log) => getAddress(log.address) === getAddress(target))
    .map((log) => contract.interface.parseLog(log))
    .filter((parsed) => parsed !== null && parsed.name === name)
    .map((parsed) => [...parsed!.args].map(normalize));
}

export async function increaseTime(w: World, seconds: number): Promise<void> {
  await w.connection.provider.request({ method: "evm_increaseTime", params: [seconds] });
  await w.connection.provider.request({ method: "evm_mine", params: [] });
}

export async function setNextTimestamp(w: World, timestamp: number): Promise<void> {
  await w.connection.provider.request({ method: "evm_setNextBlockTimestamp", params: [timestamp] });
}

export async function timestampOf(w: World, receipt: TransactionReceipt): Promise<bigint> {
  return BigInt((await w.ethers.provider.getBlock(receipt.blockNumber))!.timestamp);
}
