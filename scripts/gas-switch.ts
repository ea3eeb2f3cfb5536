/**
 * Measures the gas of the switch's operations on an in-process chain, with
 * real OpenZeppelin v5 (and v4) transparent proxies, and writes docs/gas.md.
 *
 *   npx hardhat run scripts/gas-switch.ts
 *
 * The figures come from receipts of this run: nothing in the table is typed
 * by hand.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";

import { type Contract, getAddress, keccak256, solidityPackedKeccak256 } from "ethers";
import hre, { network } from "hardhat";

import { canaryRouterCodehash } from "../src/switch/canary-router.js";

const DELAY = 3600;
const WINDOW = 7 * 24 * 3600;
const EVIDENCE = keccak256("0x01");
const ADMIN_SLOT = "0xb53127684a568b3173ae13b9f8a6016e243e63b6e8ee1178d6a717850b5d6103";
const V5_PROXY = "@openzeppelin/contracts/proxy/transparent/TransparentUpgradeableProxy.sol:TransparentUpgradeableProxy";
const V5_ADMIN = "@openzeppelin/contracts/proxy/transparent/ProxyAdmin.sol:ProxyAdmin";

interface Row {
  operation: string;
  gas: bigint;
  notes: string;
}

const connection = await network.create();
const { ethers } = connection;
const [, approver, guardian, owner, anyone, canceller] = await ethers.getSigners();
const rows: Row[] = [];

async function deploy(name: string, args: unknown[] = [], signer = owner): Promise<Contract> {
  const c = await ethers.deployContract(name, args, { signer });
  await c.waitForDeployment();
  return c as unknown as Contract;
}

async function gasOf(p: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>): Promise<bigint> {
  const receipt = await (await p).wait();
  if (receipt === null) throw new Error("no receipt");
  return receipt.gasUsed;
}

async function increaseTime(seconds: number): Promise<void> {
  await connection.provider.request({ method: "evm_increaseTime", params: [seconds] });
  await connection.provider.request({ method: "evm_mine", params: [] });
}

const sw = await deploy("BlueGreenSwitch", [await approver!.getAddress(), [await guardian!.getAddress()], DELAY, WINDOW]);
const deployReceipt = await ethers.provider.getTransactionReceipt(sw.deploymentTransaction()!.hash);
rows.push({ operation: "deploy the switch", gas: deployReceipt!.gasUsed, notes: "one approver, one guardian" });
const asApprover = sw.connect(approver!) as Contract;

const boxV1 = await deploy("BoxV1");
const blue = await boxV1.getAddress();
const green = await (await deploy("BoxV2")).getAddress();
const greenCodehash = keccak256(await ethers.provider.getCode(green));
const storeCall = (await ethers.getContractFactory("BoxV2")).interface.encodeFunctionData("store", [1]);

/** A v5 proxy running blue whose ProxyAdmin the switch owns (not adopted yet). */
async function v5Proxy(): Promise<{ proxy: string; proxyAdmin: string }> {
  const init = boxV1.interface.encodeFunctionData("initialize", [await owner!.getAddress()]);
  const proxy = await (await deploy(V5_PROXY, [blue, await owner!.getAddress(), init])).getAddress();
  const proxyAdmin = getAddress("0x" + (await ethers.provider.getStorage(proxy, ADMIN_SLOT)).slice(-40));
  const admin = (await ethers.getContractAt(V5_ADMIN, proxyAdmin, owner)) as unknown as Contract;
  await (await admin.transferOwnership(await sw.getAddress())).wait();
  return { proxy, proxyAdmin };
}

async function adoptedV5Proxy(): Promise<string> {
  const { proxy, proxyAdmin } = await v5Proxy();
  await (await asApprover.adopt(proxy, proxyAdmin, blue)).wait();
  return proxy;
}

// adopt
{
  const { proxy, proxyAdmin } = await v5Proxy();
  rows.push({ operation: "adopt (v5 ProxyAdmin)", gas: await gasOf(asApprover.adopt(proxy, proxyAdmin, blue)), notes: "includes the admin probe and the upgrade to the current implementation" });
}

