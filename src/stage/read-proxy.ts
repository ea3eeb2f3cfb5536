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

/** The proxy kinds a release can go through (the switch's ProxyKind, by family). */
export const PROXY_KINDS = ["transparent", "uups", "beacon"] as const;
export type ProxyKindName = (typeof PROXY_KINDS)[number];

/** Who may upgrade a UUPS proxy, as its implementation's `_authorizeUpgrade` is usually written. */
export type UupsAuthority = { kind: "ownable"; owner: string } | { kind: "access-control" };

/**
 * What a release upgrades. `target` is the address the switch manages: the
 * proxy for transparent and UUPS proxies, the beacon for a beacon (upgrading
 * it switches all its proxies at once).
 */
export interface ReleaseTarget {
  kind: ProxyKindName;
  target: string;
  implementation: string;
  implementationCodehash: string;
  /** The ProxyAdmin (transparent); the zero address for the other kinds, which have no admin slot. */
  admin: string;
  /** UUPS only. */
  authority?: UupsAuthority;
  /** Beacon only: the beacon's owner. */
  beaconOwner?: string;
  /** Beacon only: the beacon proxy the user named, when it was one rather than the beacon. */
  viaBeaconProxy?: string;
}

const SELECTOR = {
  proxiableUUID: "0x52d1902d",
  implementation: "0x5c60da1b",
  owner: "0x8da5cb5b",
  /** hasRole(bytes32,address) */
  hasRole: "0x91d14854",
  /** facets() of EIP-2535's DiamondLoupe */
  facets: "0x7a0ed627",
} as const;

/** eth_call that answers undefined on a revert or no data, so probing an unknown contract never throws. */
async function tryCall(provider: Eip1193Provider, to: string, data: string): Promise<string | undefined> {
  try {
    const out = (await provider.request({ method: "eth_call", params: [{ to, data }, "latest"] })) as string;
    return out && out !== "0x" ? out : undefined;
  } catch {
    return undefined;
  }
}

/** An ABI-encoded address return value, or undefined when the answer is not one word holding an address. */
function asAddress(word: string | undefined): string | undefined {
  if (word === undefined || word.length !== 66 || !/^0x0{24}/i.test(word)) return undefined;
  return getAddress("0x" + word.slice(-40));
}

/** ABI-encodes hasRole(role, account). */
export function hasRoleCall(role: string, account: string): string {
  return SELECTOR.hasRole + zeroPadValue(role, 32).slice(2) + zeroPadValue(account, 32).slice(2);
}

/**
 * Recognises what `address` is and what it runs, for bg:stage and bg:adopt:
 * a transparent proxy (admin slot set), a UUPS proxy (no admin, and its
 * implementation answers `proxiableUUID()` with the implementation slot), a
 * beacon proxy (beacon slot set: the release then goes through its beacon),
 * or an UpgradeableBeacon itself. Anything else is refused with a message
 * that says what it looks like and what to do, before anything is sent.
 */
