/**
 * Reads the chain facts `mayPromoteWave` decides on: each fleet proxy's
 * release on the switch, and the chain's time.
 */
import { BrowserProvider, getAddress } from "ethers";

import type { Eip1193Provider } from "../chain/eip1193.js";
import type { ReleaseRecord } from "../release/record.js";
import { readProxyRelease } from "../switch/read-switch.js";
import type { WaveChainFacts } from "./may-promote-wave.js";
import { readWavesStep } from "./waves-step.js";

export async function readWaveFacts(provider: Eip1193Provider, switchAddress: string, record: ReleaseRecord): Promise<WaveChainFacts> {
  const fleet = readWavesStep(record)?.fleet ?? [record.proxy];
  // The switch is read through its ethers contract; that is the only use of ethers here.
  const contracts = new BrowserProvider(provider);
  const [latest, states] = await Promise.all([
    provider.request({ method: "eth_getBlockByNumber", params: ["latest", false] }) as Promise<{ timestamp: string }>,
    Promise.all(fleet.map((p) => readProxyRelease(contracts, switchAddress, p))),
  ]);
  return {
    now: Number(latest.timestamp),
    proxies: Object.fromEntries(
      states.map((s) => [getAddress(s.proxy), { status: s.status, green: s.green, promotedAt: s.promotedAt, windowEnd: s.windowEnd }]),
    ),
  };
}