// promote, rollbacks, finalize
{
  const proxy = await adoptedV5Proxy();
  rows.push({ operation: "promote", gas: await gasOf(asApprover.promote(proxy, green, greenCodehash, blue, "0x", EVIDENCE)), notes: "no init call" });
  rows.push({ operation: "scheduleRollback", gas: await gasOf((sw.connect(guardian!) as Contract).scheduleRollback(proxy)), notes: "by a guardian" });
  await increaseTime(DELAY);
  rows.push({ operation: "executeRollback", gas: await gasOf((sw.connect(anyone!) as Contract).executeRollback(proxy)), notes: "by anyone, after the delay" });
}
{
  const proxy = await adoptedV5Proxy();
  rows.push({ operation: "promote with initData", gas: await gasOf(asApprover.promote(proxy, green, greenCodehash, blue, storeCall, EVIDENCE)), notes: "init call: BoxV2.store(1)" });
  await (await (sw.connect(guardian!) as Contract).scheduleRollback(proxy)).wait();
  rows.push({ operation: "cancelRollback", gas: await gasOf(asApprover.cancelRollback(proxy)), notes: "approver veto" });
  await (await asApprover.scheduleRollback(proxy)).wait();
  await (await asApprover.addCanceller(await canceller!.getAddress())).wait();
  rows.push({ operation: "cancelRollback by a canceller", gas: await gasOf((sw.connect(canceller!) as Contract).cancelRollback(proxy)), notes: "veto role apart from the approver" });
  rows.push({ operation: "rollbackNow", gas: await gasOf(asApprover.rollbackNow(proxy)), notes: "approver, no delay" });
}
{
  const proxy = await adoptedV5Proxy();
  await (await asApprover.promote(proxy, green, greenCodehash, blue, "0x", EVIDENCE)).wait();
  await increaseTime(WINDOW);
  rows.push({ operation: "finalize", gas: await gasOf((sw.connect(anyone!) as Contract).finalize(proxy)), notes: "by anyone, after the window" });
}

// batch promote
for (const size of [1, 2, 5]) {
  const proxies: string[] = [];
  for (let i = 0; i < size; i++) proxies.push(await adoptedV5Proxy());
  const batch = proxies.map((proxy) => ({ proxy, green, greenCodehash, expectedBlue: blue, initData: "0x", evidenceHash: EVIDENCE }));
  const gas = await gasOf(asApprover.promoteBatch(batch));
  rows.push({ operation: `promoteBatch of ${size}`, gas, notes: `${(gas / BigInt(size)).toLocaleString("en-US")} per proxy` });
}

// coupled release: every operation acts on all its proxies
{
  const proxies = [await adoptedV5Proxy(), await adoptedV5Proxy()];
  const batch = proxies.map((proxy) => ({ proxy, green, greenCodehash, expectedBlue: blue, initData: "0x", evidenceHash: EVIDENCE }));
  await (await asApprover.promoteBatch(batch)).wait();
  rows.push({ operation: "scheduleRollback, coupled release of 2", gas: await gasOf((sw.connect(guardian!) as Contract).scheduleRollback(proxies[0])), notes: "schedules both proxies" });
  await increaseTime(DELAY);
  rows.push({ operation: "executeRollback, coupled release of 2", gas: await gasOf((sw.connect(anyone!) as Contract).executeRollback(proxies[1])), notes: "rolls both back" });
}
{
  const proxy = await adoptedV5Proxy();
  await (await asApprover.promote(proxy, green, greenCodehash, blue, "0x", EVIDENCE)).wait();
  await (await (sw.connect(guardian!) as Contract).scheduleRollback(proxy)).wait();
  rows.push({ operation: "removeGuardian with its rollback pending", gas: await gasOf(asApprover.removeGuardian(await guardian!.getAddress())), notes: "cancels the guardian's rollback" });
  await (await asApprover.addGuardian(await guardian!.getAddress())).wait();
}

// v4 ProxyAdmin
{
  const admin = await deploy("ProxyAdminV4");
  const init = boxV1.interface.encodeFunctionData("initialize", [await owner!.getAddress()]);
  const proxy = await (await deploy("TransparentProxyV4", [blue, await admin.getAddress(), init])).getAddress();
  await (await admin.transferOwnership(await sw.getAddress())).wait();
  rows.push({ operation: "adopt (v4 ProxyAdmin)", gas: await gasOf(asApprover.adopt(proxy, await admin.getAddress(), blue)), notes: "checks admin and implementation, no upgrade" });
  rows.push({ operation: "promote (v4 ProxyAdmin)", gas: await gasOf(asApprover.promote(proxy, green, greenCodehash, blue, "0x", EVIDENCE)), notes: "`upgrade`, no init call; blue and the result read back" });
  rows.push({ operation: "rollbackNow (v4 ProxyAdmin)", gas: await gasOf(asApprover.rollbackNow(proxy)), notes: "the result read back" });
}

