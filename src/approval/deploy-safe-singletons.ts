/**
 * Safe v1.4.1 on a test, demo or development network, at the same addresses
 * as on every public chain: Safe's singleton factory is put in place with
 * `hardhat_setCode` / `anvil_setCode`, then each contract is CREATE2-deployed
 * through it with a zero salt, exactly as Safe deploys them.
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
  SAFE_141_CANONICAL,
  SAFE_PROXY_FACTORY_ABI,
  SAFE_SETUP_ABI,
  SAFE_SINGLETON_FACTORY,
  SAFE_SINGLETON_FACTORY_RUNTIME,
  type SafeContractName,
  loadSafeArtifact,
} from "./safe-contracts.js";

/** A provider that also speaks raw JSON-RPC (ethers' JsonRpcProvider, hardhat-ethers' provider). */
interface RawRpc {
  send(method: string, params: unknown[]): Promise<unknown>;
}

const ALL_CONTRACTS = Object.keys(SAFE_141_CANONICAL) as SafeContractName[];

/**
 * Makes sure Safe's singleton factory and the Safe v1.4.1 contracts exist at
 * their canonical addresses. Idempotent: contracts already there are left alone.
 *
 * @param signer a funded account that pays for the deployments
 * @returns the address of each contract
 */
export async function deploySafeSingletons(
  signer: Signer,
  contracts: readonly SafeContractName[] = ALL_CONTRACTS,
): Promise<Record<SafeContractName, string>> {
  const provider = requireProvider(signer);
  await ensureSingletonFactory(provider);
  for (const name of contracts) {
    const { bytecode } = loadSafeArtifact(name);
    const expected = SAFE_141_CANONICAL[name];
    const address = getCreate2Address(SAFE_SINGLETON_FACTORY, ZeroHash, keccak256(bytecode));
    if (address !== expected) {
      // The package's bytecode is not the one Safe deployed: its address would not be Safe's.
      throw new BlueGreenError(
        `The ${name} bytecode in @safe-global/safe-contracts would land at ${address}, not at Safe's canonical ${expected}. ` +
          "Install exactly @safe-global/safe-contracts@1.4.1.",
      );
    }
    if ((await provider.getCode(address)) !== "0x") continue;
    const tx = await signer.sendTransaction({ to: SAFE_SINGLETON_FACTORY, data: concat([ZeroHash, bytecode]) });
    await tx.wait();
    if ((await provider.getCode(address)) === "0x") {
      throw new BlueGreenError(
        `Deploying ${name} through the singleton factory (tx ${tx.hash}) left no code at ${address}. ` +
          "Check that the account has funds and that the node's block gas limit allows a ~5M gas deployment.",
      );
    }
  }
  return { ...SAFE_141_CANONICAL };
}

/** Puts the singleton factory's runtime code in place on a node that allows it. */
async function ensureSingletonFactory(provider: Provider): Promise<void> {
  if ((await provider.getCode(SAFE_SINGLETON_FACTORY)) !== "0x") return;
  const rpc = provider as unknown as Partial<RawRpc>;
  if (typeof rpc.send !== "function") {
    throw new BlueGreenError("Cannot set the singleton factory's code: the signer's provider has no raw JSON-RPC `send`.");
  }
  const errors: string[] = [];
  for (const method of ["hardhat_setCode", "anvil_setCode"]) {
    try {
      await rpc.send(method, [SAFE_SINGLETON_FACTORY, SAFE_SINGLETON_FACTORY_RUNTIME]);
      if ((await provider.getCode(SAFE_SINGLETON_FACTORY)) !== "0x") return;
    } catch (error) {
      errors.push(`${method}: ${(error as Error).message}`);
    }
  }
  throw new BlueGreenError(
    `Safe's singleton factory is not deployed at ${SAFE_SINGLETON_FACTORY} on this chain, and the node refused to set its code ` +
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
}

/**
 * Creates a Safe proxy (v1.4.1) through the canonical SafeProxyFactory, with
 * the CompatibilityFallbackHandler, as the Safe web app does. Idempotent: the
 * same options return the Safe created before.
 */
export async function createSafe(signer: Signer, options: CreateSafeOptions): Promise<string> {
  const provider = requireProvider(signer);
  const { owners, threshold } = options;
  if (owners.length === 0 || threshold < 1 || threshold > owners.length) {
    throw new BlueGreenError(`A Safe needs 1 <= threshold <= owners; got threshold ${threshold} for ${owners.length} owners.`);
  }
  const singleton = SAFE_141_CANONICAL[options.singleton ?? "Safe"];
  const initializer = new Interface(SAFE_SETUP_ABI).encodeFunctionData("setup", [
    owners.map((o) => getAddress(o)),
    threshold,
    ZeroAddress,
    "0x",
    SAFE_141_CANONICAL.CompatibilityFallbackHandler,
    ZeroAddress,
    0,
    ZeroAddress,
  ]);
  const saltNonce = options.saltNonce ?? 0n;
  const factory = new Contract(SAFE_141_CANONICAL.SafeProxyFactory, SAFE_PROXY_FACTORY_ABI, signer);
  if ((await provider.getCode(SAFE_141_CANONICAL.SafeProxyFactory)) === "0x") {
    throw new BlueGreenError("SafeProxyFactory 1.4.1 is not deployed on this chain. Run deploySafeSingletons first.");
  }
  const address = await predictSafeAddress(factory, singleton, initializer, saltNonce);
  if ((await provider.getCode(address)) !== "0x") return address;
  const tx = await factory.getFunction("createProxyWithNonce")(singleton, initializer, saltNonce);
  await tx.wait();
  if ((await provider.getCode(address)) === "0x") {
    throw new BlueGreenError(`Creating the Safe (tx ${tx.hash}) left no code at the expected address ${address}.`);
  }
  return address;
}

/** The factory's CREATE2 address: salt = keccak(keccak(initializer) ++ saltNonce), code = proxy code ++ singleton. */
async function predictSafeAddress(factory: Contract, singleton: string, initializer: string, saltNonce: bigint): Promise<string> {
  const proxyCreationCode = (await factory.getFunction("proxyCreationCode")()) as string;
  const salt = keccak256(concat([keccak256(initializer), toWord(saltNonce)]));
  const initCode = concat([proxyCreationCode, toWord(BigInt(singleton))]);
  return getCreate2Address(SAFE_141_CANONICAL.SafeProxyFactory, salt, keccak256(initCode));
}

function toWord(value: bigint): string {
  return "0x" + value.toString(16).padStart(64, "0");
}

function requireProvider(signer: Signer): Provider {
  if (signer.provider === null) throw new Error("the signer has no provider");
  return signer.provider;
}
