/**
 * Safe (1.4.1 or 1.3.0) on a test, demo or development network, at the same
 * addresses as on every public chain: the CREATE2 factory the version was
 * deployed through (Safe's singleton factory for 1.4.1, Arachnid's
 * deterministic-deployment proxy for 1.3.0) is put in place with
 * `hardhat_setCode` / `anvil_setCode`, then each contract is CREATE2-deployed
 * through it with a zero salt, exactly as Safe deployed them.
 *
 * On public chains the factory and the contracts already exist; nothing here
 * is needed there.
 */
import {
  Contract,
  Interface,
  ZeroAddress,
  ZeroHash,
  concat,
  getAddress,
  getCreate2Address,
  keccak256,
  type Provider,
  type Signer,
} from "ethers";

import { BlueGreenError } from "../errors.js";
import {
  SAFE_DEPLOYER,
  SAFE_PROXY_FACTORY_ABI,
  SAFE_SETUP_ABI,
  SAFE_SINGLETON_FACTORY_RUNTIME,
  type SafeContractName,
  type SafeVersion,
  deployableSafeContracts,
  loadSafeArtifact,
  safeCanonicalAddresses,
} from "./safe-contracts.js";

/** A provider that also speaks raw JSON-RPC (ethers' JsonRpcProvider, hardhat-ethers' provider). */
interface RawRpc {
  send(method: string, params: unknown[]): Promise<unknown>;
}

/**
 * Makes sure the version's CREATE2 factory and its Safe contracts exist at
 * their canonical addresses (those of `@safe-global/safe-deployments`).
 * Idempotent: contracts already there are left alone.
 *
 * @param signer a funded account that pays for the deployments
 * @param contracts which contracts; all the version's deployable ones by default
 * @returns the canonical address of each contract of the version
 */
export async function deploySafeSingletons(
  signer: Signer,
  contracts?: readonly SafeContractName[],
  version: SafeVersion = "1.4.1",
): Promise<Record<SafeContractName, string>> {
  const provider = requireProvider(signer);
  const factory = SAFE_DEPLOYER[version];
  const canonical = safeCanonicalAddresses(version);
  await ensureSingletonFactory(provider, factory);
  for (const name of contracts ?? deployableSafeContracts(version)) {
    const { bytecode } = loadSafeArtifact(name, version);
    const expected = canonical[name];
    const address = getCreate2Address(factory, ZeroHash, keccak256(bytecode));
    if (address !== expected) {
      // The package's bytecode is not the one Safe deployed: its address would not be Safe's.
      throw new BlueGreenError(
        "BG_APPROVAL_SAFE_DEPLOY",
        `The ${name} ${version} bytecode hardhat-bluegreen carries would land at ${address}, not at Safe's canonical ${expected}. Reinstall hardhat-bluegreen.`,
      );
    }
    if ((await provider.getCode(address)) !== "0x") continue;
    const tx = await signer.sendTransaction({ to: factory, data: concat([ZeroHash, bytecode]) });
    await tx.wait();
    if ((await provider.getCode(address)) === "0x") {
      throw new BlueGreenError(
        "BG_APPROVAL_SAFE_DEPLOY",
        `Deploying ${name} through the singleton factory (tx ${tx.hash}) left no code at ${address}. ` +
          "Check that the account has funds and that the node's block gas limit allows a ~5M gas deployment.",
      );
    }
  }
  return canonical;
}

/** Puts a CREATE2 factory's runtime code in place on a node that allows it. */
async function ensureSingletonFactory(provider: Provider, factory: string): Promise<void> {
  if ((await provider.getCode(factory)) !== "0x") return;
  const rpc = provider as unknown as Partial<RawRpc>;
  if (typeof rpc.send !== "function") {
    throw new BlueGreenError("BG_APPROVAL_SAFE_DEPLOY", "Cannot set the singleton factory's code: the signer's provider has no raw JSON-RPC `send`.");
  }
  const errors: string[] = [];
  for (const method of ["hardhat_setCode", "anvil_setCode"]) {
    try {
      await rpc.send(method, [factory, SAFE_SINGLETON_FACTORY_RUNTIME]);
      if ((await provider.getCode(factory)) !== "0x") return;
    } catch (error) {
      errors.push(`${method}: ${(error as Error).message}`);
    }
  }
  throw new BlueGreenError(
    "BG_APPROVAL_SAFE_DEPLOY",
    `The CREATE2 factory Safe deploys through is not at ${factory} on this chain, and the node refused to set its code ` +
      `(${errors.join("; ")}). On a public chain, deploy Safe with Safe's own tooling; here, use a Hardhat node or anvil.`,
  );
}