// canary steps (issue 18)
const canaryRows: Row[] = [];
const SALT = keccak256("0x5a17");
const canaryStep = async (proxy: string, bps: number) => ({
  proxy,
  green,
  greenCodehash,
  expectedBlue: blue,
  bps,
  salt: SALT,
  cohortByOrigin: true,
  routerCodehash: bps === 10_000 ? keccak256("0x") : await canaryRouterCodehash({ blue, green, bps, salt: SALT, cohortByOrigin: true }),
  evidenceHash: EVIDENCE,
});
{
  const proxy = await adoptedV5Proxy();
  canaryRows.push({ operation: "promoteCanary, first step (1%)", gas: await gasOf(asApprover.promoteCanary(await canaryStep(proxy, 100))), notes: "deploys the step's router (CREATE2) and upgrades the proxy to it" });
  canaryRows.push({ operation: "promoteCanary, next step (5%)", gas: await gasOf(asApprover.promoteCanary(await canaryStep(proxy, 500))), notes: "deploys the 5% router" });
  const other = await adoptedV5Proxy();
  await (await asApprover.promoteCanary(await canaryStep(other, 100))).wait();
  canaryRows.push({ operation: "promoteCanary, step whose router exists", gas: await gasOf(asApprover.promoteCanary(await canaryStep(other, 500))), notes: "another proxy of the same blue and green: the 5% router is reused" });
  canaryRows.push({ operation: "promoteCanary, last step (100%: green)", gas: await gasOf(asApprover.promoteCanary(await canaryStep(proxy, 10_000))), notes: "no router; logs Promoted" });
  canaryRows.push({ operation: "rollbackNow from a step", gas: await gasOf(asApprover.rollbackNow(other)), notes: "approver; back to blue, canary cleared" });
}
{
  const proxy = await adoptedV5Proxy();
  await (await asApprover.promoteCanary(await canaryStep(proxy, 2_500))).wait();
  canaryRows.push({ operation: "scheduleRollback from a step", gas: await gasOf((sw.connect(guardian!) as Contract).scheduleRollback(proxy)), notes: "by a guardian" });
  await increaseTime(DELAY);
  canaryRows.push({ operation: "executeRollback from a step", gas: await gasOf((sw.connect(anyone!) as Contract).executeRollback(proxy)), notes: "by anyone, after the delay" });
}
// The router's own cost per call: the same call through a proxy on the router and a
// proxy straight on the side the caller's cohort names, on the same state.
const routerOverhead: Row[] = [];
{
  const callerAddress = await anyone!.getAddress();
  const onGreen = BigInt(solidityPackedKeccak256(["bytes32", "address"], [SALT, callerAddress])) % 10_000n;
  const init = boxV1.interface.encodeFunctionData("initialize", [await owner!.getAddress()]);
  for (const bps of [onGreen, onGreen + 1n]) {
    // bps == cohort: the caller is just outside the share (blue); one more: inside it (green).
    const side = bps > onGreen ? green : blue;
    const router = await (await deploy("CanaryRouter", [blue, green, bps, SALT, true])).getAddress();
    const routed = await (await deploy(V5_PROXY, [router, await owner!.getAddress(), init])).getAddress();
    const direct = await (await deploy(V5_PROXY, [side, await owner!.getAddress(), init])).getAddress();
    const store = (v: number) => boxV1.interface.encodeFunctionData("store", [v]);
    const run = async (to: string, v: number) => gasOf(anyone!.sendTransaction({ to, data: store(v) }));
    // Both slots written once first, so both measured calls change a nonzero slot.
    await run(routed, 1);
    await run(direct, 1);
    const viaRouter = await run(routed, 2);
    const straight = await run(direct, 2);
    routerOverhead.push({ operation: `store(2) for a caller on ${side === green ? "green" : "blue"}`, gas: viaRouter - straight, notes: `${viaRouter.toLocaleString("en-US")} through the router, ${straight.toLocaleString("en-US")} straight to ${side === green ? "green" : "blue"}` });
  }
}
const switchSize = ((await ethers.provider.getCode(await sw.getAddress())).length - 2) / 2;

