/**
 * Safe's own SDK (@safe-global/protocol-kit 8) against our in-process chain:
 * the independent side the approval tests compare with, and the "Safe web
 * app / another owner" that executes outside the plugin.
 */
import SafeModule from "@safe-global/protocol-kit";
import { SigningMethod } from "@safe-global/types-kit";

import { type SafeVersion, safeCanonicalAddresses } from "../../src/approval/safe-contracts.js";

type SafeClass = typeof SafeModule.default;
// Under module node20 the class can sit one `default` deeper.
const Safe = ((SafeModule as unknown as { default?: SafeClass }).default ?? SafeModule) as SafeClass;
export type SafeKit = Awaited<ReturnType<SafeClass["init"]>>;

/** A protocol-kit instance for `safe`, acting as `signer` (an unlocked account of the node). */
export async function safeKit(provider: unknown, chainId: bigint, safe: string, signer: string, version: SafeVersion): Promise<SafeKit> {
  const a = safeCanonicalAddresses(version);
  return Safe.init({
    provider: provider as never,
    signer,
    safeAddress: safe,
    // Chain 31337 is not in Safe's deployments: name every contract, as a local chain must.
    contractNetworks: {
      [chainId.toString()]: {
        safeSingletonAddress: a.Safe,
        safeProxyFactoryAddress: a.SafeProxyFactory,
        multiSendAddress: a.MultiSend,
        multiSendCallOnlyAddress: a.MultiSendCallOnly,
        fallbackHandlerAddress: a.CompatibilityFallbackHandler,
        signMessageLibAddress: a.SignMessageLib,
        createCallAddress: a.CreateCall,
        simulateTxAccessorAddress: a.SimulateTxAccessor,
      },
    },
  });
}

/** A Safe transaction made by protocol-kit: one CALL, at `nonce`. */
export async function kitTransaction(kit: SafeKit, call: { to: string; data: string }, nonce: number) {
  return kit.createTransaction({ transactions: [{ to: call.to, value: "0", data: call.data }], options: { nonce } });
}

export { SigningMethod };
