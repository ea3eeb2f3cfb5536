/**
 * The rollback-path proof as `bg:stage` runs it for a UUPS proxy, before
 * anything is sent to the real chain: green is deployed on a fork (from its
 * creation code, by the same deployer), and the proof of rollback-path.ts
 * then switches it in, back to blue and in again.
 *
 * Who acts: the switch, when it already holds the proxy's upgrade authority
 * (adopted). Before adoption nobody can act as the switch will, so the
 * future authority is put in place on the fork first, the way bg:adopt will
 * on chain: the owner transfers ownership to it (Ownable), or it is given
 * the upgrader role (AccessControl, written into OpenZeppelin v5's
 * namespaced AccessControl storage and read back through hasRole). That
 * stand-in is the chain's switch when one is deployed, otherwise a fixed
 * address: either way an account that green's `_authorizeUpgrade` must
 * accept only because it holds the authority, which is exactly the switch's
 * position after adoption.
 */
import { AbiCoder, Interface, getAddress, keccak256, type InterfaceAbi } from "ethers";

import type { Eip1193Provider } from "../chain/eip1193.js";
import { BlueGreenError, errorMessage } from "../errors.js";
import { hasRoleCall, type UupsAuthority } from "../stage/read-proxy.js";
import type { StagedProof, StagedProofInput } from "../stage/stage-release.js";
import { DEFAULT_UPGRADER_ROLE } from "./adopt-proxy.js";
import { proveRollbackPath, readRollbackPathTarget, type RollbackPathFork, type RollbackPathResult } from "./rollback-path.js";

/** Stands in for the switch on the fork when none is deployed yet (an address nobody holds a key for). */
export const SWITCH_STAND_IN = "0x00000000000000000000000000000000b1ee6ee1";

/** OpenZeppelin v5 AccessControlUpgradeable's ERC-7201 storage location (`openzeppelin.storage.AccessControl`). */
const ACCESS_CONTROL_STORAGE = 0x02dd7bc7dec4dceedda775e58dd541e08a116c6c53815c0bd028192f7b626800n;

const CALLS = new Interface([
  "function transferOwnership(address newOwner)",
  "function owner() view returns (address)",
  "function upgraderRole(address proxy) view returns (bytes32)",
]);

export interface StagedRollbackPathInput {
  /** A fork of the release's chain, or a disposable network: the proof sends transactions on it. */
  provider: Eip1193Provider;
  proxy: string;
  authority: UupsAuthority;
  blue: string;
  /** Green's creation code (no constructor arguments: bg:stage deploys green without any). */
  greenCreationCode: string;
  /** Who deploys green on the real chain; it deploys it on the fork too. */
  deployer: string;
  /** The switch of this chain, when one is deployed. */
  switchAddress?: string;
  /** AccessControl: the upgrader role, when known (bg:adopt's --role); UPGRADER_ROLE otherwise. */
  role?: string;
  errors?: InterfaceAbi;
}

export interface StagedRollbackPathOutcome {
  result: RollbackPathResult;
  /** Who acted: the adopted switch, or the future authority put in place on the fork. */
  actor: string;
  as: "switch" | "future-authority";
  /** Green's address on the fork. */
  forkGreen: string;
}

/**
 * Runs the proof; the fork is snapshotted first and reverted at the end when
 * it supports it. Throws BG_STAGE_ROLLBACK_PATH_UNPROVEN when the stand-in
 * cannot be given the authority on the fork (then nothing was proven).
 */
export async function proveStagedRollbackPath(input: StagedRollbackPathInput): Promise<StagedRollbackPathOutcome> {
  const { provider } = input;
  const rpc = <T>(method: string, params: unknown[] = []) => provider.request({ method, params }) as Promise<T>;
  const proxy = getAddress(input.proxy);
  const snapshot = await rpc<string>("evm_snapshot").catch(() => undefined);
  try {
    const forkGreen = await deployOnFork(rpc, getAddress(input.deployer), input.greenCreationCode);
    const adopted = input.switchAddress !== undefined ? await readRollbackPathTarget(provider, input.switchAddress, proxy).catch(() => undefined) : undefined;
    let actor: string;
    let as: StagedRollbackPathOutcome["as"];
    if (adopted?.kind === "uups") {
      actor = getAddress(input.switchAddress!);
      as = "switch";
    } else {
      actor = getAddress(input.switchAddress ?? SWITCH_STAND_IN);
      as = "future-authority";
      await handAuthority(rpc, proxy, input.authority, actor, input.role ?? DEFAULT_UPGRADER_ROLE);
    }
    const result = await proveRollbackPath({
      provider,
      proxy,
      kind: "uups",
      switchAddress: actor,
      blue: input.blue,
      green: forkGreen,
      ...(input.errors !== undefined ? { errors: input.errors } : {}),
    });
    return { result, actor, as, forkGreen };
  } finally {
    if (snapshot !== undefined) await rpc("evm_revert", [snapshot]).catch(() => {});
  }
}

type Rpc = <T>(method: string, params?: unknown[]) => Promise<T>;

/** Sends `call` as `from` (impersonated, funded) and waits for its receipt; a fork without automine is mined. */
async function sendAs(rpc: Rpc, from: string, call: { to?: string; data: string }): Promise<{ status: string; contractAddress?: string | null }> {
  await rpc("hardhat_impersonateAccount", [from]);
  try {
    await rpc("hardhat_setBalance", [from, "0x3635c9adc5dea00000"]);
    const hash = await rpc<string>("eth_sendTransaction", [{ from, ...call, gas: "0xf42400" }]);
    let receipt = await rpc<{ status: string; contractAddress?: string | null } | null>("eth_getTransactionReceipt", [hash]);
    if (receipt === null) {
      await rpc("evm_mine");
      receipt = await rpc("eth_getTransactionReceipt", [hash]);
    }
    if (receipt === null) throw new Error(`the fork did not mine transaction ${hash}`);
    return receipt;
  } finally {
    await rpc("hardhat_stopImpersonatingAccount", [from]).catch(() => {});
  }
}

