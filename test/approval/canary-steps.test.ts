/**
 * bg:propose / bg:approve / bg:switch --step: one proxy's canary, 1% → 5% →
 * 25% → green, each step a promoteCanary signed 2-of-3 by a real Safe and
 * executed by the switch, which deploys and pins the step's router; rollback
 * from a step through the guardian's timelocked path lands on blue.
 */
import { expect } from "chai";
import { Contract, getAddress, keccak256, toBeHex } from "ethers";

import { approveCanaryStep, proposeCanaryStep, switchCanaryStep } from "../../src/approval/canary-switch.js";
import { proposeRelease } from "../../src/approval/release-switch.js";
import { executeRollback, finalizeRelease, scheduleRollback } from "../../src/approval/release-window.js";
import { releaseStatus } from "../../src/status/release-status.js";
import { canaryRouterCodehash } from "../../src/switch/canary-router.js";
import { cohortOf } from "../../src/switch/canary-cohort.js";
import { resolveCanaryConfig } from "../../src/waves/canary-config.js";
import { readCanaryStep } from "../../src/waves/canary-step.js";
import { type ApprovalWorld, DELAY, approvalWorld, implementationOf, increaseTime, refusal } from "./fixture.js";

const config = resolveCanaryConfig({
  steps: [
    { name: "1%", bps: 100 },
    { name: "5%", bps: 500 },
    { name: "25%", bps: 2500 },
  ],
  salt: "canary test salt",
})!;

const callers = Array.from({ length: 300 }, (_, i) => getAddress("0x" + keccak256(toBeHex(i + 7, 32)).slice(-40)));

