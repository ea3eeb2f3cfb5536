import { RECORD_SCHEMA_VERSION, type ReleaseRecord } from "../../src/release/record.js";

const A = (n: number) => "0x" + n.toString(16).padStart(40, "0");
const H = (n: number) => "0x" + n.toString(16).padStart(64, "0");

/** A valid staged record, for store and lifecycle tests. */
export function stagedRecord(id = "vault-v2", chainId = 31337): ReleaseRecord {
  const at = "2026-11-22T10:00:00.000Z";
  return {
    schemaVersion: RECORD_SCHEMA_VERSION,
    id,
    chainId,
    network: "localMainnet",
    state: "staged",
    proxy: A(1),
    admin: A(2),
    blue: { address: A(3), codehash: H(3) },
    green: {
      address: A(4),
      codehash: H(4),
      contract: "VaultV2",
      fullyQualifiedName: "contracts/VaultV2.sol:VaultV2",
      creationCodeHash: H(5),
      sourceHash: H(6),
      compiler: { version: "0.8.30+commit.73712a01", settings: { optimizer: { enabled: true, runs: 200 } } },
      deployer: A(7),
    },
    upgradeSafety: { ok: true, blueLayoutFrom: "reference", reference: "contracts/VaultV1.sol:VaultV1", warnings: [] },
    rollbackRisks: [],
    steps: {},
    history: [{ at, state: "staged", actor: A(7) }],
    createdAt: at,
    updatedAt: at,
  };
}