async function deployOnFork(rpc: Rpc, deployer: string, creationCode: string): Promise<string> {
  const receipt = await sendAs(rpc, deployer, { data: creationCode });
  if (BigInt(receipt.status) !== 1n || !receipt.contractAddress) {
    throw new BlueGreenError(
      "BG_STAGE_ROLLBACK_PATH_UNPROVEN",
      "green's deployment reverted on a fork of the chain, so the rollback path could not be proven.",
      { hint: "Check that green deploys without constructor arguments (bg:stage deploys it without any) and that its constructor does not revert." },
    );
  }
  return getAddress(receipt.contractAddress);
}

/** Puts the future upgrade authority (`actor`) in place on the fork, as bg:adopt will on chain, and checks it took. */
async function handAuthority(rpc: Rpc, proxy: string, authority: UupsAuthority, actor: string, role: string): Promise<void> {
  if (authority.kind === "ownable") {
    const receipt = await sendAs(rpc, authority.owner, { to: proxy, data: CALLS.encodeFunctionData("transferOwnership", [actor]) });
    const owner = getAddress(CALLS.decodeFunctionResult("owner", await rpc<string>("eth_call", [{ to: proxy, data: CALLS.encodeFunctionData("owner") }, "latest"]))[0] as string);
    if (BigInt(receipt.status) === 1n && owner === actor) return;
    throw unproven(proxy, `its owner ${authority.owner} could not transfer ownership to the switch on a fork (transferOwnership ${BigInt(receipt.status) === 1n ? `left owner() at ${owner}` : "reverted"})`);
  }
  // OpenZeppelin v5: _roles[role].hasRole[actor] in the namespaced AccessControl storage.
  const coder = AbiCoder.defaultAbiCoder();
  const roleData = BigInt(keccak256(coder.encode(["bytes32", "uint256"], [role, ACCESS_CONTROL_STORAGE])));
  const member = keccak256(coder.encode(["address", "uint256"], [actor, roleData]));
  await rpc("hardhat_setStorageAt", [proxy, member, "0x" + "0".repeat(63) + "1"]);
  const granted = await rpc<string>("eth_call", [{ to: proxy, data: hasRoleCall(role, actor) }, "latest"]).catch(() => "0x");
  if (granted !== "0x" && BigInt(granted) === 1n) return;
  throw unproven(
    proxy,
    `the upgrader role ${role} could not be given to the switch on a fork (the proxy does not keep its roles where OpenZeppelin v5's AccessControlUpgradeable does)`,
  );
}

function unproven(proxy: string, why: string): BlueGreenError {
  return new BlueGreenError(
    "BG_STAGE_ROLLBACK_PATH_UNPROVEN",
    `The rollback path of UUPS proxy ${proxy} could not be proven before adoption: ${why}. Nothing was deployed or recorded.`,
    { hint: "Adopt the proxy first (npx hardhat bg:adopt --proxy <proxy>), then run bg:stage again: the proof then acts as the switch itself." },
  );
}

/**
 * bg:stage's `proveRollbackPath`: opens a fork, runs the proof as above,
 * closes the fork, and returns the verdict as the stage records it.
 */
export function stagedRollbackPathProver(options: {
  openFork: () => Promise<RollbackPathFork>;
  switchAddress?: string;
  role?: string;
}): (input: StagedProofInput) => Promise<StagedProof> {
  return async ({ target, green, deployer }) => {
    if (target.authority === undefined) throw new Error("the rollback-path proof of bg:stage is for UUPS proxies");
    let fork: RollbackPathFork;
    try {
      fork = await options.openFork();
    } catch (e) {
      throw new BlueGreenError(
        "BG_STAGE_ROLLBACK_PATH_UNPROVEN",
        `The rollback path of UUPS proxy ${target.target} could not be proven: no fork of the chain could be opened (${errorMessage(e)}). Nothing was deployed or recorded.`,
        { hint: "Check that the network's RPC endpoint is reachable over HTTP and serves the state at its head (the proof forks it in process), then run bg:stage again.", cause: e as Error },
      );
    }
    try {
      const { result, actor, as } = await proveStagedRollbackPath({
        provider: fork.provider,
        proxy: target.target,
        authority: target.authority,
        blue: target.implementation,
        greenCreationCode: green.bytecode,
        deployer,
        ...(options.switchAddress !== undefined ? { switchAddress: options.switchAddress } : {}),
        ...(options.role !== undefined ? { role: options.role } : {}),
        errors: green.abi as InterfaceAbi,
      });
      if (result.ok) return { ok: true, actor, as, steps: result.steps.map((s) => s.step), blockNumber: result.blockNumber };
      if (as === "future-authority" && result.step === "switch-in") {
        // Blue itself refused the stand-in: the authority is not the one assumed (another role, a custom check), which says nothing about green.
        throw unproven(target.target, `blue's own upgradeToAndCall refused the stand-in for the switch (${result.revert?.signature ?? result.cause}), so the authority it checks is not ${target.authority.kind === "ownable" ? "owner()" : "UPGRADER_ROLE"}`);
      }
      return {
        ok: false,
        actor,
        as,
        step: result.step,
        cause: result.cause,
        ...(result.revert !== undefined ? { revert: result.revert.signature } : {}),
        blockNumber: result.blockNumber,
      };
    } finally {
      await fork.close().catch(() => {});
    }
  };
}
