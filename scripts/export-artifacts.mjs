// Copies the artifacts the package ships into artifacts-dist/: the switch
// (other tools load it by name), the example contracts the demo deploys, and
// OpenZeppelin's proxy contracts, with the build info OpenZeppelin's
// validation needs. Users never compile any of them.
import { cp, mkdir, readFile, readdir, rm } from "node:fs/promises";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");
const FROM = path.join(ROOT, "artifacts");
const TO = path.join(ROOT, "artifacts-dist");

const shipped = (sourceName) =>
  sourceName === "contracts/BlueGreenSwitch.sol" ||
  sourceName.startsWith("contracts/canary/") ||
  sourceName.startsWith("contracts/examples/") ||
  sourceName.startsWith("contracts/interfaces/") ||
  sourceName === "@openzeppelin/contracts/proxy/transparent/TransparentUpgradeableProxy.sol" ||
  sourceName === "@openzeppelin/contracts/proxy/transparent/ProxyAdmin.sol";

async function* artifactFiles(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "build-info") yield* artifactFiles(full);
    } else if (entry.name.endsWith(".json")) {
      yield full;
    }
  }
}

await rm(TO, { recursive: true, force: true });
const buildInfoIds = new Set();
let count = 0;
for await (const file of artifactFiles(FROM)) {
  const artifact = JSON.parse(await readFile(file, "utf8"));
  if (artifact._format !== "hh3-artifact-1" || !shipped(artifact.sourceName)) continue;
  const target = path.join(TO, path.relative(FROM, file));
  await mkdir(path.dirname(target), { recursive: true });
  await cp(file, target);
  if (artifact.buildInfoId) buildInfoIds.add(artifact.buildInfoId);
  count++;
}
await mkdir(path.join(TO, "build-info"), { recursive: true });
for (const id of buildInfoIds) {
  for (const suffix of [".json", ".output.json"]) {
    await cp(path.join(FROM, "build-info", id + suffix), path.join(TO, "build-info", id + suffix));
  }
}
// Safe v1.4.1's own artifacts (LGPL-3.0, licence beside them): the demo and
// dev networks deploy the canonical Safe from them. Users cannot install
// @safe-global/safe-contracts next to ethers 6 (its ethers-5 peer), so the
// package carries them.
const SAFE = path.join(ROOT, "node_modules", "@safe-global", "safe-contracts");
const safeVersion = JSON.parse(await readFile(path.join(SAFE, "package.json"), "utf8")).version;
if (safeVersion !== "1.4.1") throw new Error(`export-artifacts: expected @safe-global/safe-contracts 1.4.1, found ${safeVersion}`);
const SAFE_TO = path.join(TO, "safe-1.4.1");
await cp(path.join(SAFE, "build", "artifacts", "contracts"), SAFE_TO, {
  recursive: true,
  filter: (source) => !source.endsWith(".dbg.json"),
});
await cp(path.join(SAFE, "LICENSE"), path.join(SAFE_TO, "LICENSE"));

if (!(await readdir(path.join(TO, "contracts"))).includes("BlueGreenSwitch.sol")) {
  throw new Error("export-artifacts: BlueGreenSwitch was not built; run `npx hardhat build` first");
}
console.log(`export-artifacts: ${count} artifacts and ${buildInfoIds.size} build infos in artifacts-dist/`);
// Safe v1.3.0 (published as @gnosis.pm/safe-contracts, aliased here), for the
// many production Safes still on it: tests and dev networks deploy it at its
// canonical addresses. Only the contracts whose build is the canonical bytecode.
const SAFE_130 = path.join(ROOT, "node_modules", "safe-contracts-1.3.0");
const safe130Version = JSON.parse(await readFile(path.join(SAFE_130, "package.json"), "utf8")).version;
if (safe130Version !== "1.3.0") throw new Error(`export-artifacts: expected safe-contracts-1.3.0 to be 1.3.0, found ${safe130Version}`);
const SAFE_130_TO = path.join(TO, "safe-1.3.0");
for (const file of [
  "GnosisSafe.sol/GnosisSafe.json",
  "GnosisSafeL2.sol/GnosisSafeL2.json",
  "proxies/GnosisSafeProxyFactory.sol/GnosisSafeProxyFactory.json",
  "libraries/MultiSend.sol/MultiSend.json",
  "libraries/MultiSendCallOnly.sol/MultiSendCallOnly.json",
  "handler/CompatibilityFallbackHandler.sol/CompatibilityFallbackHandler.json",
  "libraries/CreateCall.sol/CreateCall.json",
  "accessors/SimulateTxAccessor.sol/SimulateTxAccessor.json",
]) {
  await mkdir(path.dirname(path.join(SAFE_130_TO, file)), { recursive: true });
  await cp(path.join(SAFE_130, "build", "artifacts", "contracts", file), path.join(SAFE_130_TO, file));
}
await cp(path.join(SAFE_130, "LICENSE"), path.join(SAFE_130_TO, "LICENSE"));
