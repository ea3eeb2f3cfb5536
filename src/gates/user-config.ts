/**
 * `blueGreen.gates` as a user writes it in hardhat.config.ts, and the schema
 * it is checked against when the config loads, so a typo in a gate name or a
 * negative minimum is reported before any command runs, with its path.
 * `config.ts` turns a config that passed into what the gates run on.
 */
import type { NetworkConnection } from "hardhat/types/network";
import { z } from "zod";

import { closestKey } from "../closest-key.js";
import { addressSchema } from "../common/schema.js";
import type { ReleaseRecord } from "../release/record.js";

/** The built-in gates, in the order they are evaluated and shown. */
export const BUILTIN_GATE_NAMES = [
  "audits",
  "testnet",
  "replay",
  "coverage",
  "upgradeSafety",
  "rollbackSafety",
  "rollbackPath",
  "source",
  "observability",
  "secrets",
] as const;
export type BuiltinGateName = (typeof BUILTIN_GATE_NAMES)[number];

const GATE_KEYS = [...BUILTIN_GATE_NAMES, "custom", "waive"] as const;

// ---------------------------------------------------------------------------
// What a user writes

/** What a custom gate's check returns. */
export interface CustomGateVerdict {
  ok: boolean;
  detail: string;
  /** Facts worth keeping with the release; they go into the evidence hash. Must be JSON. */
  evidence?: Record<string, unknown>;
}

/**
 * A user's own gate. `check` gets the release record and a connection to the
 * release's network, and says pass or fail. A throw counts as inconclusive.
 */
export interface CustomGateUserConfig {
  name: string;
  check: (release: ReleaseRecord, connection: NetworkConnection) => Promise<CustomGateVerdict> | CustomGateVerdict;
  /** Default true. */
  required?: boolean;
}

export interface GatesUserConfig {
  /** Signed audit attestations bound to green's codehash (see `bg:attest`). */
  audits?: {
    /** Distinct configured auditors needed. Default 2. */
    min?: number;
    /** Addresses whose attestations count. */
    auditors: string[];
    /** Folder of attestation files, relative to the project root. Default "audits". */
    dir?: string;
    required?: boolean;
  };
  /** Proven bake time of green's exact codehash on a public testnet, read from that chain. */
  testnet?: {
    /** A network of this config (e.g. "sepolia"). */
    network: string;
    /** Default 14. Measured in the testnet's own block time. */
    minDays?: number;
    /** Successful transactions to the testnet proxy since the promotion. Default 0. */
    minTxs?: number;
    /** The switch on the testnet, if `.bluegreen/<testnetChainId>/switch.json` does not say. */
    switch?: string;
    /** Only count promotions of this testnet proxy. */
    proxy?: string;
    /** First block to search for switch events (saves work on long chains). Default 0. */
    fromBlock?: number;
    /** Bound on blocks scanned to count minTxs. Default 5000. */
    maxScanBlocks?: number;
    required?: boolean;
  };
  /** The latest replay report of this release and this green. */
  replay?: {
    /** Unexpected divergences allowed. Default 0. */
    max?: number;
    /** Transactions the replay must have covered. Default 1. */
    minTxs?: number;
    /** Share of blue's replayed txs that matched their real receipts, 0..1. Default 1. */
    minFidelity?: number;
    /** The replayed range must end within this many blocks of the release chain's head. Default: no limit. */
    maxAgeBlocks?: number;
    required?: boolean;
  };
  /** Line coverage from an lcov file (`npx hardhat test --coverage` writes one). */
  coverage?: {
    /** Default "coverage/lcov.info". */
    lcov?: string;
    /** Percent, 0..100. Default 80. */
    min?: number;
    required?: boolean;
  };
  /** OpenZeppelin's blue→green validation from `bg:stage`. Required by default. */
  upgradeSafety?: { required?: boolean };
  /** The reverse check green→blue from `bg:stage`. Advisory by default. */
  rollbackSafety?: { required?: boolean };
  /**
   * The rollback-path proof: on a fork, the switch switches green in, rolls back to
   * blue and switches green in again (a UUPS green must still let the switch upgrade).
   * Required by default.
   */
  rollbackPath?: { required?: boolean };
  /** Green's on-chain code equals the project's build of the staged contract; the build info is archived. */
  source?: {
    /** Accept code that differs from the build only in its metadata hash (a "partial match"). Default false. */
    allowMetadataMismatch?: boolean;
    required?: boolean;
  };
  /** The release can be watched and rolled back: monitor failure conditions, a guardian, a runbook. */
  observability?: {
    /** The address `bg:monitor --auto-rollback --signer` uses; it must be a guardian of the release's switch. */
    guardian?: string;
    /** Instead of a guardian: why this release runs without automatic rollback. */
    noAutoRollback?: { reason: string };
    required?: boolean;
  };
  /** The accounts of the release's networks come from configuration variables, not keys written in the config. */
  secrets?: { required?: boolean };
  custom?: CustomGateUserConfig[];
  /**
   * Propose with no gate at all. Without a gate or this waiver, `bg:propose`
   * refuses. The reason is recorded, shown to signers and hashed.
   */
  waive?: { reason: string };
}

