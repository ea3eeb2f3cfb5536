/** What `blueGreen.stage` resolves to: the OpenZeppelin validation exceptions a project accepts. */

/** The kinds of unsafe code OpenZeppelin's validation can be told to allow (its `unsafeAllow`). */
export const UNSAFE_ALLOW_KINDS = [
  "state-variable-assignment",
  "state-variable-immutable",
  "external-library-linking",
  "struct-definition",
  "enum-definition",
  "constructor",
  "delegatecall",
  "selfdestruct",
  "missing-public-upgradeto",
  "internal-function-storage",
  "missing-initializer",
  "missing-initializer-call",
  "duplicate-initializer-call",
  "incorrect-initializer-order",
] as const;

export interface StageConfig {
  unsafeAllow: Array<(typeof UNSAFE_ALLOW_KINDS)[number]>;
  unsafeAllowRenames: boolean;
}
