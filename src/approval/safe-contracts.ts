/**
 * Safe's contracts, per version (1.3.0 and 1.4.1): the canonical addresses
 * and ABIs from Safe's own `@safe-global/safe-deployments`, the run-time ABI
 * fragments the approval path calls, and a loader for the build artifacts used
 * to deploy Safe on test, demo and development networks.
 *
 * Why per version: 1.3.0 emits `ExecutionSuccess(bytes32 txHash, uint256)`
 * with txHash in the data, 1.4.1 with txHash indexed. The event's topic is the
 * same, so a log is matched by decoding it with its own version's ABI.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

import {
  type SingletonDeployment,
  getCompatibilityFallbackHandlerDeployment,
  getCreateCallDeployment,
  getMultiSendCallOnlyDeployment,
  getMultiSendDeployment,
  getProxyFactoryDeployment,
  getSafeL2SingletonDeployment,
  getSafeSingletonDeployment,
  getSignMessageLibDeployment,
  getSimulateTxAccessorDeployment,
} from "@safe-global/safe-deployments";
import { Interface, type Log, getAddress, id as keccakText } from "ethers";

import { SAFE_STATE_ABI, type SafeVersion } from "../chain/approver-kind.js";
import { BlueGreenError } from "../errors.js";
import { packageRoot } from "../packaged-artifacts.js";

/** What the approval path calls on a Safe (1.3.0 and 1.4.1 share these functions; events differ, see below). */
export const SAFE_ABI = [
  ...SAFE_STATE_ABI,
  "function isOwner(address owner) view returns (bool)",
  "function domainSeparator() view returns (bytes32)",
  "function approvedHashes(address owner, bytes32 hash) view returns (uint256)",
  "function getTransactionHash(address to, uint256 value, bytes data, uint8 operation, uint256 safeTxGas, uint256 baseGas, uint256 gasPrice, address gasToken, address refundReceiver, uint256 _nonce) view returns (bytes32)",
  "function checkSignatures(bytes32 dataHash, bytes data, bytes signatures) view",
  "function execTransaction(address to, uint256 value, bytes data, uint8 operation, uint256 safeTxGas, uint256 baseGas, uint256 gasPrice, address gasToken, address refundReceiver, bytes signatures) payable returns (bool success)",
] as const;

/** SafeProxyFactory (1.3.0 and 1.4.1 alike): creating a Safe on a development network. */
export const SAFE_PROXY_FACTORY_ABI = [
  "function createProxyWithNonce(address _singleton, bytes initializer, uint256 saltNonce) returns (address proxy)",
  "function proxyCreationCode() pure returns (bytes)",
] as const;

/** The Safe's own `setup`, encoded into the proxy's initializer. */
export const SAFE_SETUP_ABI = [
  "function setup(address[] _owners, uint256 _threshold, address to, bytes data, address fallbackHandler, address paymentToken, uint256 payment, address paymentReceiver)",
] as const;

// The versions, and how a Safe is recognized, live in ../chain/approver-kind.ts: bg:init and bg:adopt check an approver with them too.
export { SAFE_VERSIONS, type SafeVersion, safeVersionOf } from "../chain/approver-kind.js";

/** Safe's singleton factory, through which 1.4.1 was deployed everywhere. */
export const SAFE_SINGLETON_FACTORY = "0x914d7Fec6aaC8cd542e72Bca78B30650d45643d7";

/** Arachnid's deterministic-deployment proxy, through which 1.3.0's canonical contracts were deployed. */
export const DETERMINISTIC_DEPLOYMENT_PROXY = "0x4e59b44847b379578588920ca78fbf26c0b4956c";

/**
 * The runtime code of both factories (Safe's is a copy of Arachnid's): it
 * reads `salt ++ initCode` from calldata, CREATE2s it and returns the address.
 */
export const SAFE_SINGLETON_FACTORY_RUNTIME =
  "0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe03601600081602082378035828234f58015156039578182fd5b8082525050506014600cf3";