const settings = hre.config.solidity.profiles.default.compilers[0]!;
const lines = [
  "# Gas of the BlueGreenSwitch",
  "",
  "Measured by `npx hardhat run scripts/gas-switch.ts` on an in-process Hardhat network, " +
    "with real OpenZeppelin TransparentUpgradeableProxy contracts (v5.7, and v4.9 where marked) and the example BoxV1/BoxV2 implementations. " +
    "Each figure is the `gasUsed` of a transaction receipt, including the 21,000 base cost and calldata; " +
    "re-run the script after changing the contract.",
  "",
  `Compiler: solc ${settings.version}, optimizer ${settings.settings?.optimizer?.enabled === true ? `on (${settings.settings.optimizer.runs} runs)` : "off"}, EVM ${settings.settings?.evmVersion ?? "default"}. Generated ${new Date().toISOString().slice(0, 10)}.`,
  "",
  "What the hardening of issue 14 costs, and why it is worth it:",
  "",
  "- `promote` checks that blue still has code and that neither blue nor green is an EIP-7702 delegation, numbers the release and logs the hash of `initData` (about 11,000 gas more than before); the very first promote of a switch pays about 17,000 more to start the release counter.",
  "- `promoteBatch` of more than one proxy records the release's proxies (about 22,000 per proxy), so that a rollback, a veto and finalize move them together.",
  "- A guardian's `scheduleRollback` records its one schedule of the release and the pending rollback by guardian (about 95,000 more the first time a guardian schedules), so that removing the guardian cancels it and repeated scheduling cannot hold off `finalize`. Rollbacks are rare; this path is paid in emergencies only.",
  "- v4 upgrades and rollbacks read the proxy back through the ProxyAdmin's getters; a v5 adopt runs a probe upgrade that is reverted at once.",
  "",
  "| operation | gas used | notes |",
  "|---|---:|---|",
  ...rows.map((r) => `| ${r.operation} | ${r.gas.toLocaleString("en-US")} | ${r.notes} |`),
  "",
  "## Canary steps (issue 18)",
  "",
  "Same run. A canary step deploys its `CanaryRouter` once (CREATE2 from the switch; a router of the same immutables is reused), " +
    "checks its code hash against the pin, and upgrades the proxy to it; every step is a release of its own (new id, new window). " +
    `The switch's runtime code is ${switchSize.toLocaleString("en-US")} bytes (limit 24,576; 19,678 before canaries, so little room is left: ` +
    "new switch functions will need space made first). Every release pays a little for canaries: a rollback and `finalize` read whether the proxy " +
    "is in a canary step (one cold storage read, about 2,300 gas; executeRollback 62,896 → 65,346, rollbackNow 67,126 → 69,535, finalize 39,046 → 41,302 in this table before and after).",
  "",
  "| operation | gas used | notes |",
  "|---|---:|---|",
  ...canaryRows.map((r) => `| ${r.operation} | ${r.gas.toLocaleString("en-US")} | ${r.notes} |`),
  "",
  "### The router's cost per call",
  "",
  "What a call costs more through a proxy on the router than through a proxy straight on the implementation the caller's cohort names " +
    "(BoxV1/BoxV2 `store`, a nonzero slot rewritten, same caller). Most of it is EIP-2929's cold access to a second implementation " +
    "(2,600 gas); the rest is the cohort hash and copying calldata and return data. Target: at most 3,000.",
  "",
  "| call | overhead (gas) | notes |",
  "|---|---:|---|",
  ...routerOverhead.map((r) => `| ${r.operation} | ${r.gas.toLocaleString("en-US")} | ${r.notes} |`),
  "",
];
const file = path.join(hre.config.paths.root, "docs", "gas.md");
// Sections measured elsewhere (by tests) are kept as they are.
const previous = await readFile(file, "utf8").catch(() => "");
const kept = previous.indexOf("\n## UUPS proxies and beacons");
if (kept >= 0) lines.push(previous.slice(kept + 1));
await writeFile(file, lines.join("\n"));
console.log(lines.join("\n"));
console.log(`Wrote ${path.relative(process.cwd(), file)}`);
