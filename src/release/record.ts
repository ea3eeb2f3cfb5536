/**
 * The release record: one JSON file per release per chain, the single place
 * where a release's state and evidence live. This module owns its schema and
 * its lifecycle; `store.ts` owns how it is read and written.
 */
import { z } from "zod";

import { addressSchema as address, bytes32Schema as bytes32, isoTimeSchema as isoTime } from "../common/schema.js";

export const RECORD_SCHEMA_VERSION = 1;

/** The lifecycle, in order. See README "Concepts". */
export const RELEASE_STATES = [
  "staged",
  "replayed",
  "gated",
  "proposed",
  "approved",
  "live",
  "rollback-scheduled",
  "rolled-back",
  "finalized",
] as const;
export type ReleaseState = (typeof RELEASE_STATES)[number];

/**
 * Which state may follow which. Replays and gates may be re-run while the
 * release is still being prepared, so those states loop back on themselves.
 */
const TRANSITIONS: Record<ReleaseState, readonly ReleaseState[]> = {
  staged: ["staged", "replayed", "gated", "proposed"],
  replayed: ["replayed", "gated", "proposed"],
  gated: ["replayed", "gated", "proposed"],
  proposed: ["replayed", "gated", "proposed", "approved", "live"],
  // A stale approval (its Safe nonce used elsewhere) is proposed afresh.
  approved: ["proposed", "approved", "live"],
  live: ["rollback-scheduled", "rolled-back", "finalized"],
  "rollback-scheduled": ["live", "rolled-back", "finalized"],
  "rolled-back": [],
  finalized: [],
};

export function canTransition(from: ReleaseState, to: ReleaseState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** A release id must be safe as a folder name and readable in a terminal. */
export const RELEASE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const historyEntrySchema = z
  .object({
    at: isoTime,
    state: z.enum(RELEASE_STATES),
    actor: z.string().min(1),
    txHash: bytes32.optional(),
    note: z.string().optional(),
  })
  .strict();

export const rollbackRiskSchema = z
  .object({
    kind: z.string(),
    message: z.string(),
    detail: z.string(),
  })
  .strict();

export const greenSchema = z
  .object({
    address,
    codehash: bytes32,
    contract: z.string().min(1),
    fullyQualifiedName: z.string().min(1),
    creationCodeHash: bytes32,
    sourceHash: bytes32,
    compiler: z.object({ version: z.string(), settings: z.record(z.unknown()) }).strict(),
    /** The Hardhat build profile green was compiled with (absent in records staged before profiles were recorded). */
    buildProfile: z.string().optional(),
    deployTx: bytes32.optional(),
    deployer: address,
  })
  .strict();

export const releaseRecordSchema = z
  .object({
    schemaVersion: z.literal(RECORD_SCHEMA_VERSION),
    id: z.string().regex(RELEASE_ID_PATTERN),
    chainId: z.number().int().positive(),
    network: z.string(),
    state: z.enum(RELEASE_STATES),
    /**
     * The proxy kind; absent in records staged before UUPS and beacons were
     * supported, which are all transparent (read it through `recordKind`).
     */
    kind: z.enum(["transparent", "uups", "beacon"]).optional(),
    /**
     * The address the switch upgrades: the proxy, or for a beacon the beacon
     * itself (every proxy of the beacon switches with it).
     */
    proxy: address,
    /** The ProxyAdmin of a transparent proxy; the zero address for UUPS and beacons, which have no admin slot. */
    admin: address,
    /** UUPS only: who authorized upgrades when staged (`owner()`), or AccessControl's role model. */
    uupsAuthority: z
      .discriminatedUnion("kind", [
        z.object({ kind: z.literal("ownable"), owner: address }).strict(),
        z.object({ kind: z.literal("access-control") }).strict(),
      ])
      .optional(),
    /** Beacon only: the beacon (equal to `proxy`) and the beacon proxies the user named. */
    beacon: z.object({ address, proxies: z.array(address) }).strict().optional(),
    blue: z.object({ address, codehash: bytes32 }).strict(),
    green: greenSchema,
    upgradeSafety: z
      .object({
        ok: z.boolean(),
        blueLayoutFrom: z.enum(["manifest", "reference"]),
        reference: z.string().optional(),
        /**
         * Where blue's contract was found: OpenZeppelin's manifest, an earlier
         * release's green, Ignition's deployment folder, or --reference.
         * Absent in records staged before this was recorded.
         */
        blueFoundBy: z.enum(["manifest", "release", "ignition", "reference"]).optional(),
        /** Set when --allow-reference-mismatch accepted a reference that does not compile to blue's code. */
        referenceMismatchAllowed: z.boolean().optional(),
        warnings: z.array(z.string()),
      })
      .strict(),
    rollbackRisks: z.array(rollbackRiskSchema),
    /**
     * Evidence written by later steps (replay, gates, proposal, switch...).
     * Each step owns and validates its own section.
     */
    steps: z.record(z.record(z.unknown())),
    history: z.array(historyEntrySchema).min(1),
    createdAt: isoTime,
    updatedAt: isoTime,
  })
  .strict();

export type ReleaseRecord = z.infer<typeof releaseRecordSchema>;
export type RecordedProxyKind = NonNullable<ReleaseRecord["kind"]>;

/** The record's proxy kind; records from before kinds were recorded are transparent. */
export function recordKind(record: Pick<ReleaseRecord, "kind">): RecordedProxyKind {
  return record.kind ?? "transparent";
}
export type HistoryEntry = z.infer<typeof historyEntrySchema>;
export type RollbackRisk = z.infer<typeof rollbackRiskSchema>;

/** Folder names beside the releases of a chain, so never release ids. */
export const RESERVED_IDS: readonly string[] = ["calls"];

/**
 * Moves a record to a new state and appends the change to its history.
 * Refuses transitions the lifecycle does not allow, saying what would.
 */
export function transition(
  record: ReleaseRecord,
  to: ReleaseState,
  entry: { actor: string; txHash?: string; note?: string; at?: Date },
): ReleaseRecord {
  if (!canTransition(record.state, to)) {
    throw new InvalidTransitionError(record, to);
  }
  const at = (entry.at ?? new Date()).toISOString();
  return {
    ...record,
    state: to,
    updatedAt: at,
    history: [
      ...record.history,
      {
        at,
        state: to,
        actor: entry.actor,
        ...(entry.txHash !== undefined ? { txHash: entry.txHash } : {}),
        ...(entry.note !== undefined ? { note: entry.note } : {}),
      },
    ],
  };
}

export class InvalidTransitionError extends Error {
  constructor(
    public readonly record: ReleaseRecord,
    public readonly to: ReleaseState,
  ) {
    const allowed = TRANSITIONS[record.state];
    super(
      `release "${record.id}" is ${record.state}, so it cannot become ${to}` +
        (allowed.length > 0
          ? ` (from ${record.state} it can become: ${allowed.join(", ")})`
          : ` (${record.state} is final; stage a new release instead)`),
    );
  }
}

/**
 * Returns the object with keys sorted recursively, so that records diff
 * cleanly in git and hash the same on every machine.
 */
export function sortKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(sortKeys) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    ) as T;
  }
  return value;
}

/** Canonical JSON: sorted keys, no whitespace. Used for evidence hashes. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}
