/**
 * Safe v1.4.1: the ABI fragments the approval path calls at run time, the
 * canonical addresses, and a loader for the build artifacts that
 * `@safe-global/safe-contracts@1.4.1` ships (used to deploy Safe on test,
 * demo and development networks).
 *
 * The run-time ABI is written out here, not loaded from the package, so that
 * proposing, signing and executing need no Safe package installed. A test
 * checks every fragment against the package's own ABI.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

import { BlueGreenError } from "../errors.js";
import { packageRoot } from "../packaged-artifacts.js";

/** What the approval path calls on a Safe (1.3.0 and later share these). */
export const SAFE_ABI = [
  "function VERSION() view returns (string)",
  "function nonce() view returns (uint256)",
  "function getThreshold() view returns (uint256)",
  "function getOwners() view returns (address[])",
  "function isOwner(address owner) view returns (bool)",
  "function domainSeparator() view returns (bytes32)",
  "function approvedHashes(address owner, bytes32 hash) view returns (uint256)",
  "function getTransactionHash(address to, uint256 value, bytes data, uint8 operation, uint256 safeTxGas, uint256 baseGas, uint256 gasPrice, address gasToken, address refundReceiver, uint256 _nonce) view returns (bytes32)",
  "function checkSignatures(bytes32 dataHash, bytes data, bytes signatures) view",
  "function execTransaction(address to, uint256 value, bytes data, uint8 operation, uint256 safeTxGas, uint256 baseGas, uint256 gasPrice, address gasToken, address refundReceiver, bytes signatures) payable returns (bool success)",
  "event ExecutionSuccess(bytes32 indexed txHash, uint256 payment)",
  "event ExecutionFailure(bytes32 indexed txHash, uint256 payment)",
] as const;

/** SafeProxyFactory 1.4.1: creating a Safe on a development network. */
export const SAFE_PROXY_FACTORY_ABI = [
  "function createProxyWithNonce(address _singleton, bytes initializer, uint256 saltNonce) returns (address proxy)",
  "function proxyCreationCode() pure returns (bytes)",
  "event ProxyCreation(address indexed proxy, address singleton)",
] as const;

/** The Safe's own `setup`, encoded into the proxy's initializer. */
export const SAFE_SETUP_ABI = [
  "function setup(address[] _owners, uint256 _threshold, address to, bytes data, address fallbackHandler, address paymentToken, uint256 payment, address paymentReceiver)",
] as const;

/** Safe's singleton factory (the deterministic-deployment proxy Safe deploys everywhere). */
export const SAFE_SINGLETON_FACTORY = "0x914d7Fec6aaC8cd542e72Bca78B30650d45643d7";

/**
 * The factory's runtime code. It reads `salt ++ initCode` from calldata,
 * CREATE2s it and returns the new address; it is the same code as Arachnid's
 * deterministic-deployment proxy.
 */
export const SAFE_SINGLETON_FACTORY_RUNTIME =
  "0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe03601600081602082378035828234f58015156039578182fd5b8082525050506014600cf3";

/** The contracts of Safe v1.4.1 and their official addresses on every chain. */
export const SAFE_141_CANONICAL = {
  Safe: "0x41675C099F32341bf84BFc5382aF534df5C7461a",
  SafeL2: "0x29fcB43b46531BcA003ddC8FCB67FFE91900C762",
  SafeProxyFactory: "0x4e1DCf7AD4e460CfD30791CCC4F9c8a4f820ec67",
  MultiSend: "0x38869bf66a61cF6bDB996A6aE40D5853Fd43B526",
  MultiSendCallOnly: "0x9641d764fc13c8B624c04430C7356C1C7C8102e2",
  CompatibilityFallbackHandler: "0xfd0732Dc9E303f09fCEf3a7388Ad10A83459Ec99",
  SignMessageLib: "0xd53cd0aB83D845Ac265BE939c57F53AD838012c9",
  CreateCall: "0x9b35Af71d77eaf8d7e40252370304687390A1A52",
  SimulateTxAccessor: "0x3d4BA2E0884aa488718476ca2FB8Efc291A46199",
} as const;

export type SafeContractName = keyof typeof SAFE_141_CANONICAL;

/** Where each contract's artifact sits in the package's `build/artifacts/contracts`. */
const ARTIFACT_PATHS: Record<SafeContractName, string> = {
  Safe: "Safe.sol/Safe.json",
  SafeL2: "SafeL2.sol/SafeL2.json",
  SafeProxyFactory: "proxies/SafeProxyFactory.sol/SafeProxyFactory.json",
  MultiSend: "libraries/MultiSend.sol/MultiSend.json",
  MultiSendCallOnly: "libraries/MultiSendCallOnly.sol/MultiSendCallOnly.json",
  CompatibilityFallbackHandler: "handler/CompatibilityFallbackHandler.sol/CompatibilityFallbackHandler.json",
  SignMessageLib: "libraries/SignMessageLib.sol/SignMessageLib.json",
  CreateCall: "libraries/CreateCall.sol/CreateCall.json",
  SimulateTxAccessor: "accessors/SimulateTxAccessor.sol/SimulateTxAccessor.json",
};

export interface SafeArtifact {
  contractName: string;
  abi: readonly object[];
  bytecode: string;
  deployedBytecode: string;
}

const SAFE_PACKAGE = "@safe-global/safe-contracts";

/**
 * Loads a Safe v1.4.1 build artifact from `@safe-global/safe-contracts`.
 * Only deployment needs it; the package must be installed in the project.
 */
export function loadSafeArtifact(name: SafeContractName): SafeArtifact {
  // The package ships Safe 1.4.1's artifacts (users cannot install the Safe
  // package beside ethers 6); in this repository they come from npm.
  const shipped = path.join(packageRoot(), "artifacts-dist", "safe-1.4.1", ARTIFACT_PATHS[name]);
  if (existsSync(shipped)) return JSON.parse(readFileSync(shipped, "utf8")) as SafeArtifact;
  const require = createRequire(import.meta.url);
  const file = `${SAFE_PACKAGE}/build/artifacts/contracts/${ARTIFACT_PATHS[name]}`;
  let artifact: SafeArtifact;
  try {
    artifact = require(file) as SafeArtifact;
  } catch (error) {
    throw new BlueGreenError(
      `Cannot load Safe's ${name} artifact: hardhat-bluegreen ships it in artifacts-dist/safe-1.4.1, which is missing. Reinstall hardhat-bluegreen.`,
      error as Error,
    );
  }
  const version = (require(`${SAFE_PACKAGE}/package.json`) as { version: string }).version;
  if (version !== "1.4.1") {
    throw new BlueGreenError(
      `${SAFE_PACKAGE} ${version} is installed, but the canonical addresses used here are those of 1.4.1. ` +
        `Install exactly ${SAFE_PACKAGE}@1.4.1.`,
    );
  }
  return artifact;
}
