import { mkdtemp, readFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { getCreateAddress, keccak256 } from "ethers";
import hre from "hardhat";

import { ReleaseStore } from "../../src/release/store.js";
import { Manifest } from "@openzeppelin/upgrades-core";

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
    });

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

    it("refuses when blue's layout is unknown (no manifest, no --reference) and says how to fix it", async () => {
      const message = await refusal(params({ reference: undefined }));
      expect(message).to.include("Pass --reference <ContractName>");
    });

    it("takes blue's layout from OpenZeppelin's network manifest when it records blue", async () => {
      const provider = { send: (m: string, p: unknown[]) => box.provider.send(m, p) };
      const manifest = await Manifest.forNetwork(provider);
      const blueLayout = layoutOf(await loadContractBuild(hre.artifacts, "BoxV1"));
      const key = keccak256(await box.provider.getCode(box.blue));
      const editManifest = (edit: (impls: Record<string, unknown>) => void) =>
        manifest.lockedRun(async () => {
          const data = await manifest.read();
          edit(data.impls);
          await manifest.write(data);
        });
      await editManifest((impls) => (impls[key] = { address: box.blue, layout: blueLayout }));
      try {
        const { record } = await stageRelease(params({ reference: undefined, releaseId: "from-manifest" }));
        expect(record.upgradeSafety.blueLayoutFrom).to.equal("manifest");
        const clash = await refusal(params({ reference: undefined, contract: "BoxV2Clash", releaseId: "clash-manifest" }));
        expect(clash).to.include("Inserted `fee`");
      } finally {
        // Other tests on this node expect no manifest entry for blue.
        await editManifest((impls) => delete impls[key]);
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
