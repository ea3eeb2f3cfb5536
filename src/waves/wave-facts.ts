/**
 * Reads the chain facts `mayPromoteWave` decides on: each fleet proxy's
 * release on the switch, and the chain's time.
 */
import { type ContractRunner, type Provider, getAddress } from "ethers";

import type { ReleaseRecord } from "../release/record.js";
import { readProxyRelease } from "../switch/read-switch.js";
import type { WaveChainFacts } from "./may-promote-wave.js";
import { readWavesStep } from "./waves-step.js";

export async function readWaveFacts(provider: Provider & ContractRunner, switchAddress: string, record: ReleaseRecord): Promise<WaveChainFacts> {
  const fleet = readWavesStep(record)?.fleet ?? [record.proxy];
  const [latest, states] = await Promise.all([
    provider.getBlock("latest"),
    Promise.all(fleet.map((p) => readProxyRelease(provider, switchAddress, p))),
  ]);
  return {
    now: latest!.timestamp,
    proxies: Object.fromEntries(
      states.map((s) => [getAddress(s.proxy), { status: s.status, green: s.green, promotedAt: s.promotedAt }]),
    ),
  };
}
