/**
 * The embedded demo: a real upgrade staged on an in-process chain, with the
 * contracts the package ships. Nothing to configure.
 */
import { ContractFactory, type Signer } from "ethers";

import type { ReleaseRecord } from "../release/record.js";
import { ReleaseStore } from "../release/store.js";
import { shippedArtifacts } from "../packaged-artifacts.js";
import type { Eip1193Provider } from "../stage/eip1193.js";
import { stageRelease } from "../stage/stage-release.js";

export interface DemoParams {
  provider: Eip1193Provider;
  signer: Signer;
  recordsDir: string;
  networkName: string;
  log: (line: string) => void;
}

export interface DemoResult {
  record: ReleaseRecord;
  recordPath: string;
}

export async function runStageDemo({ provider, signer, recordsDir, networkName, log }: DemoParams): Promise<DemoResult> {
  const artifacts = shippedArtifacts();
  const owner = await signer.getAddress();
  const deploy = async (name: string, ...args: unknown[]) => {
    const artifact = await artifacts.readArtifact(name);
    const contract = await new ContractFactory(artifact.abi as any[], artifact.bytecode, signer).deploy(...args);
    await contract.waitForDeployment();
    return contract;
  };

  const blue = await deploy("BoxV1");
  const init = blue.interface.encodeFunctionData("initialize", [owner]);
  const proxy = await deploy("TransparentUpgradeableProxy", await blue.getAddress(), owner, init);
  const proxyAddress = await proxy.getAddress();
  log(`1. Mainnet stand-in: BoxV1 (blue) behind TransparentUpgradeableProxy ${proxyAddress}`);

  const store = new ReleaseStore(recordsDir);
  log("2. Staging BoxV2 (green): OpenZeppelin checks blue → green and green → blue, then deploys green");
  const { record } = await stageRelease({
    provider,
    signer,
    artifacts,
    store,
    networkName,
    config: { unsafeAllow: [], unsafeAllowRenames: false },
    proxy: proxyAddress,
    contract: "BoxV2",
    reference: "BoxV1",
    releaseId: "demo-box-v2",
    log: (line) => log(`   ${line}`),
  });

  log("3. A storage-clashing green (BoxV2Clash) is refused before anything is deployed:");
  try {
    await stageRelease({
      provider,
      signer,
      artifacts,
      store,
      networkName,
      config: { unsafeAllow: [], unsafeAllowRenames: false },
      proxy: proxyAddress,
      contract: "BoxV2Clash",
      reference: "BoxV1",
      releaseId: "demo-box-v2-clash",
    });
    throw new Error("the demo expected BoxV2Clash to be refused");
  } catch (error) {
    log(`   refused: ${(error as Error).message.split("\n").slice(0, 2).join(" / ")}`);
  }
  return { record, recordPath: store.recordPath(record.chainId, record.id) };
}
