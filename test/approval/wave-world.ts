/**
 * A chain for the wave approval tests, on a separate Hardhat node: the
 * monitor tests' world (a real switch, meters behind real OpenZeppelin v5
 * proxies adopted by it, traffic helpers), whose approver role is then
 * handed to a real 2-of-3 Safe v1.4.1 through the approval path itself
 * (proposeApprover by the old approver, acceptApprover signed by the Safe's
 * owners). The proxies come in fleets of three so that each test rolls out
 * its own release on its own fleet.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import type { Interface, JsonRpcSigner } from "ethers";

import { switchCallSpec } from "../../src/approval/approver-call.js";
import { createSafe, deploySafeSingletons } from "../../src/approval/deploy-safe-singletons.js";
import { executeProposal } from "../../src/approval/execute.js";
import { type ApprovalEnv, approveProposal, proposeApproverCall } from "../../src/approval/proposal.js";
import { callProposalFolder } from "../../src/approval/proposal-folder.js";
import type { ReleaseApprovalContext } from "../../src/approval/release-switch.js";
import { gateResult } from "../../src/gates/gate-result.js";
import { recordGatesRun } from "../../src/gates/gates-step.js";
import { type WavesConfig, resolveWavesConfig } from "../../src/waves/config.js";
import type { ReleaseRecord } from "../../src/release/record.js";
import { ReleaseStore } from "../../src/release/store.js";
import { readProxyRelease } from "../../src/switch/read-switch.js";
import { recordWavePlan } from "../../src/waves/plan-waves.js";
import { type MonitorWorld, deployGreen, releaseStore, startWorld } from "../monitor/world.js";

export const PER_FLEET = 3;

export interface WaveWorld {
  w: MonitorWorld;
  safe: string;
  /** The Safe's three owners (node accounts 5, 6, 7). */
  owners: JsonRpcSigner[];
  env: ApprovalEnv & { errors: Interface };
  /** Disjoint fleets of proxies running blue, adopted by the switch. */
  fleets: string[][];
  stop(): Promise<void>;
}

export async function startWaveWorld(fleets: number): Promise<WaveWorld> {
  const w = await startWorld(fleets * PER_FLEET);
  const scratch = await mkdtemp(path.join(tmpdir(), "bg-wave-setup-"));
  try {
    await deploySafeSingletons(w.deployer);
    const owners = await Promise.all([5, 6, 7].map((i) => w.provider.getSigner(i)));
    const safe = await createSafe(w.deployer, { owners: await Promise.all(owners.map((o) => o.getAddress())), threshold: 2 });
    const env = { provider: { request: ({ method, params }: { method: string; params?: unknown }) => w.provider.send(method, (params as unknown[]) ?? []) }, chainId: w.chainId, errors: w.sw.interface };

    // Hand the approver role to the Safe, through the approval path itself.
    await (await w.sw.getFunction("proposeApprover")(safe)).wait();
    const store = new ReleaseStore(scratch);
    const spec = await switchCallSpec(env, { address: w.switchAddress, iface: env.errors }, "acceptApprover", [], { id: "accept-safe" });
    const folder = callProposalFolder(store, w.chainId, "accept-safe");
    await proposeApproverCall(env, folder, spec);
    await approveProposal(env, folder, { signer: owners[0]! });
    await approveProposal(env, folder, { signer: owners[1]! });
    expect((await executeProposal(env, folder, { executor: w.deployer })).status).to.equal("executed");
    expect(await w.sw.getFunction("approver")()).to.equal(safe);

    const split = Array.from({ length: fleets }, (_, i) => w.proxies.slice(i * PER_FLEET, (i + 1) * PER_FLEET));
    return {
      w,
      safe,
      owners,
      env,
      fleets: split,
      async stop() {
        await rm(scratch, { recursive: true, force: true });
        await w.stop();
      },
    };
  } catch (error) {
    await w.stop();
    throw error;
  }
}

/** Canary (one proxy, 10 minutes of bake), then the rest of the fleet in one batch. */
export const WAVES: WavesConfig = resolveWavesConfig(
  {
    waves: [
      { name: "canary", proxies: 1, bake: "10m" },
      { name: "rest", proxies: "100%", bake: "1h" },
    ],
  },
  { interval: "2 blocks" },
)!;

export interface FleetRelease {
  id: string;
  store: ReleaseStore;
  ctx: ReleaseApprovalContext;
  fleet: string[];
  green: string;
  record: ReleaseRecord;
  cleanup(): Promise<void>;
}

/**
 * A release of a fresh green for one fleet: recorded (its own records
 * folder), gated by the gates' own recorder, and planned into WAVES
 * (unless `plan: false`).
 */
export async function fleetRelease(ww: WaveWorld, fleet: string[], id: string, options: { plan?: boolean } = {}): Promise<FleetRelease> {
  const { w } = ww;
  const green = await deployGreen(w, "MonitorMeterV2");
  const store = await releaseStore(w, green, "MonitorMeterV2", { id, proxy: fleet[0]! });
  const staged = await store.get(w.chainId, id);
  const gated = await recordGatesRun(store, staged, [gateResult("safety", "pass", true, "upgrade-safe both ways", { evidence: { checked: true } })], {
    actor: "test",
  });
  let record = gated.record;
  if (options.plan !== false) {
    const facts = await Promise.all(fleet.map((p) => readProxyRelease(w.provider, w.switchAddress, p)));
    ({ record } = await recordWavePlan(store, gated.record, fleet, WAVES, facts));
  }
  const ctx: ReleaseApprovalContext = { env: ww.env, store, switchAddress: w.switchAddress, projectRoot: store.root };
  return { id, store, ctx, fleet, green, record, cleanup: () => rm(store.root, { recursive: true, force: true }) };
}
