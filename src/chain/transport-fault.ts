/**
 * Which errors are faults of the transport to a node (it is down, silent,
 * rate-limiting or failing) rather than its answer. Judged on the errors'
 * types, status codes and JSON-RPC codes, through their causes (ethers and
 * Hardhat wrap them), never on their wording.
 */
import { HardhatError } from "@nomicfoundation/hardhat-errors";
import { ConnectionRefusedError, RequestTimeoutError, ResponseStatusCodeError } from "@nomicfoundation/hardhat-utils/request";

import type { ErrorCode } from "../errors.js";

/** What a failed attempt was, and so which code the error carries once the retries are spent. */
export type TransportFault = "timeout" | "rate-limited" | "http" | "unreachable" | "bad-response";

export const FAULT_CODES: Record<TransportFault, ErrorCode> = {
  timeout: "BG_RPC_TIMEOUT",
  "rate-limited": "BG_RPC_RATE_LIMITED",
  http: "BG_RPC_HTTP",
  unreachable: "BG_RPC_UNREACHABLE",
  "bad-response": "BG_RPC_BAD_RESPONSE",
};

export interface Fault {
  kind: TransportFault;
  /** What happened, for a person: "HTTP 503", "ECONNREFUSED", "request timed out". */
  reason: string;
  /** The HTTP status, when the node answered with one. */
  status?: number;
}

/** Worth retrying: the node may answer next time (not a 4xx other than 429, which will not change). */
export function isRetryable(fault: Fault): boolean {
  return !(fault.kind === "http" && fault.status !== undefined && fault.status < 500);
}

/** Socket and undici errors that mean the node could not be reached. */
const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "NETWORK_ERROR"]);
const TIMEOUT_CODES = new Set(["ETIMEDOUT", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "TIMEOUT"]);
/** EIP-1474 "limit exceeded", which Hardhat's provider also throws once its own 429 retries are spent. */
const LIMIT_EXCEEDED = -32005;

export function transportFaultOf(error: unknown): Fault | undefined {
  for (let e: unknown = error, depth = 0; typeof e === "object" && e !== null && depth < 8; depth++) {
    if (e instanceof RequestTimeoutError || HardhatError.isHardhatError(e, HardhatError.ERRORS.CORE.NETWORK.NETWORK_TIMEOUT)) {
      return { kind: "timeout", reason: "request timed out" };
    }
    if (e instanceof ConnectionRefusedError || HardhatError.isHardhatError(e, HardhatError.ERRORS.CORE.NETWORK.CONNECTION_REFUSED)) {
      return { kind: "unreachable", reason: "connection refused" };
    }
    if (e instanceof ResponseStatusCodeError) {
      return { kind: e.statusCode === 429 ? "rate-limited" : "http", reason: `HTTP ${e.statusCode}`, status: e.statusCode };
    }
    const code = (e as { code?: unknown }).code;
    if (code === LIMIT_EXCEEDED) return { kind: "rate-limited", reason: "limit exceeded (-32005)" };
    if (typeof code === "string" && TIMEOUT_CODES.has(code)) return { kind: "timeout", reason: code };
    if (typeof code === "string" && (UNREACHABLE_CODES.has(code) || code.startsWith("UND_ERR"))) return { kind: "unreachable", reason: code };
    // ethers' code for a node that answered with a server error.
    if (code === "SERVER_ERROR") return { kind: "http", reason: code };
    const next = e as { cause?: unknown; error?: unknown };
    e = next.cause ?? next.error;
  }
  return undefined;
}
