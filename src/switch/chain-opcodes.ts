/**
 * The switch's reentrancy guard keeps its lock in transient storage (EIP-1153,
 * TLOAD/TSTORE) and solc 0.8.30 emits PUSH0 (EIP-3855). On a chain without
 * them every guarded function reverts, `release` included, so a ProxyAdmin
 * handed to the switch could never be handed back. The check runs the opcodes
 * on the target chain itself: a chain id says nothing about which forks a
 * chain (or a fork of it, or an L2) has activated.
 */
import type { Provider } from "ethers";

import { BlueGreenError } from "../errors.js";

/** Stable code in the message of the error below, for scripts and CI. */
export const CHAIN_OPCODES_ERROR_CODE = "BG_CHAIN_OPCODES";

/**
 * Creation code that TSTOREs 1, TLOADs it back and returns it as one word,
 * using PUSH0 for every zero:
 * PUSH1 1, PUSH0, TSTORE, PUSH0, TLOAD, PUSH0, MSTORE, PUSH1 32, PUSH0, RETURN.
 */
export const OPCODE_PROBE_CREATION_CODE = "0x60015f5d5f5c5f5260205ff3";
const EXPECTED = "0x" + "00".repeat(31) + "01";

/**
 * Throws a BlueGreenError when the chain behind `provider` cannot run
 * TLOAD, TSTORE and PUSH0, checked by an eth_call of a tiny creation.
 */
export async function checkChainOpcodes(provider: Pick<Provider, "call">, networkName: string): Promise<void> {
  let result: string;
  try {
    result = await provider.call({ data: OPCODE_PROBE_CREATION_CODE });
  } catch (error) {
    throw refused(networkName, `the probe call failed (${shortReason(error)})`, error);
  }
  if (result.toLowerCase() !== EXPECTED) throw refused(networkName, `the probe returned ${result}, not 1`);
}

function refused(networkName: string, why: string, cause?: unknown): BlueGreenError {
  return new BlueGreenError(
    CHAIN_OPCODES_ERROR_CODE,
    `Network "${networkName}" cannot run the BlueGreenSwitch: it needs the PUSH0 (Shanghai, EIP-3855) and TLOAD/TSTORE (Cancun, EIP-1153) opcodes, and ${why}. ` +
      "Without them every guarded function of the switch reverts, release included, so a ProxyAdmin given to it would be locked for good. " +
      "Deploy on a chain (or a node configured with a hardfork) at Cancun or later; for a local node set its hardfork to cancun, prague or osaka.",
    cause instanceof Error ? { cause } : {},
  );
}

function shortReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0]!.slice(0, 200);
}
