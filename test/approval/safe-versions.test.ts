/**
 * Safe 1.3.0 and 1.4.1, `Safe` and `SafeL2`, at their canonical addresses:
 * Safe's own SDK (protocol-kit) computes the safeTxHash and signs; our hashes,
 * our signature checks and our execution must agree with it and with the Safe
 * itself, and our execution check must read each version's own event (1.3.0
 * does not index the safeTxHash).
 */
import { expect } from "chai";
import { Interface, type Signer, getAddress, getCreate2Address, keccak256, ZeroHash } from "ethers";
import hre from "hardhat";

import { createSafe, deploySafeSingletons } from "../../src/approval/deploy-safe-singletons.js";
import {
  EXECUTION_SUCCESS_TOPIC,
  SAFE_DEPLOYER,
  SAFE_ABI,
  type SafeVersion,
  deployableSafeContracts,
  executedSafeTxHash,
  loadSafeArtifact,
  safeCanonicalAddresses,
  safeInterface,
  safeVersionOf,
} from "../../src/approval/safe-contracts.js";
import { buildSafeTransaction, hashSafeTransaction, readSafeState, safeContract, safeTxFields } from "../../src/approval/safe-transaction.js";
import { packSignatures, recoverSignatureOwner, validSignatures } from "../../src/approval/signatures.js";
import { SigningMethod, kitTransaction, safeKit } from "./protocol-kit.js";

const VARIANTS: Array<{ version: SafeVersion; singleton: "Safe" | "SafeL2" }> = [
  { version: "1.3.0", singleton: "Safe" },
  { version: "1.3.0", singleton: "SafeL2" },
  { version: "1.4.1", singleton: "Safe" },
  { version: "1.4.1", singleton: "SafeL2" },
];

async function safeWorld(version: SafeVersion, singleton: "Safe" | "SafeL2") {
  const connection = await hre.network.create();
  const signers = (await connection.ethers.getSigners()) as unknown as Signer[];
  const [deployer, a, b, c, target] = signers as [Signer, Signer, Signer, Signer, Signer];
  await deploySafeSingletons(deployer, undefined, version);
  const owners = await Promise.all([a, b, c].map((s) => s.getAddress()));
  const safe = await createSafe(deployer, { owners, threshold: 2, version, singleton });
  const chainId = (await connection.ethers.provider.getNetwork()).chainId;
  return { connection, provider: connection.ethers.provider, deployer, a, b, c, owners, target, safe, chainId };
}

