/**
 * bg:propose / bg:approve / bg:switch --wave: one wave of a multi-proxy
 * release at a time, each one promoteBatch Safe transaction signed 2-of-3,
 * against a real switch on a separate Hardhat node. The next wave waits for
 * the previous one to bake healthy (the monitor's real analysis), unless the
 * approver overrides, which is recorded; bg:status shows the waves.
 */
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";

import { expect } from "chai";
import { Contract, getAddress, keccak256 } from "ethers";

import { switchCallSpec } from "../../src/approval/approver-call.js";
import { executeProposal } from "../../src/approval/execute.js";
import { approveProposal, proposeApproverCall, proposalSchema } from "../../src/approval/proposal.js";
import { callProposalFolder } from "../../src/approval/proposal-folder.js";
import { approveRelease, proposeRelease } from "../../src/approval/release-switch.js";
import { readStep } from "../../src/release/steps.js";
import { signatureSetSchema } from "../../src/approval/signatures.js";
import { approveWave, proposeWave, switchWave } from "../../src/approval/wave-switch.js";
import { executeRollback, finalizeRelease, rollbackNow, scheduleRollback } from "../../src/approval/release-window.js";
import { renderRollback, rollbackJson } from "../../src/ui/approval-view.js";
import { explainWaveDecision, mayPromoteWave } from "../../src/waves/may-promote-wave.js";
import { readWaveFacts } from "../../src/waves/wave-facts.js";
import { monitorRelease } from "../../src/monitor/monitor-release.js";
import { releaseStatus } from "../../src/status/release-status.js";
import { renderStatus, statusJson } from "../../src/ui/release-view.js";
import { readWavesStep } from "../../src/waves/waves-step.js";
import { EVIDENCE, ROLLBACK_DELAY, deployGreen, increaseTime, memoryLog, mine, monitorProvider, testConfig, tick } from "../monitor/world.js";
import { waveProposalFolder } from "../../src/approval/wave-plan.js";
import { doctorProposal, signDoctored } from "./doctor.js";
import { refusal } from "./fixture.js";
import { type FleetRelease, WAVES, type WaveWorld, fleetRelease, startWaveWorld } from "./wave-world.js";

const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";

