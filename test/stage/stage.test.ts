import { mkdtemp, readFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { getCreateAddress, keccak256 } from "ethers";
import hre from "hardhat";

import { ReleaseStore } from "../../src/release/store.js";
import { Manifest, getVersion } from "@openzeppelin/upgrades-core";

import { loadContractBuild } from "../../src/stage/contract-build.js";
import { layoutOf } from "../../src/stage/validate-upgrade.js";
import { DEPLOY_JOURNAL } from "../../src/stage/deploy-green.js";
import { stageRelease, type StageParams } from "../../src/stage/stage-release.js";
import { deployBoxBehindProxy, type DeployedBox } from "../helpers/box.js";
import { startNode, type RunningNode } from "../helpers/nodes.js";

const stageConfig = { unsafeAllow: [], unsafeAllowRenames: false };

for (const kind of ["hardhat", "anvil"] as const) {
  describe(`bg:stage against a separate ${kind} node as mainnet`, function () {
    let node: RunningNode;
    let box: DeployedBox;
    let store: ReleaseStore;

    before(async () => {
      node = await startNode(kind);
      box = await deployBoxBehindProxy(node.url);
    });
    after(async () => node?.stop());
    beforeEach(async () => {
      store = new ReleaseStore(await mkdtemp(path.join(tmpdir(), "bg-stage-")));
      // bg:stage writes OpenZeppelin's manifest of this node; each test starts from an empty one.
      await editManifest((data) => {
        data.impls = {};
        data.proxies = [];
      });
    });

    async function openManifest() {
      return Manifest.forNetwork({ send: (m: string, p: unknown[]) => box.provider.send(m, p) });
    }
    async function editManifest(edit: (data: Awaited<ReturnType<Manifest["read"]>>) => void) {
      const manifest = await openManifest();
      await manifest.lockedRun(async () => {
        const data = await manifest.read();
        edit(data);
        await manifest.write(data);
      });
    }

    const params = (overrides: Partial<StageParams> = {}): StageParams => ({
      provider: { request: ({ method, params }) => box.provider.send(method, (params as unknown[]) ?? []) },
      signer: box.owner,
      artifacts: hre.artifacts,
      store,
      networkName: kind,
      config: stageConfig,
      proxy: box.proxy,
      contract: "BoxV2",
      reference: "BoxV1",
      ...overrides,
    });

    async function refusal(p: StageParams): Promise<string> {
      try {
        await stageRelease(p);
      } catch (e) {
        return (e as Error).message;
      }
      throw new Error("expected bg:stage to refuse");
    }

    it("stages a safe upgrade: green deployed beside blue and recorded as staged", async () => {
      const { record, unchanged, greenDeployment } = await stageRelease(params({ releaseId: "box-v2" }));
      expect(unchanged).to.equal(false);
      expect(greenDeployment).to.equal("deployed");
      expect(record.state).to.equal("staged");
      expect(record.blue.address).to.equal(box.blue);
      expect(record.admin).to.equal(box.proxyAdmin);
      expect(record.green.address).to.not.equal(box.blue);
      expect(record.green.codehash).to.equal(keccak256(await box.provider.getCode(record.green.address)));
      expect(record.blue.codehash).to.equal(keccak256(await box.provider.getCode(box.blue)));
      expect(record.green.compiler.version).to.match(/^0\.8\.30\+commit/);
      expect(record.upgradeSafety).to.deep.include({ ok: true, blueLayoutFrom: "reference" });
      // Green drops nothing blue has, but blue does not know green's `updates`.
      expect(record.rollbackRisks.map((r) => r.kind)).to.deep.equal(["storage-delete"]);
      expect(record.rollbackRisks[0]!.message).to.include("updates");
      expect(record.history[0]).to.include({ state: "staged", actor: await box.owner.getAddress() });
      // The proxy itself is untouched: staging never switches.
      const implWord = await box.provider.getStorage(box.proxy, "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc");
      expect("0x" + implWord.slice(-40)).to.equal(box.blue.toLowerCase());
      expect(await readdir(store.releaseDir(record.chainId, "box-v2"))).to.deep.equal(["release.json"]);
    });

    it("is idempotent: the same inputs again change nothing and deploy nothing", async () => {
      const first = await stageRelease(params({ releaseId: "box-v2" }));
      const file = store.recordPath(first.record.chainId, "box-v2");
      const before = await readFile(file, "utf8");
      const nonce = await box.owner.getNonce();
      const second = await stageRelease(params({ releaseId: "box-v2" }));
      expect(second.unchanged).to.equal(true);
      expect(second.record.green.address).to.equal(first.record.green.address);
      expect(await box.owner.getNonce()).to.equal(nonce);
      expect(await readFile(file, "utf8")).to.equal(before);
    });

    it("derives the same release id from the same inputs when none is given", async () => {
      const a = await stageRelease(params());
      const b = await stageRelease(params());
      expect(a.record.id).to.match(/^boxv2-[0-9a-f]{8}$/);
      expect(b.record.id).to.equal(a.record.id);
      expect(b.unchanged).to.equal(true);
    });

    it("reuses an identical green already recorded for another release", async () => {
      const first = await stageRelease(params({ releaseId: "box-v2-a" }));
      const nonce = await box.owner.getNonce();
      const second = await stageRelease(params({ releaseId: "box-v2-b" }));
      expect(second.greenDeployment).to.equal("reused");
      expect(second.record.green.address).to.equal(first.record.green.address);
      expect(await box.owner.getNonce()).to.equal(nonce);
    });

    it("refuses a green whose storage clashes with blue's, writing no record and sending nothing", async () => {
      const nonce = await box.owner.getNonce();
      const message = await refusal(params({ contract: "BoxV2Clash", releaseId: "clash" }));
      expect(message).to.include("storage layout is incompatible");
      expect(message).to.include("Inserted `fee`");
      expect(await box.owner.getNonce()).to.equal(nonce);
      expect(await store.listIds(31337)).to.deep.equal([]);
    });

    it("refuses a green that is blue's own code: there would be nothing to release", async () => {
      const nonce = await box.owner.getNonce();
      const message = await refusal(params({ contract: "BoxV1", releaseId: "same-as-blue" }));
      expect(message).to.include("compiles to the code blue already runs");
      expect(await box.owner.getNonce()).to.equal(nonce);
    });

    it("refuses an address that is not a proxy", async () => {
      const message = await refusal(params({ proxy: box.blue }));
      expect(message).to.include("not an ERC-1967 proxy");
      expect(await store.listIds(31337)).to.deep.equal([]);
    });

    it("refuses an address with no code, naming the network", async () => {
      const message = await refusal(params({ proxy: "0x00000000000000000000000000000000000000aa" }));
      expect(message).to.include(`has no code on network "${kind}"`);
    });

    it("refuses a malformed address and an unknown contract with a fix", async () => {
      expect(await refusal(params({ proxy: "0x1234" }))).to.include("is not a valid address for --proxy");
      expect(await refusal(params({ contract: "NoSuchBox" }))).to.include('No compiled contract "NoSuchBox"');
    });

    it("refuses when blue's layout is unknown (no manifest, no release, no Ignition, no --reference) and says how to fix it", async () => {
      const message = await refusal(params({ reference: undefined }));
      expect(message).to.include("[BG_BLUE_UNKNOWN]");
      expect(message).to.include("Pass --reference <ContractName>");
      expect(message).to.not.include("VaultV1");
    });

    it("takes blue's layout from OpenZeppelin's network manifest when it records blue", async () => {
      const blueLayout = layoutOf(await loadContractBuild(hre.artifacts, "BoxV1"));
      const key = keccak256(await box.provider.getCode(box.blue));
      await editManifest((data) => (data.impls[key] = { address: box.blue, layout: blueLayout }));
      const { record } = await stageRelease(params({ reference: undefined, releaseId: "from-manifest" }));
      expect(record.upgradeSafety).to.deep.include({ blueLayoutFrom: "manifest", blueFoundBy: "manifest" });
      const clash = await refusal(params({ reference: undefined, contract: "BoxV2Clash", releaseId: "clash-manifest" }));
      expect(clash).to.include("Inserted `fee`");
    });

    it("registers green in OpenZeppelin's manifest as prepareUpgrade would, and imports a checked blue as forceImport would", async () => {
      const { record } = await stageRelease(params({ releaseId: "manifest-v2", buildProfile: "production" }));
      const green = await loadContractBuild(hre.artifacts, "BoxV2");
      const blue = await loadContractBuild(hre.artifacts, "BoxV1");
      const data = await (await openManifest()).read();
      const greenEntry = data.impls[getVersion(green.bytecode, green.bytecode, "0x").linkedWithoutMetadata];
      expect(greenEntry).to.not.equal(undefined, "green is under OpenZeppelin's version key");
      expect(greenEntry!.address).to.equal(record.green.address);
      expect(greenEntry!.txHash).to.equal(record.green.deployTx);
      expect(greenEntry!.layout.storage.map((s) => s.label)).to.include.members(["value", "updates"]);
      const blueEntry = data.impls[getVersion(blue.bytecode, blue.bytecode, "0x").linkedWithoutMetadata];
      expect(blueEntry?.address).to.equal(box.blue);
      expect(data.proxies.map((p) => p.address)).to.include(box.proxy);
      expect(record.green.buildProfile).to.equal("production");
      expect(record.upgradeSafety).to.deep.include({ blueFoundBy: "reference", reference: "contracts/examples/BoxV1.sol:BoxV1" });
      // OpenZeppelin's own lookup by address, which validateUpgrade uses after a switch, now finds green.
      expect((await (await openManifest()).getDeploymentFromAddress(record.green.address)).address).to.equal(record.green.address);
    });

    it("reuses an implementation OpenZeppelin's tools already deployed instead of deploying green again", async () => {
      const build = await loadContractBuild(hre.artifacts, "BoxV2");
      const tx = await box.owner.sendTransaction({ data: build.bytecode });
      const receipt = (await tx.wait())!;
      await editManifest((data) => {
        data.impls[getVersion(build.bytecode, build.bytecode, "0x").linkedWithoutMetadata] = {
          address: receipt.contractAddress!,
          txHash: tx.hash,
          layout: layoutOf(build),
        };
      });
      const nonce = await box.owner.getNonce();
      const { record, greenDeployment } = await stageRelease(params({ releaseId: "oz-deployed" }));
      expect(greenDeployment).to.equal("manifest");
      expect(record.green.address).to.equal(receipt.contractAddress);
      expect(record.green.deployer).to.equal(await box.owner.getAddress());
      expect(await box.owner.getNonce()).to.equal(nonce);
    });

    it("refuses a --reference that does not compile to blue's code, naming both, unless explicitly allowed", async () => {
      const nonce = await box.owner.getNonce();
      const message = await refusal(params({ reference: "BoxV2", releaseId: "wrong-ref" }));
      expect(message).to.include("[BG_REFERENCE_MISMATCH]");
      expect(message).to.include("contracts/examples/BoxV2.sol:BoxV2");
      expect(message).to.include(box.blue);
      expect(message).to.include("--allow-reference-mismatch");
      expect(await box.owner.getNonce()).to.equal(nonce);
      expect(await store.listIds(31337)).to.deep.equal([]);

      const { record } = await stageRelease(params({ reference: "BoxV2", releaseId: "wrong-ref", allowReferenceMismatch: true }));
      expect(record.upgradeSafety).to.deep.include({ blueFoundBy: "reference", referenceMismatchAllowed: true, reference: "BoxV2" });
      expect(record.upgradeSafety.warnings.join("\n")).to.include("--allow-reference-mismatch");
      // A blue that did not match is not vouched for in OpenZeppelin's manifest.
      const data = await (await openManifest()).read();
      expect(Object.values(data.impls).map((i) => i!.address)).to.not.include(box.blue);
    });

    it("says the chain was probably reset when a recorded green is gone or holds other code", async () => {
      const { record } = await stageRelease(params({ releaseId: "reset" }));
      const setCode = kind === "anvil" ? "anvil_setCode" : "hardhat_setCode";
      const original = await box.provider.getCode(record.green.address);
      try {
        await box.provider.send(setCode, [record.green.address, "0x"]);
        const gone = await refusal(params({ releaseId: "reset" }));
        expect(gone).to.include("[BG_GREEN_NOT_ON_CHAIN]");
        expect(gone).to.include("has no code");
        expect(gone).to.include("probably reset");
        expect(gone).to.include("another --release id");
        await box.provider.send(setCode, [record.green.address, "0x6000"]);
        expect(await refusal(params({ releaseId: "reset" }))).to.include("holds other code");
      } finally {
        await box.provider.send(setCode, [record.green.address, original]);
      }
    });

    it("resumes a deploy interrupted after its transaction was sent, without deploying twice", async () => {
      const build = await loadContractBuild(hre.artifacts, "BoxV2");
      const deployer = await box.owner.getAddress();
      const nonce = await box.owner.getNonce("pending");
      // What a crashed run leaves: the journal written before sending, and the sent transaction.
      await store.writeReleaseFile(31337, "box-v2-crash", DEPLOY_JOURNAL, {
        creationCodeHash: keccak256(build.bytecode),
        deployer,
        nonce,
        sentAt: new Date().toISOString(),
      });
      await (await box.owner.sendTransaction({ data: build.bytecode, nonce })).wait();

      const { record, greenDeployment } = await stageRelease(params({ releaseId: "box-v2-crash" }));
      expect(greenDeployment).to.equal("resumed");
      expect(record.green.address).to.equal(getCreateAddress({ from: deployer, nonce }));
      expect(await box.owner.getNonce()).to.equal(nonce + 1);
      expect(await readdir(store.releaseDir(31337, "box-v2-crash"))).to.deep.equal(["release.json"]);
    });
  });
}