/** The CREATE2 factory each version's canonical contracts came from. */
export const SAFE_DEPLOYER: Record<SafeVersion, string> = {
  "1.3.0": DETERMINISTIC_DEPLOYMENT_PROXY,
  "1.4.1": SAFE_SINGLETON_FACTORY,
};

const DEPLOYMENTS = {
  Safe: getSafeSingletonDeployment,
  SafeL2: getSafeL2SingletonDeployment,
  SafeProxyFactory: getProxyFactoryDeployment,
  MultiSend: getMultiSendDeployment,
  MultiSendCallOnly: getMultiSendCallOnlyDeployment,
  CompatibilityFallbackHandler: getCompatibilityFallbackHandlerDeployment,
  SignMessageLib: getSignMessageLibDeployment,
  CreateCall: getCreateCallDeployment,
  SimulateTxAccessor: getSimulateTxAccessorDeployment,
} as const;

export type SafeContractName = keyof typeof DEPLOYMENTS;

function deployment(name: SafeContractName, version: SafeVersion): SingletonDeployment {
  const found = DEPLOYMENTS[name]({ version, released: true });
  if (found === undefined) throw new BlueGreenError("BG_APPROVAL_SAFE_ARTIFACT", `@safe-global/safe-deployments has no ${name} ${version}. Reinstall hardhat-bluegreen.`);
  return found;
}

/** The contracts of a Safe version at their canonical addresses (the same on every EVM chain), per Safe's deployments package. */
export function safeCanonicalAddresses(version: SafeVersion): Record<SafeContractName, string> {
  return Object.fromEntries(
    (Object.keys(DEPLOYMENTS) as SafeContractName[]).map((name) => {
      const d = deployment(name, version);
      return [name, getAddress(d.deployments.canonical?.address ?? d.defaultAddress)];
    }),
  ) as Record<SafeContractName, string>;
}

/** Safe 1.4.1 at its canonical addresses (kept as a constant: the demo and older callers use it). */
export const SAFE_141_CANONICAL = safeCanonicalAddresses("1.4.1");

const interfaces = new Map<SafeVersion, Interface>();

/**
 * The full ABI of a Safe version, from safe-deployments. SafeL2's ABI is used:
 * it is Safe's plus the events L2 indexers read, so it parses the logs of both.
 */
export function safeInterface(version: SafeVersion): Interface {
  let iface = interfaces.get(version);
  if (iface === undefined) {
    iface = new Interface(deployment("SafeL2", version).abi as never);
    interfaces.set(version, iface);
  }
  return iface;
}

/** keccak of `ExecutionSuccess(bytes32,uint256)`: the same topic in every version (indexing does not change it). */
export const EXECUTION_SUCCESS_TOPIC = keccakText("ExecutionSuccess(bytes32,uint256)");

/**
 * The safeTxHash of an ExecutionSuccess log of `safe`, decoded with its own
 * version's ABI (1.3.0 keeps it in the data, 1.4.1 in a topic), or undefined
 * when the log is something else.
 */
export function executedSafeTxHash(log: Pick<Log, "address" | "topics" | "data">, safe: string, version: SafeVersion): string | undefined {
  if (getAddress(log.address) !== getAddress(safe) || log.topics[0] !== EXECUTION_SUCCESS_TOPIC) return undefined;
  try {
    const parsed = safeInterface(version).parseLog({ topics: [...log.topics], data: log.data });
    return parsed?.name === "ExecutionSuccess" ? (parsed.args.txHash as string).toLowerCase() : undefined;
  } catch {
    // A log whose layout is not this version's: it is not this Safe's execution event.
    return undefined;
  }
}