describe("waves through a 2-of-3 Safe on a separate Hardhat node", function () {
  let ww: WaveWorld;
  let release: FleetRelease | undefined;
  let fleetsUsed = 0;

  before(async () => {
    ww = await startWaveWorld(11);
  });
  after(async () => ww?.stop());
  beforeEach(() => {
    release = undefined;
  });
  afterEach(async () => release?.cleanup());

  /** Each test rolls out its own release on its own fleet of three proxies. */
  const newRelease = async (id: string) => (release = await fleetRelease(ww, ww.fleets[fleetsUsed++]!, id));
  const eip1193 = () => ({ request: ({ method, params }: { method: string; params?: unknown[] | object }) => ww.w.provider.send(method, (params as unknown[]) ?? []) });
  const slot = async (proxy: string) => getAddress("0x" + (await ww.w.provider.getStorage(proxy, IMPLEMENTATION_SLOT)).slice(-40));
  const actor = "0x00000000000000000000000000000000000000aa";
  const [first, second] = [0, 1];

  /** Proposes, signs 2-of-3 and switches a wave. */
  const rollOut = async (r: FleetRelease, wave: string, override?: string) => {
    const proposed = await proposeWave(r.ctx, r.id, { wave, actor, ...(override !== undefined ? { override: { reason: override } } : {}) });
    await approveWave(r.ctx, r.id, wave, { signer: ww.owners[first]! });
    await approveWave(r.ctx, r.id, wave, { signer: ww.owners[second]! });
    const switched = await switchWave(r.ctx, r.id, wave, { executor: ww.w.deployer });
    if (switched.status !== "live") throw new Error("expected live");
    return { proposed, switched };
  };
  const monitorOnce = (r: FleetRelease) =>
    monitorRelease({
      provider: monitorProvider(ww.w.node.url),
      store: r.store,
      chainId: ww.w.chainId,
      releaseId: r.id,
      config: testConfig({ probes: [] }),
      waves: WAVES,
      once: true,
      log: memoryLog().log,
    });

  it("proposes the canary as one promoteBatch in its own folder, and switches only the canary once two owners signed", async () => {
    const r = await newRelease("canary-only");
    const [canary, ...rest] = r.fleet as [string, ...string[]];
    const outcome = await proposeWave(r.ctx, r.id, { wave: "canary", actor });
    expect(outcome.record.state).to.equal("proposed");
    expect(outcome.proxies).to.deep.equal([canary]);
    const { proposal } = outcome;
    expect(proposal.call.functionName).to.equal("promoteBatch");
    expect(proposal.actor).to.deep.include({ kind: "safe", address: ww.safe, threshold: 2 });
    // One tuple, for the canary, with the release's blue, green and the gates' evidence hash.
    const [tuples] = ww.env.errors.decodeFunctionData("promoteBatch", proposal.call.data);
    const gatesHash = (r.record.steps.gates as { evidenceHash: string }).evidenceHash;
    expect(tuples.map((t: unknown[]) => [...t])).to.deep.equal([[canary, r.green, r.record.green.codehash, ww.w.blue, "0x", gatesHash]]);
    expect(outcome.evidenceHash).to.equal(gatesHash);

    // The wave's files live in their own folder; the release folder holds no promote proposal.
    const dir = r.store.releaseDir(ww.w.chainId, r.id);
    expect((await readdir(path.join(dir, "wave-canary"))).sort()).to.include.members(["proposal.json", "safe-tx-builder.json", "safe-tx-typed-data.json", "signatures.json", "summary.md"]);
    expect(await readdir(dir)).to.not.include("proposal.json");
    const summary = await readFile(path.join(dir, "wave-canary", "summary.md"), "utf8");
    expect(summary).to.include("## Wave canary (1 of 2)").and.include(proposal.safe!.safeTxHash).and.include(`bg:switch --network <net> --release ${r.id} --wave canary`);
    expect(summary).to.not.include("OVERRIDE");
    expect(readWavesStep(outcome.record)!.proposals!.canary).to.deep.include({ safeTxHash: proposal.safe!.safeTxHash, proxies: [canary], folder: "wave-canary" });

    // A single-proxy promote of a wave release is refused, and so is the next wave before the canary.
    expect(await refusal(() => proposeRelease(r.ctx, r.id, { actor }))).to.match(/rolled out in waves .*--wave canary/);
    expect(await refusal(() => proposeWave(r.ctx, r.id, { wave: "rest", actor, override: { reason: "hurry" } }))).to.match(/Wave "canary" .* not recorded as switched, and waves go in order/);

    // bg:approve --release (no --wave) signs the wave proposal that waits.
    const one = await approveRelease(r.ctx, r.id, { signer: ww.owners[2]! });
    expect(one).to.deep.include({ threshold: 2, missing: 1 });
    expect(one.signatures).to.have.length(1);
    const waiting = await switchWave(r.ctx, r.id, undefined, { executor: ww.w.deployer });
    expect(waiting).to.deep.include({ status: "waiting", wave: "canary", signatures: 1, missing: 1 });
    expect(await slot(canary)).to.equal(ww.w.blue);
    const two = await approveRelease(r.ctx, r.id, { signer: ww.owners[0]! });
    expect(two.missing).to.equal(0);
    expect(two.record.state).to.equal("approved");

    const done = await switchWave(r.ctx, r.id, "canary", { executor: ww.w.deployer });
    if (done.status !== "live") throw new Error("expected live");
    expect(done).to.deep.include({ wave: "canary", proxies: [canary], implementation: r.green, alreadyLive: false });
    // Green on the canary only.
    expect(await slot(canary)).to.equal(r.green);
    for (const p of rest) expect(await slot(p)).to.equal(ww.w.blue);
    const record = done.record;
    expect(record.state).to.equal("live");
    expect(record.history.at(-1)).to.deep.include({ state: "live", txHash: done.txHash });
    expect(readWavesStep(record)!.promotions).to.deep.equal([
      { wave: "canary", proxies: [canary], txHash: done.txHash, blockNumber: readWavesStep(record)!.promotions[0]!.blockNumber, by: getAddress(await ww.w.deployer.getAddress()), at: readWavesStep(record)!.promotions[0]!.at },
    ]);
    // The release's own proxy was in the canary: bg:rollback and bg:finalize find its switch.
    expect(readStep(record, "switch")).to.deep.include({ txHash: done.txHash, implementation: r.green, evidenceHash: gatesHash });

    // Again: idempotent, nothing sent.
    const nonce = await ww.w.deployer.getNonce();
    expect(await switchWave(r.ctx, r.id, "canary", { executor: ww.w.deployer })).to.deep.include({ status: "live", alreadyLive: true, txHash: done.txHash });
    expect(await ww.w.deployer.getNonce()).to.equal(nonce);
  });

  it("refuses the next wave while the canary bakes; the approver's override is recorded in the proposal, summary.md, the history and steps.waves", async () => {
    const r = await newRelease("override");
    const [canary, ...rest] = r.fleet as [string, ...string[]];
    const { switched: canarySwitch } = await rollOut(r, "canary");

    const refused = await refusal(() => proposeWave(r.ctx, r.id, { wave: "rest", actor }));
    expect(refused).to.match(/Wave "canary" is still baking until/);
    expect(refused).to.include(`--release ${r.id} --wave rest --override-bake "<reason>"`);
    expect(await refusal(() => proposeWave(r.ctx, r.id, { wave: "rest", actor, override: { reason: "  " } }))).to.match(/needs a reason/);

    const reason = "security fix: the canary looks fine";
    const proposed = await proposeWave(r.ctx, r.id, { wave: "rest", actor, override: { reason } });
    expect(proposed.proxies).to.deep.equal(rest);
    expect(proposed.override).to.deep.include({ by: actor, reason });
    expect(proposed.override!.kinds).to.include("baking");
    expect(proposed.record.state).to.equal("live"); // the release stays live; the wave's progress is in steps.waves
    // In the proposal...
    const dir = r.store.releaseDir(ww.w.chainId, r.id);
    const onDisk = proposalSchema.parse(JSON.parse(await readFile(path.join(dir, "wave-rest", "proposal.json"), "utf8")));
    expect(JSON.parse(onDisk.pinned.waveOverride!)).to.deep.include({ by: actor, reason });
    expect(onDisk.details.find((d) => d.label === "OVERRIDE reason")?.value).to.equal(reason);
    // ...in summary.md for the signers...
    const summary = await readFile(path.join(dir, "wave-rest", "summary.md"), "utf8");
    expect(summary).to.include("## OVERRIDE").and.include(reason).and.include('Wave "canary" is still baking until');
    expect(summary).to.include("## Wave rest (2 of 2)").and.include(rest[0]!).and.include(rest[1]!);
    // ...in the history and in steps.waves.
    expect(proposed.record.history.at(-1)!.note).to.match(/wave rest proposed.*OVERRIDE of the bake rule by .*security fix/);
    expect(readWavesStep(proposed.record)!.proposals!.rest!.override).to.deep.include({ by: actor, reason });

    // The wave's signatures are its own: the canary's stay in the canary's folder.
    const restSigs = signatureSetSchema.parse(JSON.parse(await readFile(path.join(dir, "wave-rest", "signatures.json"), "utf8")));
    const canarySigs = signatureSetSchema.parse(JSON.parse(await readFile(path.join(dir, "wave-canary", "signatures.json"), "utf8")));
    expect(restSigs.signatures).to.deep.equal([]);
    expect(restSigs.safeTxHash).to.equal(proposed.proposal.safe!.safeTxHash).and.not.equal(canarySigs.safeTxHash);
    expect(canarySigs.signatures).to.have.length(2);

    // bg:status shows both waves: the canary baking, the rest proposed with its override.
    const status = await releaseStatus(eip1193(), r.store, r.store.root, r.id, { ethers: ww.w.provider });
    const entry = status.releases[0]!;
    expect(entry.drift).to.deep.equal([]);
    expect(entry.waves!.waves.map((x) => [x.name, x.live, x.state])).to.deep.equal([
      ["canary", 1, "baking"],
      ["rest", 0, "pending"],
    ]);
    expect(entry.waves!.waves[1]!.proposal).to.deep.include({ safeTxHash: proposed.proposal.safe!.safeTxHash, signatures: 0 });
    expect(entry.waves!.waves[1]!.proposal!.override).to.deep.equal({ by: actor, reason });
    expect(entry.waves!.next!.refusals.map((x) => x.kind)).to.include("baking");

    await approveRelease(r.ctx, r.id, { signer: ww.owners[1]! });
    await approveRelease(r.ctx, r.id, { signer: ww.owners[2]! });
    const done = await switchWave(r.ctx, r.id, undefined, { executor: ww.w.deployer });
    if (done.status !== "live") throw new Error("expected live");
    expect(done.wave).to.equal("rest");
    // One transaction moved both proxies of the wave.
    const receipt = await ww.w.provider.getTransactionReceipt(done.txHash!);
    const promoted = receipt!.logs.map((l) => ww.env.errors.parseLog(l)).filter((e) => e?.name === "Promoted");
    expect(promoted.map((e) => e!.args.proxy)).to.have.members(rest);
    for (const p of [canary, ...rest]) expect(await slot(p)).to.equal(r.green);
    expect(done.txHash).to.not.equal(canarySwitch.txHash);
    const promotions = readWavesStep(done.record)!.promotions;
    expect(promotions.map((p) => [p.wave, p.override?.reason])).to.deep.equal([
      ["canary", undefined],
      ["rest", reason],
    ]);
    expect(done.record.state).to.equal("live");
    expect(done.record.history.at(-1)).to.deep.include({ state: "live", txHash: done.txHash });
    expect(done.record.history.at(-1)!.note).to.match(/wave rest live on 2 proxies.*OVERRIDE/);

    // bg:status: every wave live, the override shown, for people and for --json.
    const after = await releaseStatus(eip1193(), r.store, r.store.root, r.id, { ethers: ww.w.provider });
    const doc = statusJson(after, "hardhat-node");
    expect(doc.ok).to.equal(true);
    const waves = doc.releases[0]!.waves!;
    expect(waves.waves.map((x) => [x.name, x.live, x.state, x.override?.reason ?? null, x.proposal])).to.deep.equal([
      ["canary", 1, "baking", null, null],
      ["rest", 2, "baking", reason, null],
    ]);
    expect(waves.next).to.equal(null);
    const text = renderStatus(after, "hardhat-node");
    expect(text).to.include(`Waves of ${r.id}`).and.include("1/1 live").and.include("2/2 live").and.include(reason).and.include("Every wave is live.");
  });

  it("allows the next wave without an override once the canary baked healthy, and resumes a switch that crashed after sending", async () => {
    const r = await newRelease("baked");
    const [canary, ...rest] = r.fleet as [string, ...string[]];
    await tick(ww.w, 3, { proxy: canary });
    await rollOut(r, "canary");
    // Healthy canary traffic, analysed by the monitor across its bake.
    await tick(ww.w, 4, { proxy: canary });
    await mine(ww.w, 2);
    expect((await monitorOnce(r)).runs.map((x) => [x.wave, x.phase])).to.deep.equal([["canary", "Running"]]);
    expect(await refusal(() => proposeWave(r.ctx, r.id, { wave: "rest", actor }))).to.match(/still baking/);
    await increaseTime(ww.w, 601);
    await tick(ww.w, 2, { proxy: canary });
    await mine(ww.w, 2);
    await monitorOnce(r);

    const proposed = await proposeWave(r.ctx, r.id, { wave: "rest", actor, override: { reason: "not needed" } });
    expect(proposed.override).to.equal(undefined);
    expect(proposed.overrideUnneeded).to.equal(true);
    expect(proposed.decision).to.deep.include({ allowed: true, overridden: false });
    expect(readWavesStep(proposed.record)!.proposals!.rest!.override).to.equal(undefined);
    await approveWave(r.ctx, r.id, "rest", { signer: ww.owners[0]! });
    await approveWave(r.ctx, r.id, "rest", { signer: ww.owners[2]! });

    let sent = "";
    const crash = await refusal(() =>
      switchWave(r.ctx, r.id, "rest", {
        executor: ww.w.deployer,
        afterSend: (hash) => {
          sent = hash;
          throw new Error("simulated crash after sending");
        },
      }),
    );
    expect(crash).to.equal("simulated crash after sending");
    expect(readWavesStep(await r.store.get(ww.w.chainId, r.id))!.promotions.map((p) => p.wave)).to.deep.equal(["canary"]);
    const nonce = await ww.w.deployer.getNonce();
    const resumed = await switchWave(r.ctx, r.id, "rest", { executor: ww.w.deployer });
    expect(resumed).to.deep.include({ status: "live", txHash: sent, resumed: true });
    expect(await ww.w.deployer.getNonce()).to.equal(nonce);
    for (const p of rest) expect(await slot(p)).to.equal(r.green);
    const promotions = readWavesStep(await r.store.get(ww.w.chainId, r.id))!.promotions;
    expect(promotions.map((p) => [p.wave, p.txHash === sent || p.wave === "canary", p.override])).to.deep.equal([
      ["canary", true, undefined],
      ["rest", true, undefined],
    ]);
  });

  it("refuses a wave proposal rewritten consistently to move a proxy of the next wave, or to carry an override the record does not have", async () => {
    const r = await newRelease("doctored");
    const [canary, ...rest] = r.fleet as [string, ...string[]];
    const { proposal } = await proposeWave(r.ctx, r.id, { wave: "canary", actor });
    const [tuples] = ww.env.errors.decodeFunctionData("promoteBatch", proposal.call.data);
    const first = [...tuples[0]];
    const folder = waveProposalFolder(r.store, ww.w.chainId, r.id, "canary");
    const data = ww.env.errors.encodeFunctionData("promoteBatch", [[first, [rest[0]!, ...first.slice(1)]]]);
    const doctored = await doctorProposal(folder, { call: { data } });

    const message = await refusal(() => approveWave(r.ctx, r.id, "canary", { signer: ww.owners[0]! }));
    expect(message).to.match(/^\[BG_APPROVAL_PROPOSAL_MISMATCH\]/);
    expect(message).to.include(`release.json of ${r.id} (wave canary)`).and.include(`bg:propose --release ${r.id} --wave canary`);
    await signDoctored(folder, doctored, [ww.owners[0]!, ww.owners[1]!]);
    expect(await refusal(() => switchWave(r.ctx, r.id, "canary", { executor: ww.w.deployer }))).to.match(/^\[BG_APPROVAL_PROPOSAL_MISMATCH\]/);
    for (const p of [canary, ...rest]) expect(await slot(p)).to.equal(ww.w.blue);

    // The call left as proposed, but an override of the bake rule slipped into the proposal: the record has none.
    await proposeWave(r.ctx, r.id, { wave: "canary", actor });
    const override = { by: actor, reason: "forged", at: new Date().toISOString(), refusals: ["forged"], kinds: ["baking"] };
    await doctorProposal(folder, { pinned: { waveOverride: JSON.stringify(override) } });
    expect(await refusal(() => approveWave(r.ctx, r.id, "canary", { signer: ww.owners[0]! }))).to.match(/^\[BG_APPROVAL_PROPOSAL_MISMATCH\][^]*pinned\.waveOverride/);
  });

  it("refuses a wave proxy the switch does not track with the release's blue", async () => {
    const r = await newRelease("not-blue");
    const [canary] = r.fleet as [string];
    // After the plan, another green is promoted on the canary through the Safe.
    const other = await deployGreen(ww.w, "MonitorMeterV2");
    const codehash = keccak256(await ww.w.provider.getCode(other));
    const spec = await switchCallSpec(ww.env, { address: ww.w.switchAddress, iface: ww.env.errors }, "promote", [canary, other, codehash, ww.w.blue, "0x", EVIDENCE], { id: "other-green" });
    const folder = callProposalFolder(r.store, ww.w.chainId, "other-green");
    await proposeApproverCall(ww.env, folder, spec);
    await approveProposal(ww.env, folder, { signer: ww.owners[0]! });
    await approveProposal(ww.env, folder, { signer: ww.owners[1]! });
    expect((await executeProposal(ww.env, folder, { executor: ww.w.deployer })).status).to.equal("executed");

    // While that other release is open on the canary, bg:waves does not say "may be promoted now", and bg:propose says why.
    const decision = mayPromoteWave(r.record, await readWaveFacts(eip1193(), ww.w.switchAddress, r.record), { wave: "canary" });
    expect(decision.allowed).to.equal(false);
    expect(decision.refusals.map((x) => x.kind)).to.deep.equal(["other-release-open"]);
    expect(explainWaveDecision(decision)).to.not.include("may be promoted now");
    expect(explainWaveDecision(decision)).to.include(`Proxy ${canary} of wave "canary" is still in an open release of green ${other}`);
    const open = await refusal(() => proposeWave(r.ctx, r.id, { wave: "canary", actor }));
    expect(open).to.match(/^\[BG_APPROVAL_WAVE_REFUSED\]/).and.include("ReleaseStillOpen").and.include("Finalize that release (or roll it back) first");
    // A promote proposed anyway fails its simulation with the switch's own explanation.
    const again = await switchCallSpec(ww.env, { address: ww.w.switchAddress, iface: ww.env.errors }, "promote", [canary, r.green, r.record.green.codehash, other, "0x", EVIDENCE], { id: "again" });
    const simulated = await refusal(() => proposeApproverCall(ww.env, callProposalFolder(r.store, ww.w.chainId, "again"), again));
    expect(simulated).to.match(/^\[BG_APPROVAL_SIMULATION\]/).and.include(`The switch reverted with ReleaseStillOpen(${canary}, 1)`).and.include("Finalize it (or roll it back) before promoting another");

    // The approver finalizes that release; the canary then still does not run the release's blue.
    const fin = await switchCallSpec(ww.env, { address: ww.w.switchAddress, iface: ww.env.errors }, "finalize", [canary], { id: "other-green-finalize" });
    const finFolder = callProposalFolder(r.store, ww.w.chainId, "other-green-finalize");
    await proposeApproverCall(ww.env, finFolder, fin);
    await approveProposal(ww.env, finFolder, { signer: ww.owners[0]! });
    await approveProposal(ww.env, finFolder, { signer: ww.owners[1]! });
    expect((await executeProposal(ww.env, finFolder, { executor: ww.w.deployer })).status).to.equal("executed");

    const message = await refusal(() => proposeWave(r.ctx, r.id, { wave: "canary", actor }));
    expect(message).to.include(`Proxy ${canary} of wave "canary" runs ${other} on the switch, not the release's blue ${ww.w.blue}`);
    expect(message).to.include("same blue");
    expect(await readdir(r.store.releaseDir(ww.w.chainId, r.id))).to.not.include("wave-canary");
    expect((await r.store.get(ww.w.chainId, r.id)).state).to.equal("gated");
  });

  it("re-checks the wave rules before sending: a rollback scheduled on the canary stops the signed next wave", async () => {
    const r = await newRelease("rollback-stops");
    const [, ...rest] = r.fleet as [string, ...string[]];
    await rollOut(r, "canary");
    await proposeWave(r.ctx, r.id, { wave: "rest", actor, override: { reason: "go" } });
    await approveWave(r.ctx, r.id, "rest", { signer: ww.owners[0]! });
    await approveWave(r.ctx, r.id, "rest", { signer: ww.owners[1]! });
    // A guardian schedules the canary's rollback after the owners signed.
    await (await ww.w.sw.connect(ww.w.guardian).getFunction("scheduleRollback")(r.fleet[0])).wait();

    const message = await refusal(() => switchWave(r.ctx, r.id, "rest", { executor: ww.w.deployer }));
    expect(message).to.match(/Refusing to switch wave "rest".*scheduled for rollback/);
    for (const p of rest) expect(await slot(p)).to.equal(ww.w.blue);
    // Signing is refused too, and the proposal stays unexecuted.
    expect(await refusal(() => approveWave(r.ctx, r.id, "rest", { signer: ww.owners[2]! }))).to.match(/Refusing to sign wave "rest"/);
    expect(readWavesStep(await r.store.get(ww.w.chainId, r.id))!.promotions.map((p) => p.wave)).to.deep.equal(["canary"]);
  });

  it("refuses drift: an upgrade of one of the wave's proxies after the owners signed makes its proposal stale", async () => {
    const r = await newRelease("drift");
    const [, moved, kept] = r.fleet as [string, string, string];
    await rollOut(r, "canary");
    // The wave is proposed at a later Safe nonce, queued behind another Safe transaction, and signed.
    const safeNonce = (await new Contract(ww.safe, ["function nonce() view returns (uint256)"], ww.w.provider).getFunction("nonce")()) as bigint;
    const proposed = await proposeWave(r.ctx, r.id, { wave: "rest", actor, nonce: safeNonce + 1n, override: { reason: "queued" } });
    expect(proposed.proposal.safe!.tx.nonce).to.equal(String(safeNonce + 1n));
    await approveWave(r.ctx, r.id, "rest", { signer: ww.owners[0]! });
    await approveWave(r.ctx, r.id, "rest", { signer: ww.owners[1]! });
    // Meanwhile the Safe promotes another green on one of the wave's proxies, at the earlier nonce.
    const other = await deployGreen(ww.w, "MonitorMeterV2");
    const spec = await switchCallSpec(ww.env, { address: ww.w.switchAddress, iface: ww.env.errors }, "promote", [moved, other, keccak256(await ww.w.provider.getCode(other)), ww.w.blue, "0x", EVIDENCE], {
      id: "drift-other",
    });
    const folder = callProposalFolder(r.store, ww.w.chainId, "drift-other");
    await proposeApproverCall(ww.env, folder, spec, { nonce: safeNonce });
    await approveProposal(ww.env, folder, { signer: ww.owners[1]! });
    await approveProposal(ww.env, folder, { signer: ww.owners[2]! });
    expect((await executeProposal(ww.env, folder, { executor: ww.w.deployer })).status).to.equal("executed");

    const message = await refusal(() => switchWave(r.ctx, r.id, "rest", { executor: ww.w.deployer }));
    expect(message).to.match(/chain changed since the proposal/);
    expect(message).to.include(`switch's record of proxy ${moved}`);
    expect(message).to.include(`--release ${r.id} --wave rest`);
    // All or nothing: the other proxy of the wave did not move either.
    expect(await slot(kept)).to.equal(ww.w.blue);
    expect(await slot(moved)).to.equal(other);
  });

  it("bg:finalize closes every wave's batch on the switch, and the record is finalized only when none is open", async () => {
    const r = await newRelease("finalize-waves");
    await rollOut(r, "canary");
    await rollOut(r, "rest", "finalize test");
    const status = async (p: string) => Number((await ww.w.sw.getFunction("proxyState")(p)).status);
    const [LIVE, FINALIZED] = [1, 4];
    for (const p of r.fleet) expect(await status(p)).to.equal(LIVE);

    // Before the windows end, two batches would each need the approver: refused, with each batch and the commands, nothing sent.
    const early = await refusal(() => finalizeRelease(r.ctx, r.id, { signer: ww.w.deployer }));
    expect(early).to.match(/^\[BG_APPROVAL_FINALIZE_BATCHES\]/);
    expect(early).to.include('wave "canary"').and.include('wave "rest"').and.include("bg:call propose --function finalize").and.include(`bg:finalize --release ${r.id}`);
    for (const p of r.fleet) expect(await status(p)).to.equal(LIVE);

    await increaseTime(ww.w, 3601);
    const done = await finalizeRelease(r.ctx, r.id, { signer: ww.w.deployer });
    if (done.status !== "done") throw new Error("expected done");
    expect(done).to.deep.include({ state: "finalized", already: false });
    expect(done.finalized!.map((f) => [f.wave, f.proxies.length])).to.deep.equal([
      ["canary", 1],
      ["rest", 2],
    ]);
    expect(done.open).to.equal(undefined);
    for (const p of r.fleet) expect(await status(p)).to.equal(FINALIZED);
    const record = await r.store.get(ww.w.chainId, r.id);
    expect(record.state).to.equal("finalized");
    expect(readStep(record, "finalize")).to.deep.include({ txHash: done.txHash, early: false });
    expect(await finalizeRelease(r.ctx, r.id, { signer: ww.w.deployer })).to.deep.include({ status: "done", already: true });
  });

  it("a finalize of the canary batch alone on the switch is not taken for the release's: bg:finalize closes the rest, then the record", async () => {
    const r = await newRelease("finalize-legacy");
    await rollOut(r, "canary");
    await rollOut(r, "rest", "finalize test");
    await increaseTime(ww.w, 3601);
    // Someone finalized only the canary's batch on the switch: reconciling does not call the release finalized.
    await (await ww.w.sw.connect(ww.w.user).getFunction("finalize")(r.fleet[0])).wait();
    const partial = await finalizeRelease(r.ctx, r.id, { signer: ww.w.deployer });
    expect(partial.state).to.equal("finalized");
    expect(partial.finalized!.map((f) => f.wave)).to.deep.equal(["rest"]);
    for (const p of r.fleet) expect(Number((await ww.w.sw.getFunction("proxyState")(p)).status)).to.equal(4);
  });

  it("bg:rollback rolls back every wave's batch: a guardian schedules each, --execute rolls each back after the delay, then the record is rolled-back", async () => {
    const r = await newRelease("rollback-waves");
    await rollOut(r, "canary");
    await rollOut(r, "rest", "rollback test");
    const state = async (p: string) => ww.w.sw.getFunction("proxyState")(p);
    const [LIVE, SCHEDULED, ROLLED_BACK] = [1, 2, 3];
    for (const p of r.fleet) expect(await slot(p)).to.equal(getAddress(r.green));

    // The approver at once would need one proposal per batch: refused, with each batch's command, nothing sent.
    const now = await refusal(() => rollbackNow(r.ctx, r.id, { executor: ww.w.deployer }));
    expect(now).to.match(/^\[BG_APPROVAL_ROLLBACK_BATCHES\]/);
    expect(now).to.include('wave "canary"').and.include('wave "rest"').and.include("bg:call propose --function rollbackNow");
    for (const p of r.fleet) expect(Number((await state(p)).status)).to.equal(LIVE);

    const scheduled = await scheduleRollback(r.ctx, r.id, { signer: ww.w.guardian });
    expect(scheduled).to.deep.include({ status: "done", state: "rollback-scheduled", already: false });
    expect(scheduled.batches!.map((b) => [b.wave, b.proxies.length, b.action, b.status])).to.deep.equal([
      ["canary", 1, "scheduled", "rollback-scheduled"],
      ["rest", 2, "scheduled", "rollback-scheduled"],
    ]);
    for (const p of r.fleet) expect(Number((await state(p)).status)).to.equal(SCHEDULED);
    // Run again: nothing more to schedule (the switch would refuse this guardian a second schedule per batch anyway).
    expect(await scheduleRollback(r.ctx, r.id, { signer: ww.w.guardian })).to.deep.include({ status: "done", already: true });

    expect(await refusal(() => executeRollback(r.ctx, r.id, { signer: ww.w.user }))).to.match(/^\[BG_APPROVAL_ROLLBACK_NOT_READY\].*wave "canary".*wave "rest"/s);
    await increaseTime(ww.w, ROLLBACK_DELAY + 1);
    const done = await executeRollback(r.ctx, r.id, { signer: ww.w.user });
    if (done.status !== "done") throw new Error("expected done");
    expect(done).to.deep.include({ state: "rolled-back", already: false });
    expect(done.batches!.map((b) => [b.wave, b.action, b.status])).to.deep.equal([
      ["canary", "executed", "rolled-back"],
      ["rest", "executed", "rolled-back"],
    ]);
    for (const p of r.fleet) {
      expect(await slot(p)).to.equal(ww.w.blue);
      const s = await state(p);
      expect(Number(s.status)).to.equal(ROLLED_BACK);
      expect(getAddress(s.implementation as string)).to.equal(ww.w.blue);
    }
    const record = await r.store.get(ww.w.chainId, r.id);
    expect(record.state).to.equal("rolled-back");
    expect(readStep(record, "rollback")).to.deep.include({ immediate: false, implementation: ww.w.blue, rolledBackTx: done.txHash });
    const json = rollbackJson(done);
    expect(json).to.deep.include({ ok: true, state: "rolled-back" });
    expect(json.batches!.map((b) => b.txHash)).to.have.length(2);
    expect(renderRollback(done, "Rollback")).to.include("wave canary: ").and.include("wave rest: ").and.include("executed (tx ");
    expect(await executeRollback(r.ctx, r.id, { signer: ww.w.user })).to.deep.include({ status: "done", state: "rolled-back", already: true });
  });

  it("without a wave plan, --wave says how to plan one", async () => {
    const r = await newRelease("unplanned");
    const record = await r.store.get(ww.w.chainId, r.id);
    const { waves: _waves, ...steps } = record.steps;
    await r.store.update(ww.w.chainId, r.id, () => ({ ...record, steps }));
    expect(await refusal(() => proposeWave(r.ctx, r.id, { wave: "canary", actor }))).to.include(`bg:waves --release ${r.id} --proxies`);
    expect(await refusal(() => switchWave(r.ctx, r.id, "canary", { executor: ww.w.deployer }))).to.include(`bg:waves --release ${r.id} --proxies`);
  });
});