describe("Safe versions: 1.3.0 and 1.4.1, Safe and SafeL2", () => {
  it("takes canonical addresses and ABIs from @safe-global/safe-deployments, and 1.3.0's build lands on them", () => {
    expect(safeCanonicalAddresses("1.3.0").Safe).to.equal("0xd9Db270c1B5E3Bd161E8c8503c55cEABeE709552");
    expect(safeCanonicalAddresses("1.3.0").SafeL2).to.equal("0x3E5c63644E683549055b9Be8653de26E0B4CD36E");
    expect(safeCanonicalAddresses("1.4.1").Safe).to.equal("0x41675C099F32341bf84BFc5382aF534df5C7461a");
    expect(safeCanonicalAddresses("1.4.1").SafeL2).to.equal("0x29fcB43b46531BcA003ddC8FCB67FFE91900C762");
    for (const version of ["1.3.0", "1.4.1"] as const) {
      const canonical = safeCanonicalAddresses(version);
      for (const name of deployableSafeContracts(version)) {
        const { bytecode } = loadSafeArtifact(name, version);
        expect(getCreate2Address(SAFE_DEPLOYER[version], ZeroHash, keccak256(bytecode)), `${name} ${version}`).to.equal(canonical[name]);
      }
      // Every function the approval path calls exists in the version's own ABI.
      const theirs = safeInterface(version);
      new Interface(SAFE_ABI).forEachFunction((f) => expect(theirs.getFunction(f.format("sighash")), `${f.name} in ${version}`).to.not.equal(null));
    }
    // The reason this matters: 1.3.0 keeps txHash out of the topics.
    expect(safeInterface("1.3.0").getEvent("ExecutionSuccess")!.inputs[0]!.indexed).to.equal(false);
    expect(safeInterface("1.4.1").getEvent("ExecutionSuccess")!.inputs[0]!.indexed).to.equal(true);
  });

  it("refuses a Safe version it cannot check, with a stable code", () => {
    expect(safeVersionOf("1.3.0")).to.equal("1.3.0");
    expect(safeVersionOf("1.4.1")).to.equal("1.4.1");
    expect(() => safeVersionOf("1.2.0", "0x0000000000000000000000000000000000000001")).to.throw(/\[BG_APPROVAL_SAFE_VERSION\].*1\.2\.0.*Migrate/);
  });

  for (const { version, singleton } of VARIANTS) {
    it(`${singleton} ${version}: protocol-kit's safeTxHash and signatures agree with ours, the Safe's, and our execution check`, async () => {
      const w = await safeWorld(version, singleton);
      try {
        const state = await readSafeState(w.provider, w.safe);
        expect(state.release).to.equal(version);
        const code = await w.provider.getCode(w.safe);
        expect(code).to.not.equal("0x");

        const call = { to: await w.target.getAddress(), data: "0xdeadbeef" };
        const tx = buildSafeTransaction({ ...call, nonce: 0n });
        const ours = hashSafeTransaction(w.chainId, w.safe, tx);
        const onChain = (await safeContract(w.safe, w.provider).getFunction("getTransactionHash")(...safeTxFields(tx), tx.nonce)) as string;
        expect(ours.safeTxHash).to.equal(onChain);

        // protocol-kit builds the same transaction, hashes it and signs it (typed data v4), as two owners would.
        const [ownerA, ownerB] = [w.owners[0]!, w.owners[1]!];
        const kitA = await safeKit(w.connection.provider, w.chainId, w.safe, ownerA, version);
        const kitB = await safeKit(w.connection.provider, w.chainId, w.safe, ownerB, version);
        expect(await kitA.getContractVersion()).to.equal(version);
        let kitTx = await kitTransaction(kitA, call, 0);
        expect(await kitA.getTransactionHash(kitTx)).to.equal(ours.safeTxHash);
        kitTx = await kitA.signTransaction(kitTx, SigningMethod.ETH_SIGN_TYPED_DATA_V4);
        kitTx = await kitB.signTransaction(kitTx, SigningMethod.ETH_SIGN_TYPED_DATA_V4);
        const kitSignatures = [ownerA, ownerB].map((o) => kitTx.getSignature(o)!.data);
        for (const [i, sig] of kitSignatures.entries()) expect(recoverSignatureOwner(ours.safeTxHash, sig).owner).to.equal([ownerA, ownerB][i]);
        const set = {
          safeTxHash: ours.safeTxHash,
          signatures: kitSignatures.map((signature, i) => ({ owner: [ownerA, ownerB][i]!, signature, kind: "eip712" as const, addedAt: new Date().toISOString() })),
        };
        const valid = validSignatures(set, ours.safeTxHash, state.owners);
        expect(valid).to.have.length(2);

        // Our packing passes the Safe's own check, and our execution is reported by the version's own event.
        const packed = packSignatures(valid);
        await safeContract(w.safe, w.provider).getFunction("checkSignatures")(ours.safeTxHash, tx.data, packed);
        const sent = await safeContract(w.safe, w.deployer).getFunction("execTransaction")(...safeTxFields(tx), packed);
        const receipt = await sent.wait();
        const executed = receipt.logs.filter((l: { topics: readonly string[] }) => l.topics[0] === EXECUTION_SUCCESS_TOPIC);
        expect(executed).to.have.length(1);
        expect(executed[0].topics.length).to.equal(version === "1.3.0" ? 1 : 2);
        expect(executedSafeTxHash(executed[0], w.safe, version)).to.equal(ours.safeTxHash.toLowerCase());
        expect((await readSafeState(w.provider, w.safe)).nonce).to.equal(1n);
      } finally {
        await w.connection.close();
      }
    });
  }

  it("a transaction protocol-kit executes is one our check recognizes, and a different safeTxHash is not", async () => {
    const w = await safeWorld("1.3.0", "SafeL2");
    try {
      const call = { to: await w.target.getAddress(), data: "0x01" };
      const kitA = await safeKit(w.connection.provider, w.chainId, w.safe, w.owners[0]!, "1.3.0");
      const kitB = await safeKit(w.connection.provider, w.chainId, w.safe, w.owners[1]!, "1.3.0");
      let kitTx = await kitA.signTransaction(await kitTransaction(kitA, call, 0), SigningMethod.ETH_SIGN_TYPED_DATA_V4);
      kitTx = await kitB.signTransaction(kitTx, SigningMethod.ETH_SIGN_TYPED_DATA_V4);
      const result = await kitB.executeTransaction(kitTx);
      const receipt = await w.provider.getTransactionReceipt(result.hash);
      const ours = hashSafeTransaction(w.chainId, w.safe, buildSafeTransaction({ ...call, nonce: 0n }));
      const log = receipt!.logs.find((l) => l.topics[0] === EXECUTION_SUCCESS_TOPIC)!;
      expect(executedSafeTxHash(log, w.safe, "1.3.0")).to.equal(ours.safeTxHash.toLowerCase());
      // Another Safe's log, or a log read with the wrong version's layout, is not this execution.
      expect(executedSafeTxHash({ ...log, address: getAddress(w.owners[2]!) }, w.safe, "1.3.0")).to.equal(undefined);
      expect(executedSafeTxHash(log, w.safe, "1.4.1")).to.equal(undefined);
    } finally {
      await w.connection.close();
    }
  });
});
