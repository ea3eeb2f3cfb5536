/**
 * The Safe Transaction Service: where Safe{Wallet} reads its queue. With
 * `blueGreen.approval.safeService` set, a proposal's Safe transaction is
 * posted there (so it shows in every owner's queue) and confirmations given
 * in the Safe app are read back into the proposal's signatures.
 *
 * Talks to the service through Safe's own `@safe-global/api-kit`, loaded only
 * when a service is configured, so projects without one need not install it.
 * Every confirmation read back is checked like a pasted signature: it must
 * recover to a current owner over this very safeTxHash.
 */
import { getAddress } from "ethers";

import { BlueGreenError } from "../errors.js";
import type { SafeTransaction } from "./safe-transaction.js";

/** The few service calls the approval path makes. */
export interface SafeServiceLink {
  readonly url: string;
  /** The service's copy of a Safe transaction, or undefined when it has none. */
  transaction(safeTxHash: string): Promise<{ safe: string; nonce: string } | undefined>;
  /** Posts a Safe transaction with its first owner signature. */
  propose(input: { safe: string; tx: SafeTransaction; safeTxHash: string; sender: string; signature: string }): Promise<void>;
  /** Adds an owner's signature to a posted transaction. */
  confirm(safeTxHash: string, signature: string): Promise<void>;
  /** The owner signatures the service holds for a transaction. */
  confirmations(safeTxHash: string): Promise<Array<{ owner: string; signature: string }>>;
}

interface ApiKitLike {
  getTransaction(safeTxHash: string): Promise<{ safe: string; nonce: string | number }>;
  proposeTransaction(input: object): Promise<void>;
  confirmTransaction(safeTxHash: string, signature: string): Promise<unknown>;
  getTransactionConfirmations(safeTxHash: string): Promise<{ results: Array<{ owner: string; signature: string }> }>;
}

/** Opens a link to the service at `url` for `chainId`. */
export async function connectSafeService(url: string, chainId: number, apiKey?: string): Promise<SafeServiceLink> {
  let ApiKit: new (config: { chainId: bigint; txServiceUrl: string; apiKey?: string }) => ApiKitLike;
  try {
    const mod = (await import("@safe-global/api-kit")) as unknown as { default: unknown };
    // Under Node's ESM/CJS interop the class can sit one `default` deeper.
    ApiKit = ((mod.default as { default?: unknown }).default ?? mod.default) as typeof ApiKit;
  } catch (error) {
    throw new BlueGreenError(
      "BG_APPROVAL_SERVICE",
      "blueGreen.approval.safeService is set, but @safe-global/api-kit is not installed. Run `npm install --save-dev @safe-global/api-kit@5`, or remove safeService.",
      { cause: error as Error },
    );
  }
  const kit = new ApiKit({ chainId: BigInt(chainId), txServiceUrl: url.replace(/\/+$/, ""), ...(apiKey !== undefined ? { apiKey } : {}) });
  const failed = (what: string, error: unknown): never => {
    throw new BlueGreenError(
      "BG_APPROVAL_SERVICE",
      `The Safe Transaction Service at ${url} failed to ${what}: ${(error as Error).message}. ` +
        "Check blueGreen.approval.safeService (and safeServiceApiKey for api.safe.global), or remove it to work from the proposal files only.",
        { cause: error as Error },
    );
  };
  return {
    url,
    async transaction(safeTxHash) {
      try {
        const tx = await kit.getTransaction(safeTxHash);
        return { safe: getAddress(tx.safe), nonce: String(tx.nonce) };
      } catch (error) {
        if (notFound(error)) return undefined;
        return failed(`read transaction ${safeTxHash}`, error);
      }
    },
    async propose({ safe, tx, safeTxHash, sender, signature }) {
      try {
        await kit.proposeTransaction({
          safeAddress: getAddress(safe),
          safeTransactionData: { ...tx, operation: tx.operation },
          safeTxHash,
          senderAddress: getAddress(sender),
          senderSignature: signature,
          origin: "hardhat-bluegreen",
        });
      } catch (error) {
        failed(`accept the proposal ${safeTxHash}`, error);
      }
    },
    async confirm(safeTxHash, signature) {
      try {
        await kit.confirmTransaction(safeTxHash, signature);
      } catch (error) {
        failed(`accept a confirmation of ${safeTxHash}`, error);
      }
    },
    async confirmations(safeTxHash) {
      try {
        const page = await kit.getTransactionConfirmations(safeTxHash);
        return page.results.map((c) => ({ owner: getAddress(c.owner), signature: c.signature }));
      } catch (error) {
        if (notFound(error)) return [];
        return failed(`list the confirmations of ${safeTxHash}`, error);
      }
    },
  };
}

/** api-kit's HttpError carries the HTTP status: 404 is "the service does not know this transaction". */
function notFound(error: unknown): boolean {
  return (error as { statusCode?: unknown }).statusCode === 404;
}
