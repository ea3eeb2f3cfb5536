/**
 * Puts a real upgradeable contract on a separate node, as a team would have
 * it on mainnet: BoxV1 behind an OpenZeppelin v5 TransparentUpgradeableProxy.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";

import { ContractFactory, JsonRpcProvider, getAddress, type JsonRpcSigner } from "ethers";

const ROOT = path.resolve(import.meta.dirname, "../..");

export async function readArtifact(sourcePath: string, name: string) {
  const file = path.join(ROOT, "artifacts", sourcePath, `${name}.json`);
  return JSON.parse(await readFile(file, "utf8")) as { abi: any[]; bytecode: string; deployedBytecode: string };
}

export interface DeployedBox {
  provider: JsonRpcProvider;
  owner: JsonRpcSigner;
  proxy: string;
  blue: string;
  proxyAdmin: string;
}

export async function deployBoxBehindProxy(url: string): Promise<DeployedBox> {
  const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true, cacheTimeout: -1 });
  const owner = await provider.getSigner(0);
  const v1Artifact = await readArtifact("contracts/examples/BoxV1.sol", "BoxV1");
  const proxyArtifact = await readArtifact(
    "@openzeppelin/contracts/proxy/transparent/TransparentUpgradeableProxy.sol",
    "TransparentUpgradeableProxy",
  );
  const v1 = await new ContractFactory(v1Artifact.abi, v1Artifact.bytecode, owner).deploy();
  await v1.waitForDeployment();
  const blue = await v1.getAddress();
  const init = v1.interface.encodeFunctionData("initialize", [await owner.getAddress()]);
  const proxyContract = await new ContractFactory(proxyArtifact.abi, proxyArtifact.bytecode, owner).deploy(
    blue,
    await owner.getAddress(),
    init,
  );
  await proxyContract.waitForDeployment();
  const proxy = await proxyContract.getAddress();
  const adminWord = await provider.getStorage(proxy, "0xb53127684a568b3173ae13b9f8a6016e243e63b6e8ee1178d6a717850b5d6103");
  return { provider, owner, proxy, blue, proxyAdmin: getAddress("0x" + adminWord.slice(-40)) };
}