/** Where each contract's artifact sits in a Safe package's `build/artifacts/contracts` (1.3.0 still used the Gnosis names). */
const ARTIFACT_PATHS: Record<SafeVersion, Partial<Record<SafeContractName, string>>> = {
  "1.4.1": {
    Safe: "Safe.sol/Safe.json",
    SafeL2: "SafeL2.sol/SafeL2.json",
    SafeProxyFactory: "proxies/SafeProxyFactory.sol/SafeProxyFactory.json",
    MultiSend: "libraries/MultiSend.sol/MultiSend.json",
    MultiSendCallOnly: "libraries/MultiSendCallOnly.sol/MultiSendCallOnly.json",
    CompatibilityFallbackHandler: "handler/CompatibilityFallbackHandler.sol/CompatibilityFallbackHandler.json",
    SignMessageLib: "libraries/SignMessageLib.sol/SignMessageLib.json",
    CreateCall: "libraries/CreateCall.sol/CreateCall.json",
    SimulateTxAccessor: "accessors/SimulateTxAccessor.sol/SimulateTxAccessor.json",
  },
  "1.3.0": {
    Safe: "GnosisSafe.sol/GnosisSafe.json",
    SafeL2: "GnosisSafeL2.sol/GnosisSafeL2.json",
    SafeProxyFactory: "proxies/GnosisSafeProxyFactory.sol/GnosisSafeProxyFactory.json",
    MultiSend: "libraries/MultiSend.sol/MultiSend.json",
    MultiSendCallOnly: "libraries/MultiSendCallOnly.sol/MultiSendCallOnly.json",
    CompatibilityFallbackHandler: "handler/CompatibilityFallbackHandler.sol/CompatibilityFallbackHandler.json",
    CreateCall: "libraries/CreateCall.sol/CreateCall.json",
    SimulateTxAccessor: "accessors/SimulateTxAccessor.sol/SimulateTxAccessor.json",
  },
};

/** The contracts each version can deploy from its artifacts (1.3.0's published SignMessageLib build is not the canonical bytecode). */
export function deployableSafeContracts(version: SafeVersion): SafeContractName[] {
  return Object.keys(ARTIFACT_PATHS[version]) as SafeContractName[];
}

export interface SafeArtifact {
  contractName: string;
  abi: readonly object[];
  bytecode: string;
  deployedBytecode: string;
}

/** npm packages holding each version's build (1.3.0 was published as @gnosis.pm/safe-contracts, installed here under an alias). */
const SAFE_PACKAGES: Record<SafeVersion, string> = {
  "1.4.1": "@safe-global/safe-contracts",
  "1.3.0": "safe-contracts-1.3.0",
};

/**
 * Loads a Safe build artifact. Only deployment needs it: the package ships
 * 1.4.1's and 1.3.0's in artifacts-dist; in this repository they come from npm.
 */
export function loadSafeArtifact(name: SafeContractName, version: SafeVersion = "1.4.1"): SafeArtifact {
  const relative = ARTIFACT_PATHS[version][name];
  if (relative === undefined) {
    throw new BlueGreenError("BG_APPROVAL_SAFE_ARTIFACT", `hardhat-bluegreen does not deploy ${name} ${version}: its published build is not the canonical bytecode.`);
  }
  // Users cannot install the Safe packages beside ethers 6 (their ethers-5 peer), so the package carries the artifacts.
  const shipped = path.join(packageRoot(), "artifacts-dist", `safe-${version}`, relative);
  if (existsSync(shipped)) return JSON.parse(readFileSync(shipped, "utf8")) as SafeArtifact;
  const require = createRequire(import.meta.url);
  const pkg = SAFE_PACKAGES[version];
  let artifact: SafeArtifact;
  try {
    artifact = require(`${pkg}/build/artifacts/contracts/${relative}`) as SafeArtifact;
  } catch (error) {
    throw new BlueGreenError(
      "BG_APPROVAL_SAFE_ARTIFACT",
      `Cannot load Safe's ${name} ${version} artifact: hardhat-bluegreen ships it in artifacts-dist/safe-${version}, which is missing. Reinstall hardhat-bluegreen.`,
      { cause: error as Error },
    );
  }
  const installed = (require(`${pkg}/package.json`) as { version: string }).version;
  if (installed !== version) {
    throw new BlueGreenError("BG_APPROVAL_SAFE_ARTIFACT", `${pkg} ${installed} is installed, but Safe ${version}'s canonical addresses need exactly ${version}. Install ${pkg}@${version}.`);
  }
  return artifact;
}
