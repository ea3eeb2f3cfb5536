/**
 * `hardhat-bluegreen/core`: the release engine without Hardhat's tasks, for
 * scripts and other tools, in the way `@openzeppelin/upgrades-core` is used
 * apart from its Hardhat plugin. Everything here takes plain data, an
 * EIP-1193 provider and, where something is signed, an ethers signer.
 *
 * Nothing exported here imports Hardhat at run time, except `edrForkOpener`,
 * which takes Hardhat's network manager to open EDR forks for a replay.
 */

// The store checks every step of a record before it changes it: load every step's schema.
import "./status/record-steps.js";

// Errors: one type, with a stable code.
export { BlueGreenError, errorJson, type BlueGreenErrorOptions, type ErrorCode } from "./errors.js";

// The chain: the provider shape every function takes, and the one JSON-RPC client.
export type { Eip1193Provider } from "./chain/eip1193.js";
export { JsonRpcClient, JsonRpcError, RpcTransportError, type HttpJsonRpcOptions, type RpcStats } from "./chain/json-rpc.js";

// Records and their store.
export { ReleaseStore } from "./release/store.js";
export {
  RELEASE_STATES,
  canTransition,
  releaseRecordSchema,
  type ReleaseRecord,
  type ReleaseState,
} from "./release/record.js";

// Stage: reading a proxy, and OpenZeppelin's validation in both directions.
export {
  ADMIN_SLOT,
  BEACON_SLOT,
  IMPLEMENTATION_SLOT,
  getCodehash,
  readSlotAddress,
  readTransparentProxy,
} from "./stage/read-proxy.js";
export { loadContractBuild, type ArtifactSource, type ContractBuild } from "./stage/contract-build.js";
export { compareLayouts, layoutOf, validateImplementation, type RollbackFinding } from "./stage/validate-upgrade.js";

// The rollback-path proof: on a fork, as the switch, green in, back to blue, green again.
export { proveRollbackPath, type RollbackPathInput, type RollbackPathResult } from "./switch/rollback-path.js";

// Replay: blue against green, block by block, on a fork.
export { replayRelease, type OpenFork, type ReplayOptions } from "./replay/replay-release.js";
export type { TrafficSource } from "./replay/traffic-plan.js";
export { edrForkOpener, type EdrForkOptions } from "./replay/open-edr-fork.js";
export {
  VERDICT_EXIT_CODES,
  decideVerdict,
  reportHash,
  serializeReport,
  PARTIAL_REPORT_SCHEMA,
  reportCounts,
  type ReplayReport,
  type ReplayVerdict,
} from "./replay/report.js";
// Shards of a range, and the merge of their partial reports.
export { parseShard, sliceRange, type Shard, type ShardSlice } from "./replay/shard.js";
export { checkPartials, mergePartials, readPartialReports, type PartialInput } from "./replay/merge.js";

// Gates: results as data.
export { allRequiredPass, evaluateGates, type GateEnvironment } from "./gates/evaluate-gates.js";
export { resolveGatesConfig, type GatesConfig } from "./gates/config.js";
export type { GatesUserConfig } from "./gates/user-config.js";
export type { GateResult, GateStatus } from "./gates/gate-result.js";

// Safe: the transaction, its EIP-712 hashes and typed data.
export {
  SAFE_TX_TYPES,
  buildSafeTransaction,
  hashSafeTransaction,
  safeDomain,
  safeTxTypedData,
  type SafeTransaction,
  type SafeTxHashes,
} from "./approval/safe-transaction.js";
