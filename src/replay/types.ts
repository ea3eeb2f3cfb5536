/**
 * The data the replay passes between its parts: traffic, block context,
 * what one execution showed, and how blue and green differed. Plain data
 * only, so every part can be tested on its own and the report is a
 * serialization of these types.
 */

/** The block fields a transaction can observe, as the source chain had them. */
export interface BlockContext {
  number: number;
  timestamp: number;
  /** Absent on pre-London chains. */
  baseFeePerGas?: bigint;
  coinbase: string;
  /** `mixHash` of a post-merge block. */
  prevRandao: string;
  gasLimit: bigint;
}

/** A transaction as it is sent again on the fork, with the original fields. */
export interface TxRequest {
  from: string;
  /** Undefined for a contract creation. */
  to?: string;
  data: string;
  value: bigint;
  gas: bigint;
  nonce: number;
  /** 0 legacy, 1 access list, 2 EIP-1559, 3 blob, 4 set-code. */
  type: number;
  gasPrice?: bigint;
  maxFeePerGas?: bigint;
  maxPriorityFeePerGas?: bigint;
  accessList?: Array<{ address: string; storageKeys: string[] }>;
  authorizationList?: unknown[];
}

/** An `eth_call` from a capture file: nothing is mined, only blue and green answers are compared. */
export interface CallRequest {
  from?: string;
  to: string;
  data: string;
  value: bigint;
  gas?: bigint;
}

/** How a transaction was found to touch the proxy. */
export type DiscoveryMethod =
  | "to"
  | "logs"
  | "trace_filter"
  | "debug_traceBlockByNumber"
  | "debug_traceTransaction"
  | "capture";

/** One unit of traffic, in replay order. */
export type TrafficItem =
  | {
      kind: "tx";
      /** The original transaction hash (also the hash of the replayed one). */
      hash: string;
      tx: TxRequest;
      /** Whether it touches the proxy (twin-executed) or only carries state forward. */
      target: boolean;
      foundBy: DiscoveryMethod[];
      /** The block it ran in on the source; undefined for captured transactions not yet mined. */
      block?: BlockContext;
      /** Line of the capture file it came from. */
      line?: number;
    }
  | {
      kind: "call";
      /** `call@<line>`: calls have no hash. */
      hash: string;
      call: CallRequest;
      target: true;
      foundBy: ["capture"];
      line: number;
      /** The block whose state the call saw, as captured. */
      blockNumber?: number;
    };

export interface LogEntry {
  address: string;
  topics: string[];
  data: string;
}

/** What one execution of a transaction (or call) showed. */
export interface Observation {
  status: "success" | "revert";
  /** The EVM's error for a failed execution ("execution reverted", "out of gas", ...). */
  error?: string;
  /** Output of a successful execution. */
  returnData?: string;
  /** Output of a reverted one (the revert reason or custom error). */
  revertData?: string;
  gasUsed: bigint;
  /** Logs of the successful frames, in emission order. */
  logs: LogEntry[];
  /** Post values of the proxy's storage slots the execution changed. */
  storage: Record<string, string>;
  /** Selectors of the calls that reached the proxy (top-level or internal). */
  proxySelectors: string[];
  /** Inputs of the calls that reached the proxy, for decoding in the report. */
  proxyInputs: string[];
  /** The implementations the proxy delegated to (shows which of blue and green really ran). */
  delegates: string[];
  /** A beacon's fleet: the proxies of the fleet the execution reached (lower case). */
  proxies?: string[];
}

/**
 * What the replay switches green into and whose traffic it replays: one
 * proxy (transparent or UUPS), or a beacon and all its proxies. For a beacon
 * the proxies' storage writes are keyed `<proxy>:<slot>` (see storageKey),
 * so the comparison and the state check stay per proxy.
 */
export interface ReplayFleet {
  kind: "transparent" | "uups" | "beacon";
  /** What green is switched in through: the proxy itself, or the beacon. */
  target: string;
  /** Lower-case proxies whose traffic is replayed: `[target]` unless a beacon. */
  proxies: string[];
}

/** What a mined receipt showed, for fidelity. */
export interface ReceiptFacts {
  status: "success" | "revert";
  gasUsed: bigint;
  logs: LogEntry[];
}

/**
 * What differed between blue and green, most significant first:
 * - proxy-slots: the proxy's ERC-1967 implementation, admin or beacon slot
 *   was written differently; a green that does this can move the proxy by
 *   itself, so it is always critical;
 * - status: green succeeded where blue reverted;
 * - revert: green reverted where blue succeeded, or with another reason;
 * - return: both succeeded with different return data;
 * - events, gas (beyond the tolerance), storage (the proxy's writes).
 */
export const DIFFERENCE_KINDS = ["proxy-slots", "status", "revert", "return", "events", "gas", "storage"] as const;
export type DifferenceKind = (typeof DIFFERENCE_KINDS)[number];

export interface Difference {
  kind: DifferenceKind;
  blue: unknown;
  green: unknown;
  /** Set when a declared expected difference covers it: the rule's reason. */
  expectedBy?: string;
  /** A difference no rule can excuse (a green that writes the proxy's own slots). */
  critical?: true;
}

/** The comparison of blue and green for one transaction. */
export interface TxComparison {
  hash: string;
  blockNumber?: number;
  line?: number;
  from?: string;
  to?: string;
  input: string;
  foundBy: DiscoveryMethod[];
  blue: Observation;
  green: Observation;
  differences: Difference[];
  /**
   * How the pair was obtained: "exact" (both observed at the transaction's
   * place in its original block, with the same tracer).
   */
  method: "exact";
}
