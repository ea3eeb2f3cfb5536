/**
 * Reads what a transparent proxy runs today straight from its ERC-1967 slots.
 * The chain is the source of truth: nothing here trusts a local file.
 */
import { getAddress, keccak256, zeroPadValue } from "ethers";

import { parseUserAddress } from "../common/address.js";
import { BlueGreenError } from "../errors.js";
import type { Eip1193Provider } from "../chain/eip1193.js";

/** bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1) */
export const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";
/** bytes32(uint256(keccak256("eip1967.proxy.admin")) - 1) */
export const ADMIN_SLOT = "0xb53127684a568b3173ae13b9f8a6016e243e63b6e8ee1178d6a717850b5d6103";
/** bytes32(uint256(keccak256("eip1967.proxy.beacon")) - 1) */
export const BEACON_SLOT = "0xa3f0ad74e5423aebfd80d3ef4346578335a9a72aeaee59ff6cb3582b35133d50";

const EMPTY_CODEHASH = keccak256("0x");

export interface ProxyOnChain {
  proxy: string;
  implementation: string;
  admin: string;
  implementationCodehash: string;
}

/** Parses a user-given address, or says what is wrong with it (missing, not hex, or a wrong EIP-55 checksum). */
export function parseAddress(value: string, what: string): string {
  return parseUserAddress(value, what, "BG_STAGE_ADDRESS_INVALID");
}

export async function getChainId(provider: Eip1193Provider): Promise<number> {
  return Number(BigInt((await provider.request({ method: "eth_chainId", params: [] })) as string));
}

export async function getCode(provider: Eip1193Provider, address: string, block = "latest"): Promise<string> {
  return (await provider.request({ method: "eth_getCode", params: [address, block] })) as string;
}

/** keccak256 of an account's runtime code, as EXTCODEHASH gives it (zero hash for no code is not used here). */
export async function getCodehash(provider: Eip1193Provider, address: string, block = "latest"): Promise<string> {
  return keccak256(await getCode(provider, address, block));
}

export async function readSlotAddress(provider: Eip1193Provider, address: string, slot: string, block = "latest"): Promise<string> {
  const word = (await provider.request({ method: "eth_getStorageAt", params: [address, slot, block] })) as string;
  return getAddress("0x" + zeroPadValue(word, 32).slice(-40));
}

const ZERO = "0x0000000000000000000000000000000000000000";

/**
 * Reads a transparent proxy's implementation and admin, refusing anything
 * that is not one: no code, an empty implementation slot, a beacon proxy, or
 * a proxy with no admin (UUPS), each with a message that says what to check.
 */
export async function readTransparentProxy(
  provider: Eip1193Provider,
  proxy: string,
  networkName: string,
): Promise<ProxyOnChain> {
  const chainId = await getChainId(provider);
  const code = await getCode(provider, proxy);
  if (code === "0x" || keccak256(code) === EMPTY_CODEHASH) {
    throw new BlueGreenError(
      "BG_STAGE_PROXY_NO_CODE",
      `${proxy} has no code on network "${networkName}" (chain ${chainId}). ` +
        "Check the address, and that --network points at the chain where the proxy is deployed.",
    );
  }
  const implementation = await readSlotAddress(provider, proxy, IMPLEMENTATION_SLOT);
  if (implementation === ZERO) {
    const beacon = await readSlotAddress(provider, proxy, BEACON_SLOT);
    if (beacon !== ZERO) {
      throw new BlueGreenError(
        "BG_STAGE_NOT_TRANSPARENT_PROXY",
        `${proxy} is an ERC-1967 beacon proxy (beacon ${beacon}). hardhat-bluegreen releases transparent proxies; upgrade beacons with your beacon's owner.`,
      );
    }
    throw new BlueGreenError(
      "BG_STAGE_NOT_A_PROXY",
      `${proxy} is a contract on chain ${chainId}, but not an ERC-1967 proxy: its implementation slot is empty. ` +
        "Pass the address of the TransparentUpgradeableProxy, not of an implementation or another contract.",
    );
  }
  const admin = await readSlotAddress(provider, proxy, ADMIN_SLOT);
  if (admin === ZERO) {
    throw new BlueGreenError(
      "BG_STAGE_NOT_TRANSPARENT_PROXY",
      `${proxy} is an ERC-1967 proxy without an admin: it looks like a UUPS proxy. ` +
        "hardhat-bluegreen releases TransparentUpgradeableProxy contracts, whose ProxyAdmin the switch can own.",
    );
  }
  const implCode = await getCode(provider, implementation);
  if (implCode === "0x") {
    throw new BlueGreenError(
      "BG_STAGE_PROXY_BROKEN",
      `The implementation slot of ${proxy} points at ${implementation}, which has no code on chain ${chainId}. The proxy is broken; fix it before staging a release.`,
    );
  }
  return { proxy, implementation, admin, implementationCodehash: keccak256(implCode) };
}