export interface CreateSafeOptions {
  owners: readonly string[];
  threshold: number;
  /** Changes the Safe's address; the same owners, threshold and salt give the same Safe. */
  saltNonce?: bigint;
  /** `Safe` for L1s; `SafeL2` emits the events L2 indexers need. */
  singleton?: "Safe" | "SafeL2";
  /** The Safe version (its singleton, factory and fallback handler); 1.4.1 by default. */
  version?: SafeVersion;
}

/**
 * Creates a Safe proxy (1.4.1, or the given version) through the version's canonical SafeProxyFactory, with
 * the CompatibilityFallbackHandler, as the Safe web app does. Idempotent: the
 * same options return the Safe created before.
 */
export async function createSafe(signer: Signer, options: CreateSafeOptions): Promise<string> {
  const provider = requireProvider(signer);
  const { owners, threshold } = options;
  if (owners.length === 0 || threshold < 1 || threshold > owners.length) {
    throw new BlueGreenError("BG_APPROVAL_SAFE_DEPLOY", `A Safe needs 1 <= threshold <= owners; got threshold ${threshold} for ${owners.length} owners.`);
  }
  const version = options.version ?? "1.4.1";
  const canonical = safeCanonicalAddresses(version);
  const singleton = canonical[options.singleton ?? "Safe"];
  const initializer = new Interface(SAFE_SETUP_ABI).encodeFunctionData("setup", [
    owners.map((o) => getAddress(o)),
    threshold,
    ZeroAddress,
    "0x",
    canonical.CompatibilityFallbackHandler,
    ZeroAddress,
    0,
    ZeroAddress,
  ]);
  const saltNonce = options.saltNonce ?? 0n;
  const factory = new Contract(canonical.SafeProxyFactory, SAFE_PROXY_FACTORY_ABI, signer);
  if ((await provider.getCode(canonical.SafeProxyFactory)) === "0x") {
    throw new BlueGreenError("BG_APPROVAL_SAFE_DEPLOY", `SafeProxyFactory ${version} is not deployed on this chain. Run deploySafeSingletons first.`);
  }
  const address = await predictSafeAddress(factory, singleton, initializer, saltNonce);
  if ((await provider.getCode(address)) !== "0x") return address;
  const tx = await factory.getFunction("createProxyWithNonce")(singleton, initializer, saltNonce);
  await tx.wait();
  if ((await provider.getCode(address)) === "0x") {
    throw new BlueGreenError("BG_APPROVAL_SAFE_DEPLOY", `Creating the Safe (tx ${tx.hash}) left no code at the expected address ${address}.`);
  }
  return address;
}

/** The factory's CREATE2 address: salt = keccak(keccak(initializer) ++ saltNonce), code = proxy code ++ singleton. */
async function predictSafeAddress(factory: Contract, singleton: string, initializer: string, saltNonce: bigint): Promise<string> {
  const proxyCreationCode = (await factory.getFunction("proxyCreationCode")()) as string;
  const salt = keccak256(concat([keccak256(initializer), toWord(saltNonce)]));
  const initCode = concat([proxyCreationCode, toWord(BigInt(singleton))]);
  return getCreate2Address(await factory.getAddress(), salt, keccak256(initCode));
}

function toWord(value: bigint): string {
  return "0x" + value.toString(16).padStart(64, "0");
}

function requireProvider(signer: Signer): Provider {
  if (signer.provider === null) throw new Error("the signer has no provider");
  return signer.provider;
}
