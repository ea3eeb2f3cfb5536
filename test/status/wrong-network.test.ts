/**
 * bg:status on a network of the same chain id as the records but without
 * their switch (Hardhat's in-process default network is 31337 like a local
 * node): a clear error naming the switch file, not a decoding failure.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import hre from "hardhat";

import { BlueGreenError } from "../../src/errors.js";
import { ReleaseStore } from "../../src/release/store.js";
import { releaseStatus } from "../../src/status/release-status.js";
import { SWITCH_FILE_SCHEMA_VERSION, writeSwitchFile } from "../../src/switch/switch-file.js";

describe("bg:status on a network where the recorded switch has no code", function () {
  it("refuses with BG_SWITCH_NOT_A_SWITCH, naming the switch file and the likely cause", async () => {
    const connection = await hre.network.create();
    try {
      const chainId = Number(BigInt((await connection.provider.request({ method: "eth_chainId" })) as string));
      const store = new ReleaseStore(await mkdtemp(path.join(tmpdir(), "bg-status-wrong-network-")));
      const address = "0x00000000000000000000000000000000000b1e55";
      expect(await connection.provider.request({ method: "eth_getCode", params: [address, "latest"] })).to.equal("0x");
      await writeSwitchFile(store, {
        schemaVersion: SWITCH_FILE_SCHEMA_VERSION,
        chainId,
        address,
        approver: "0x0000000000000000000000000000000000000001",
        guardians: [],
        rollbackDelay: 3600,
        rollbackWindow: 604800,
        deployTx: "0x" + "11".repeat(32),
        blockNumber: 0,
        deployedAt: new Date(0).toISOString(),
      });
      const failure = await releaseStatus(connection.provider, store, process.cwd()).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(BlueGreenError.is(failure) ? failure.code : failure).to.equal("BG_SWITCH_NOT_A_SWITCH");
      const message = (failure as BlueGreenError).message;
      expect(message).to.contain(address).and.contain(path.join(String(chainId), "switch.json")).and.contain("--network");
    } finally {
      await connection.close();
    }
  });
});