// ---------------------------------------------------------------------------
// The schema

const requiredFlag = z.boolean({ invalid_type_error: "must be true (the gate blocks the release) or false (advisory)" }).optional();

function minimum(what: string, opts: { int?: boolean; max?: number } = {}) {
  let schema = z.number({ invalid_type_error: `must be a number (${what})` });
  if (opts.int === true) schema = schema.int(`must be a whole number (${what})`);
  schema = schema.min(0, `must not be negative (${what}); use 0 for no minimum`);
  if (opts.max !== undefined) schema = schema.max(opts.max, `must be at most ${opts.max} (${what})`);
  return schema.optional();
}

// The shared address fragment decides; the config's message also names the value and its role.
const address = (what: string) =>
  z.string({ invalid_type_error: `must be a 0x-prefixed 20-byte address (${what})` }).refine((v) => addressSchema.safeParse(v).success, (v) => ({
    message: `"${v}" is not an address: give ${what} as a 0x-prefixed 20-byte hex address`,
  }));

/**
 * A strict object whose unknown keys are reported one by one, naming the
 * options that do exist (zod's default message names neither the gate nor them).
 */
function gateOptions<T extends z.ZodRawShape>(gate: string, shape: T) {
  const known = Object.keys(shape);
  return z
    .object(shape, { invalid_type_error: `must be an object with the ${gate} gate's options (${known.join(", ")})` })
    .passthrough()
    .superRefine((value, ctx) => {
      for (const key of Object.keys(value)) {
        if (!known.includes(key)) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path: [key],
            message: unknownOption(key, known, `the ${gate} gate`),
          });
        }
      }
    });
}

function unknownOption(key: string, known: readonly string[], where: string): string {
  const suggestion = closestKey(key, known);
  return (
    `[BG_CONFIG_UNKNOWN_KEY] unknown option "${key}" for ${where}` +
    (suggestion !== undefined ? `; did you mean "${suggestion}"?` : "") +
    `; its options are: ${known.join(", ")}`
  );
}

const auditsSchema = gateOptions("audits", {
  min: minimum("distinct auditors needed", { int: true }),
  auditors: z
    .array(address("each auditor"), {
      required_error: "is missing: list the auditors' addresses whose attestations count",
      invalid_type_error: "must be an array of auditor addresses",
    })
    .min(1, "must list at least one auditor address"),
  dir: z.string().min(1, "must be a folder path, e.g. \"audits\"").optional(),
  required: requiredFlag,
}).superRefine((v, ctx) => {
  const auditors = Array.isArray(v.auditors) ? v.auditors : [];
  const seen = new Set<string>();
  auditors.forEach((a, i) => {
    if (typeof a !== "string") return;
    const key = a.toLowerCase();
    if (seen.has(key)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["auditors", i], message: `lists ${a} twice; each auditor counts once` });
    }
    seen.add(key);
  });
  const min = typeof v.min === "number" ? v.min : 2;
  if (auditors.length > 0 && min > seen.size) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ["min"],
      message: `is ${min} but only ${seen.size} distinct auditor(s) are listed, so the gate could never pass; list more auditors or lower min`,
    });
  }
});

const testnetSchema = gateOptions("testnet", {
  network: z
    .string({ required_error: "is missing: name the testnet network of this config, e.g. \"sepolia\"", invalid_type_error: "must be a network name" })
    .min(1, "must name a network of this config"),
  minDays: minimum("days on the testnet"),
  minTxs: minimum("transactions through the testnet proxy", { int: true }),
  switch: address("the testnet switch").optional(),
  proxy: address("the testnet proxy").optional(),
  fromBlock: minimum("first block to search", { int: true }),
  maxScanBlocks: z.number().int("must be a whole number").positive("must be at least 1").optional(),
  required: requiredFlag,
});

const replaySchema = gateOptions("replay", {
  max: minimum("unexpected divergences allowed", { int: true }),
  minTxs: minimum("transactions replayed", { int: true }),
  // Kept for the replay's own threshold; the gate demands full fidelity, so anything lower would only mislead.
  minFidelity: minimum("share of blue replays matching real receipts, 0..1", { max: 1 }).refine((v) => v === undefined || v >= 1, {
    message: "must be 1: the replay gate requires full fidelity (a faithful replay whose blue matched every real receipt); remove minFidelity",
  }),
  maxAgeBlocks: z.number().int("must be a whole number").positive("must be at least 1 (blocks between the replay's last block and the head)").optional(),
  required: requiredFlag,
});

