/**
 * A transport fault that reached a command, as a coded error that names the
 * node and says what to check, instead of Hardhat's "unexpected error" with
 * a stack trace.
 */
import { BlueGreenError } from "../errors.js";
import { FAULT_CODES, type TransportFault, transportFaultOf } from "./transport-fault.js";

const NODE_CODES: ReadonlySet<string> = new Set(Object.values(FAULT_CODES));

const WHAT: Record<TransportFault, { what: string; hint: string }> = {
  timeout: {
    what: "did not answer in time",
    hint: "Check that the node runs, is synced and reachable, and that the network's url is right; a slow node needs a longer blueGreen.rpc.timeout.",
  },
  unreachable: { what: "could not be reached", hint: "Check the network's url in hardhat.config.ts, and that the node runs and accepts connections." },
  "rate-limited": { what: "is rate-limiting this command", hint: "Wait and run it again, or use your own node or an endpoint with a higher limit." },
  http: { what: "answered with an HTTP error", hint: "The node or its provider is failing: check its status, or point the network at another endpoint." },
  "bad-response": { what: "answered something that is not JSON-RPC", hint: "Check that the network's url is a JSON-RPC endpoint." },
};

/**
 * What a command reports for an error: a coded node fault raised at the
 * connection (chain/hardhat-connection.ts) even when ethers wrapped it on
 * the way up; otherwise the error untouched.
 */
export function surfaceNodeError(error: unknown): unknown {
  if (BlueGreenError.is(error)) return error;
  for (let e: unknown = error, depth = 0; typeof e === "object" && e !== null && depth < 8; depth++) {
    if (isNodeFault(e)) return e;
    const next = e as { cause?: unknown; error?: unknown };
    e = next.cause ?? next.error;
  }
  return error;
}

/** Our coded error for a node's transport fault (raised at the connection, or once a client's retries ran out). */
export function isNodeFault(error: unknown): error is BlueGreenError {
  return BlueGreenError.is(error) && NODE_CODES.has(error.code);
}

/** A node's transport fault as a coded error naming the node; ours and anything else untouched. */
export function asNodeError(error: unknown, node: string): unknown {
  if (BlueGreenError.is(error)) return error;
  const fault = transportFaultOf(error);
  if (fault === undefined) return error;
  const { what, hint } = WHAT[fault.kind];
  return new BlueGreenError(FAULT_CODES[fault.kind], `The node of ${node} ${what} (${fault.reason}).`, { hint, ...(error instanceof Error ? { cause: error } : {}) });
}
