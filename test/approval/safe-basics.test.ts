/**
 * The Safe side on its own: canonical Safe v1.4.1 on an in-process network,
 * a 2-of-3 Safe, our hashes against the Safe's own, signatures sorted and
 * executed, and the Transaction Builder checksum.
 */
import { expect } from "chai";
import { Interface, Wallet, getAddress, keccak256, getCreate2Address, ZeroHash, type Signer } from "ethers";
import hre from "hardhat";

import { buildBuilderFile, builderFileChecksum, checksumOf, verifyBuilderFileChecksum } from "../../src/approval/builder-file.js";
import { createSafe, deploySafeSingletons } from "../../src/approval/deploy-safe-singletons.js";
import {
  SAFE_141_CANONICAL,
  SAFE_ABI,
  SAFE_SINGLETON_FACTORY,
  loadSafeArtifact,
  type SafeContractName,
} from "../../src/approval/safe-contracts.js";
import {
  assertSafeAgreesOnHash,
  buildSafeTransaction,
  hashSafeTransaction,
  readSafeState,
  safeContract,
} from "../../src/approval/safe-transaction.js";
import {
  addOwnerSignature,
  packSignatures,
  recoverSignatureOwner,
  signSafeTransaction,
  validSignatures,
} from "../../src/approval/signatures.js";

async function setup() {
  const connection = await hre.network.create();
  const signers = (await connection.ethers.getSigners()) as unknown as Signer[];
  const [deployer, a, b, c, outsider] = signers as [Signer, Signer, Signer, Signer, Signer];
  await deploySafeSingletons(deployer);
  const owners = await Promise.all([a, b, c].map((s) => s.getAddress()));
  const safe = await createSafe(deployer, { owners, threshold: 2 });
  const chainId = (await connection.ethers.provider.getNetwork()).chainId;
  return { connection, deployer, owners: [a, b, c] as Signer[], outsider, safe, chainId };
}