describe("a canary of one proxy in steps, through a 2-of-3 Safe", function () {
  let world: ApprovalWorld;
  beforeEach(async () => {
    // A green with blue's storage layout: the reverse check is clean, so a canary may run.
    world = await approvalWorld({ green: "BoxV1Patched" });
  });
  afterEach(async () => world.cleanup());

  const actor = "tester";
  const release = "box-v2";

  async function step(name: string) {
    const proposed = await proposeCanaryStep(world.ctx, release, { step: name, actor, config });
    await approveCanaryStep(world.ctx, release, name, { signer: world.owners[0]! });
    await approveCanaryStep(world.ctx, release, name, { signer: world.owners[2]! });
    const switched = await switchCanaryStep(world.ctx, release, name, { executor: world.anyone });
    if (switched.status !== "live") throw new Error("expected live");
    return { proposed, switched };
  }

  /** The version each generated caller sees through the proxy ("1" blue, "2" green). */
  async function versionsSeen(): Promise<Map<string, string>> {
    const box = new Contract(world.proxy, ["function version() view returns (string)"], world.connection.ethers.provider);
    const seen = new Map<string, string>();
    for (const from of callers) seen.set(from, await box.getFunction("version").staticCall({ from }));
    return seen;
  }

  it("goes 1% → 5% → 25% → green, each step on the switch's pinned router, callers split by cohort", async () => {
    const sw = new Contract(world.switchAddress, world.env.errors, world.connection.ethers.provider);
    const green = world.record.green.address;
    let previousGreen = new Set<string>();
    for (const [name, bps] of [["1%", 100], ["5%", 500], ["25%", 2500]] as const) {
      const { proposed, switched } = await step(name);
      const salt = readCanaryStep(switched.record)!.salt;
      const args = { blue: world.blue, green, bps, salt, cohortByOrigin: true };
      // The router the proposal pinned is the switch's own derivation, and its code is what we compiled.
      expect(proposed.router).to.equal(getAddress(await sw.getFunction("canaryRouterFor")(world.blue, green, bps, salt, true)));
      expect(await implementationOf(world)).to.equal(proposed.router);
      expect(keccak256(await world.connection.ethers.provider.getCode(proposed.router!))).to.equal(await canaryRouterCodehash(args));
      const state = await sw.getFunction("canaryState")(world.proxy);
      expect([state.router, Number(state.bps), state.salt]).to.deep.equal([proposed.router, bps, salt]);
      expect(switched.record.state).to.equal("live");

      const seen = await versionsSeen();
      for (const [from, version] of seen) expect(version, from).to.equal(cohortOf(salt, from, bps) === "green" ? "2" : "1");
      // With the salt fixed, a caller on green stays on green as the share grows.
      const onGreen = new Set([...seen].filter(([, v]) => v === "2").map(([from]) => from));
      for (const from of previousGreen) expect(onGreen.has(from), from).to.equal(true);
      previousGreen = onGreen;

      // bg:status sees the step as the release's expected implementation: no drift.
      const status = await releaseStatus(world.connection.provider, world.store, world.root, release);
      expect(status.releases[0]!.drift).to.deep.equal([]);
    }
    const { switched } = await step("green");
    expect(switched.implementation).to.equal(green);
    expect(await implementationOf(world)).to.equal(green);
    expect(Number((await sw.getFunction("canaryState")(world.proxy)).bps)).to.equal(0);
    expect(readCanaryStep(switched.record)!.promotions.map((p) => p.step)).to.deep.equal(["1%", "5%", "25%", "green"]);
    expect(switched.record.history.filter((h) => h.note?.startsWith("canary step") && h.note.includes("live")).length).to.equal(3);
  });

  it("rolls back from a step to exactly blue through the guardian's timelocked path, and then refuses the next step", async () => {
    await step("1%");
    await step("5%");
    // A step is never final: bg:finalize refuses before proposing anything.
    expect(await refusal(() => finalizeRelease(world.ctx, release, { signer: world.anyone }))).to.include("BG_CANARY_STEP_OPEN");
    const scheduled = await scheduleRollback(world.ctx, release, { signer: world.guardian });
    expect(scheduled.state).to.equal("rollback-scheduled");
    await increaseTime(world, DELAY);
    const rolledBack = await executeRollback(world.ctx, release, { signer: world.anyone });
    expect(rolledBack.state).to.equal("rolled-back");
    expect(await implementationOf(world)).to.equal(world.blue);
    for (const [from, version] of await versionsSeen()) expect(version, from).to.equal("1");
    const message = await refusal(() => proposeCanaryStep(world.ctx, release, { step: "25%", actor, config }));
    expect(message).to.include("BG_CANARY_NOT_LIVE");
  });

  it("refuses a canary of a green whose reverse check finds something (BoxV2 adds a slot blue does not know)", async () => {
    const other = await approvalWorld();
    try {
      expect(other.record.rollbackRisks.length).to.be.greaterThan(0);
      const message = await refusal(() => proposeCanaryStep(other.ctx, release, { step: "1%", actor, config }));
      expect(message).to.include("BG_CANARY_ROLLBACK_RISK").and.to.include(other.record.rollbackRisks[0]!.message.slice(0, 40));
      expect(await implementationOf(other)).to.equal(other.blue);
    } finally {
      await other.cleanup();
    }
  });

  it("refuses a step out of order, an unknown step, and a release whose reverse check found anything", async () => {
    await step("5%");
    expect(await refusal(() => proposeCanaryStep(world.ctx, release, { step: "1%", actor, config }))).to.include("BG_CANARY_STEP_ORDER");
    expect(await refusal(() => proposeCanaryStep(world.ctx, release, { step: "50%", actor, config }))).to.include("BG_CANARY_STEP_UNKNOWN");
    // The release as a whole cannot be promoted past its canary.
    expect(await refusal(() => proposeRelease(world.ctx, release, { actor }))).to.include("BG_APPROVAL_CANARY").and.include("--step 25%");

    await world.store.update(world.env.chainId, release, (current) =>
      current === undefined ? undefined : { ...current, rollbackRisks: [{ kind: "deleted-variable", message: "blue would read a slot green repurposed", detail: "x" }] },
    );
    const risky = await refusal(() => proposeCanaryStep(world.ctx, release, { step: "25%", actor, config }));
    expect(risky).to.include("BG_CANARY_ROLLBACK_RISK").and.to.include("blue would read a slot green repurposed");
    expect(await implementationOf(world)).to.not.equal(world.blue);
  });
});