export async function readReleaseTarget(provider: Eip1193Provider, address: string, networkName: string): Promise<ReleaseTarget> {
  const chainId = await getChainId(provider);
  const code = await getCode(provider, address);
  if (code === "0x") {
    throw new BlueGreenError(
      "BG_STAGE_PROXY_NO_CODE",
      `${address} has no code on network "${networkName}" (chain ${chainId}). ` +
        "Check the address, and that --network points at the chain where the proxy is deployed.",
    );
  }
  const [implementation, admin, beacon] = await Promise.all([
    readSlotAddress(provider, address, IMPLEMENTATION_SLOT),
    readSlotAddress(provider, address, ADMIN_SLOT),
    readSlotAddress(provider, address, BEACON_SLOT),
  ]);
  if (implementation !== ZERO && admin !== ZERO) {
    const transparent = await readTransparentProxy(provider, address, networkName);
    return { kind: "transparent", target: address, implementation, implementationCodehash: transparent.implementationCodehash, admin };
  }
  if (beacon !== ZERO) {
    const found = await readBeacon(provider, beacon, chainId);
    if (found === undefined) {
      throw new BlueGreenError(
        "BG_STAGE_PROXY_BROKEN",
        `${address} is a beacon proxy whose beacon ${beacon} does not answer implementation() and owner() on chain ${chainId}. ` +
          "hardhat-bluegreen releases through an OpenZeppelin UpgradeableBeacon; check the beacon.",
      );
    }
    return { ...found, viaBeaconProxy: address };
  }
  if (implementation !== ZERO) {
    const implCode = await getCode(provider, implementation);
    if (implCode === "0x") {
      throw new BlueGreenError(
        "BG_STAGE_PROXY_BROKEN",
        `The implementation slot of ${address} points at ${implementation}, which has no code on chain ${chainId}. The proxy is broken; fix it before staging a release.`,
      );
    }
    const uuid = await tryCall(provider, implementation, SELECTOR.proxiableUUID);
    if (uuid?.toLowerCase() !== IMPLEMENTATION_SLOT) {
      throw new BlueGreenError(
        "BG_STAGE_PROXY_UNSUPPORTED",
        `${address} is an ERC-1967 proxy without an admin whose implementation ${implementation} does not answer proxiableUUID(): ` +
          "it is neither a TransparentUpgradeableProxy nor a UUPS proxy (a custom proxy, or a UUPS proxy whose implementation dropped UUPSUpgradeable). " +
          "hardhat-bluegreen releases OpenZeppelin's transparent, UUPS and beacon proxies; upgrade this one with the tool that deployed it.",
      );
    }
    const owner = asAddress(await tryCall(provider, address, SELECTOR.owner));
    let authority: UupsAuthority;
    if (owner !== undefined) authority = { kind: "ownable", owner };
    else if ((await tryCall(provider, address, hasRoleCall(ZERO_HASH, ZERO)))?.length === 66) authority = { kind: "access-control" };
    else {
      throw new BlueGreenError(
        "BG_STAGE_UUPS_NO_AUTHORITY",
        `${address} is a UUPS proxy, but it answers neither owner() (Ownable) nor hasRole() (AccessControl), so the switch cannot be made its upgrade authority. ` +
          "hardhat-bluegreen adopts UUPS proxies whose _authorizeUpgrade is onlyOwner or onlyRole; upgrade this one with the account its _authorizeUpgrade accepts.",
      );
    }
    return { kind: "uups", target: address, implementation, implementationCodehash: keccak256(implCode), admin: ZERO, authority };
  }
  const asBeacon = await readBeacon(provider, address, chainId);
  if (asBeacon !== undefined) return asBeacon;
  if ((await tryCall(provider, address, SELECTOR.facets)) !== undefined) {
    throw new BlueGreenError(
      "BG_STAGE_PROXY_DIAMOND",
      `${address} answers facets(): it looks like an EIP-2535 Diamond. A Diamond is upgraded facet by facet through diamondCut, not by swapping one implementation, ` +
        "so it cannot be released blue-green here. Upgrade it with diamondCut from its owner.",
    );
  }
  throw new BlueGreenError(
    "BG_STAGE_NOT_A_PROXY",
    `${address} is a contract on chain ${chainId}, but not an ERC-1967 proxy (its implementation and beacon slots are empty) nor an UpgradeableBeacon. ` +
      "Pass the address of a TransparentUpgradeableProxy, a UUPS proxy (ERC1967Proxy), a BeaconProxy or an UpgradeableBeacon, not of an implementation or another contract.",
  );
}

const ZERO_HASH = "0x" + "0".repeat(64);

/** An UpgradeableBeacon: implementation() and owner() answer with addresses, and the implementation has code. */
async function readBeacon(provider: Eip1193Provider, beacon: string, chainId: number): Promise<ReleaseTarget | undefined> {
  const [implementation, owner] = await Promise.all([
    tryCall(provider, beacon, SELECTOR.implementation).then(asAddress),
    tryCall(provider, beacon, SELECTOR.owner).then(asAddress),
  ]);
  if (implementation === undefined || owner === undefined || implementation === ZERO) return undefined;
  const implCode = await getCode(provider, implementation);
  if (implCode === "0x") {
    throw new BlueGreenError(
      "BG_STAGE_PROXY_BROKEN",
      `Beacon ${beacon} points at ${implementation}, which has no code on chain ${chainId}. The beacon is broken; fix it before staging a release.`,
    );
  }
  return { kind: "beacon", target: getAddress(beacon), implementation, implementationCodehash: keccak256(implCode), admin: ZERO, beaconOwner: owner };
}

/** What an UpgradeableBeacon answers to implementation(); the zero address when it does not answer (a broken or replaced beacon). */
export async function readBeaconImplementation(provider: Eip1193Provider, beacon: string, block = "latest"): Promise<string> {
  try {
    const out = (await provider.request({ method: "eth_call", params: [{ to: beacon, data: SELECTOR.implementation }, block] })) as string;
    return asAddress(out) ?? ZERO;
  } catch {
    return ZERO;
  }
}

/**
 * What a release target runs at `block`: the ERC-1967 implementation slot of
 * a transparent or UUPS proxy, the beacon's `implementation()` for a beacon
 * (a beacon has no ERC-1967 slot; its proxies follow it).
 */
export async function readTargetImplementation(provider: Eip1193Provider, kind: ProxyKindName, target: string, block: string | number = "latest"): Promise<string> {
  const tag = typeof block === "number" ? "0x" + block.toString(16) : block;
  return kind === "beacon" ? readBeaconImplementation(provider, target, tag) : readSlotAddress(provider, target, IMPLEMENTATION_SLOT, tag);
}