const coverageSchema = gateOptions("coverage", {
  lcov: z.string().min(1, "must be the path of an lcov file, e.g. \"coverage/lcov.info\"").optional(),
  min: minimum("line coverage percent", { max: 100 }),
  required: requiredFlag,
});

const safetySchema = (gate: string) => gateOptions(gate, { required: requiredFlag });

const sourceSchema = gateOptions("source", {
  allowMetadataMismatch: z.boolean({ invalid_type_error: "must be true or false" }).optional(),
  required: requiredFlag,
});

const reason = (what: string) =>
  z
    .string({ required_error: `is missing: say why ${what}`, invalid_type_error: `must be a sentence saying why ${what}` })
    .trim()
    .min(10, `must say why ${what}, in a sentence signers can read (10 characters at least)`);

const observabilitySchema = gateOptions("observability", {
  guardian: address("the guardian `bg:monitor --auto-rollback` signs with").optional(),
  noAutoRollback: z.object({ reason: reason("this release has no automatic rollback") }).strict().optional(),
  required: requiredFlag,
});

const secretsSchema = gateOptions("secrets", { required: requiredFlag });

const waiveSchema = z.object({ reason: reason("the release may be proposed without any gate") }, { invalid_type_error: "must be { reason: \"…\" }" }).strict();

const CUSTOM_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

const customGateSchema = gateOptions("custom", {
  name: z
    .string({ required_error: "is missing: give the custom gate a name" })
    .regex(CUSTOM_NAME, "must start with a letter and use letters, digits, \".\", \"_\" or \"-\" (at most 64)"),
  check: z.function(z.tuple([]).rest(z.unknown()), z.unknown(), {
    required_error: "is missing: give an async function (release, connection) => ({ ok, detail })",
    invalid_type_error: "must be a function (release, connection) => ({ ok, detail })",
  }),
  required: requiredFlag,
});

export const gatesUserConfigSchema = z
  .object(
    {
      audits: auditsSchema.optional(),
      testnet: testnetSchema.optional(),
      replay: replaySchema.optional(),
      coverage: coverageSchema.optional(),
      upgradeSafety: safetySchema("upgradeSafety").optional(),
      rollbackSafety: safetySchema("rollbackSafety").optional(),
      rollbackPath: safetySchema("rollbackPath").optional(),
      source: sourceSchema.optional(),
      observability: observabilitySchema.optional(),
      secrets: secretsSchema.optional(),
      waive: waiveSchema.optional(),
      custom: z.array(customGateSchema, { invalid_type_error: "must be an array of { name, check } objects" }).optional(),
    },
    { invalid_type_error: "must be an object keyed by gate name" },
  )
  .passthrough()
  .superRefine((value, ctx) => {
    for (const key of Object.keys(value)) {
      if (!(GATE_KEYS as readonly string[]).includes(key)) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: [key],
          message:
            `[BG_CONFIG_UNKNOWN_KEY] unknown gate "${key}"` +
            (closestKey(key, GATE_KEYS) !== undefined ? `; did you mean "${closestKey(key, GATE_KEYS)}"?` : "") +
            `; the gates are: ${GATE_KEYS.join(", ")}. Put your own checks under custom: [{ name, check }]`,
        });
      }
    }
    const names = new Set<string>();
    (Array.isArray(value.custom) ? value.custom : []).forEach((gate, i) => {
      const name = (gate as { name?: unknown })?.name;
      if (typeof name !== "string") return;
      if ((GATE_KEYS as readonly string[]).includes(name)) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ["custom", i, "name"],
          message: `"${name}" is a built-in gate's name; give the custom gate another name`,
        });
      } else if (names.has(name)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["custom", i, "name"], message: `"${name}" is used by two custom gates; names must be unique` });
      }
      names.add(name);
    });
  });

/** Networks every Hardhat 3 project has without declaring them. */
const BUILTIN_NETWORKS = ["default", "localhost"];

/**
 * Checks what the schema cannot see on its own: that the testnet gate names a
 * network of this config. `networkNames` are the keys of the user's
 * `networks`. Returns Hardhat-style `{path, message}` errors.
 */
export function validateGatesNetworks(
  gates: GatesUserConfig | undefined,
  networkNames: readonly string[],
): Array<{ path: Array<string | number>; message: string }> {
  const name = gates?.testnet?.network;
  if (typeof name !== "string" || name === "") return [];
  if (networkNames.includes(name) || BUILTIN_NETWORKS.includes(name)) return [];
  return [
    {
      path: ["blueGreen", "gates", "testnet", "network"],
      message: `"${name}" is not a network of this config (networks: ${networkNames.join(", ") || "none"}); add it under networks or fix the name`,
    },
  ];
}