describe("Safe v1.4.1 on a development network", () => {
  it("deploys every Safe contract at its canonical address through the singleton factory", async () => {
    const { connection, deployer } = await setup();
    for (const [name, address] of Object.entries(SAFE_141_CANONICAL)) {
      const { bytecode, deployedBytecode } = loadSafeArtifact(name as SafeContractName);
      expect(getCreate2Address(SAFE_SINGLETON_FACTORY, ZeroHash, keccak256(bytecode))).to.equal(address);
      // Same runtime code, except where an immutable (MultiSend's own address) is filled in at deployment.
      expect((await connection.ethers.provider.getCode(address)).length).to.equal(deployedBytecode.length);
    }
    // A second run is a no-op.
    await deploySafeSingletons(deployer);
  });

  it("creates a 2-of-3 Safe, and the same options give the same Safe", async () => {
    const { connection, deployer, owners, safe } = await setup();
    const state = await readSafeState(connection.ethers.provider, safe);
    expect(state.version).to.equal("1.4.1");
    expect(state.threshold).to.equal(2);
    expect(state.nonce).to.equal(0n);
    expect(state.owners).to.have.members(await Promise.all(owners.map((o) => o.getAddress())));
    const again = await createSafe(deployer, { owners: state.owners, threshold: 2 });
    expect(again).to.equal(safe);
  });

  it("every run-time ABI fragment exists in Safe's own ABI", () => {
    const ours = new Interface(SAFE_ABI);
    const theirs = new Interface(loadSafeArtifact("Safe").abi as never);
    ours.forEachFunction((f) => {
      const theirFn = theirs.getFunction(f.format("sighash"));
      expect(theirFn, f.format("sighash")).to.not.equal(null);
      expect(theirFn!.outputs.map((o) => o.type)).to.deep.equal(f.outputs.map((o) => o.type));
      expect(theirFn!.stateMutability).to.equal(f.stateMutability);
    });
    ours.forEachEvent((e) => {
      const theirEvent = theirs.getEvent(e.format("sighash"));
      expect(theirEvent, e.format("sighash")).to.not.equal(null);
      expect(theirEvent!.inputs.map((i) => i.indexed === true)).to.deep.equal(e.inputs.map((i) => i.indexed === true));
    });
  });

  it("computes the safeTxHash the Safe computes, and its domain hash is the Safe's domainSeparator", async () => {
    const { connection, safe, chainId } = await setup();
    const provider = connection.ethers.provider;
    const tx = buildSafeTransaction({ to: safe, data: "0x12345678abcdef", value: 7n, nonce: 42n });
    const hashes = hashSafeTransaction(chainId, safe, tx);
    const contract = safeContract(safe, provider);
    const onChain = await contract.getFunction("getTransactionHash")(
      tx.to, tx.value, tx.data, tx.operation, tx.safeTxGas, tx.baseGas, tx.gasPrice, tx.gasToken, tx.refundReceiver, tx.nonce,
    );
    expect(hashes.safeTxHash).to.equal(onChain);
    expect(hashes.domainHash).to.equal(await contract.getFunction("domainSeparator")());
    await assertSafeAgreesOnHash(provider, safe, tx, hashes.safeTxHash);
    // A proposal whose hash was tampered with is refused.
    let refused: unknown;
    await assertSafeAgreesOnHash(provider, safe, { ...tx, nonce: "43" }, hashes.safeTxHash).catch((e) => (refused = e));
    expect(String(refused)).to.match(/computes safeTxHash/);
  });

  it("one signature is refused by the Safe, two in any order execute", async () => {
    const { connection, deployer, owners, safe, chainId } = await setup();
    const provider = connection.ethers.provider;
    // A Safe transaction that changes something visible: raise the threshold to 3.
    const data = new Interface(["function changeThreshold(uint256)"]).encodeFunctionData("changeThreshold", [3]);
    const state = await readSafeState(provider, safe);
    const tx = buildSafeTransaction({ to: safe, data, nonce: state.nonce });
    const { safeTxHash } = hashSafeTransaction(chainId, safe, tx);

    let set = { safeTxHash, signatures: [] as never[] } as Parameters<typeof addOwnerSignature>[0];
    // Sign in descending owner order, so packing has to sort.
    const withAddress = await Promise.all(owners.map(async (signer) => ({ addr: await signer.getAddress(), signer })));
    const order = withAddress.sort((x, y) => (BigInt(y.addr) > BigInt(x.addr) ? 1 : -1));
    for (const { signer } of order.slice(0, 2)) {
      set = addOwnerSignature(set, await signSafeTransaction(signer, chainId, safe, tx), state.owners);
    }
    expect(set.signatures.map((s) => s.owner)).to.deep.equal(order.slice(0, 2).map((o) => o.addr));

    const exec = (signatures: string) =>
      safeContract(safe, deployer).getFunction("execTransaction")(
        tx.to, tx.value, tx.data, tx.operation, tx.safeTxGas, tx.baseGas, tx.gasPrice, tx.gasToken, tx.refundReceiver, signatures,
      );
    // One signature: the Safe refuses (GS020, too few signatures).
    await expectRevert(exec(packSignatures(set.signatures.slice(0, 1))), "GS020");
    // Unsorted: the Safe refuses (GS026).
    await expectRevert(exec("0x" + set.signatures.map((s) => s.signature.slice(2)).join("")), "GS026");
    // Sorted: it executes.
    await (await exec(packSignatures(validSignatures(set, safeTxHash, state.owners)))).wait();
    expect((await readSafeState(provider, safe)).threshold).to.equal(3);
  });

  it("refuses a non-owner's signature and a second signature from the same owner", async () => {
    const { connection, owners, outsider, safe, chainId } = await setup();
    const state = await readSafeState(connection.ethers.provider, safe);
    const tx = buildSafeTransaction({ to: safe, data: "0x", nonce: 0n });
    const { safeTxHash } = hashSafeTransaction(chainId, safe, tx);
    const empty = { safeTxHash, signatures: [] };
    const outsiderSig = await signSafeTransaction(outsider, chainId, safe, tx);
    expect(() => addOwnerSignature(empty, outsiderSig, state.owners)).to.throw(/not an owner/);
    const first = await signSafeTransaction(owners[0]!, chainId, safe, tx);
    const once = addOwnerSignature(empty, first, state.owners);
    expect(() => addOwnerSignature(once, first, state.owners)).to.throw(/already signed/);
    // A fresh, different-looking signature by the same key over the same hash is still a duplicate.
    const wallet = Wallet.createRandom();
    expect(() => recoverSignatureOwner(safeTxHash, "0x1234")).to.throw(/65 bytes/);
    expect(recoverSignatureOwner(safeTxHash, wallet.signingKey.sign(safeTxHash).serialized).owner).to.equal(wallet.address);
  });

  it("accepts Safe's eth_sign signatures (v + 4) and recovers their owner", async () => {
    const wallet = Wallet.createRandom();
    const safeTxHash = keccak256("0x01");
    const sig = await wallet.signMessage(Buffer.from(safeTxHash.slice(2), "hex"));
    const v = parseInt(sig.slice(-2), 16) + 4;
    const ethSign = sig.slice(0, -2) + v.toString(16);
    expect(recoverSignatureOwner(safeTxHash, ethSign)).to.deep.equal({ owner: getAddress(wallet.address), kind: "eth_sign" });
  });
});

describe("Transaction Builder file", () => {
  // The Transaction Builder's own test vector (safe-react-apps, tx-builder checksum test).
  const vector = {
    version: "1.0",
    chainId: "4",
    createdAt: 1646321521061,
    meta: {
      name: "test batch file",
      txBuilderVersion: "1.4.0",
      checksum: "",
      createdFromSafeAddress: "0xDF8a1Ce35c9a6ACE153B4e0767942f1E2291a1Aa",
      createdFromOwnerAddress: "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6",
    },
    transactions: [
      {
        to: "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6",
        value: "0",
        contractMethod: {
          inputs: [{ internalType: "address", name: "paramAddress", type: "address" }],
          name: "testAddress",
          payable: false,
        },
        contractInputsValues: { paramAddress: "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6" },
      },
      {
        to: "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6",
        value: "0",
        contractMethod: {
          inputs: [{ internalType: "bool", name: "paramBool", type: "bool" }],
          name: "testBool",
          payable: false,
        },
        contractInputsValues: { paramAddress: "", paramBool: "false" },
      },
      {
        to: "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6",
        value: "2000000000000000000",
        data: "0x42f4579000000000000000000000000049d4450977e2c95362c13d3a31a09311e0ea26a6",
      },
    ],
  };

  it("matches the Transaction Builder's own checksum test vector", () => {
    expect(checksumOf(vector)).to.equal("0x4ecbfd364aa6759983915644e73f8bd411e85a2dc306f252a387c2728c4db64c");
  });

  it("does not depend on key order or on the batch name, but does on transaction order", () => {
    const reversed = JSON.parse(JSON.stringify(vector, (_k, v) =>
      v !== null && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
    ));
    expect(checksumOf(reversed)).to.equal(checksumOf(vector));
    expect(checksumOf({ ...vector, meta: { ...vector.meta, name: "renamed" } })).to.equal(checksumOf(vector));
    expect(checksumOf({ ...vector, transactions: [...vector.transactions].reverse() })).to.not.equal(checksumOf(vector));
  });

  it("writes a file whose checksum validates as the Transaction Builder validates it", () => {
    const fn = new Interface(["function finalize(address proxy)"]).getFunction("finalize")!;
    const proxy = "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6";
    const file = buildBuilderFile({
      chainId: 31337,
      safe: "0xDF8a1Ce35c9a6ACE153B4e0767942f1E2291a1Aa",
      name: "finalize",
      description: "close the window",
      calls: [{ to: proxy, data: new Interface([fn]).encodeFunctionData(fn, [proxy]), fragment: fn, args: [proxy] }],
      createdAt: new Date(1_700_000_000_000),
    });
    expect(file.meta.checksum).to.equal(builderFileChecksum(file));
    expect(verifyBuilderFileChecksum(file)).to.equal(true);
    // The Transaction Builder validates by deleting meta.checksum and hashing the rest.
    const { checksum, ...meta } = file.meta;
    expect(checksumOf({ ...file, meta })).to.equal(checksum);
    expect(file.transactions[0]!.contractInputsValues).to.deep.equal({ proxy });
    expect(verifyBuilderFileChecksum({ ...file, transactions: [{ ...file.transactions[0]!, value: "1" }] })).to.equal(false);
  });
});

async function expectRevert(promise: Promise<unknown>, reason: string): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  expect(error, `expected a revert with ${reason}`).to.not.equal(undefined);
  expect(String((error as Error).message)).to.include(reason);
}
