import { expect } from "chai";

import { allExpected, compareObservations, primaryKind, sameReceipt } from "../../src/replay/compare.js";
import { normalizeExpected } from "../../src/replay/config.js";
import type { Observation } from "../../src/replay/types.js";

const PROXY = "0x" + "aa".repeat(20);
const TRANSFER = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";
const FEE = "0x" + "fe".repeat(32);

function observation(overrides: Partial<Observation> = {}): Observation {
  return {
    status: "success",
    returnData: "0x" + "00".repeat(31) + "01",
    gasUsed: 50_000n,
    logs: [{ address: PROXY, topics: [TRANSFER], data: "0x01" }],
    storage: { ["0x" + "01".padStart(64, "0")]: "0x" + "05".padStart(64, "0") },
    proxySelectors: ["0xa9059cbb"],
    proxyInputs: ["0xa9059cbb"],
    delegates: [],
    ...overrides,
  };
}

const options = { gasTolerance: 0, expected: [] };

describe("comparing blue and green", function () {
  it("finds nothing between identical executions", () => {
    expect(compareObservations(observation(), observation(), options)).to.deep.equal([]);
  });

  it("files a green that reverts under revert, and a green that stops reverting under status", () => {
    const reverted = observation({ status: "revert", returnData: undefined, revertData: "0x08c379a0", error: "execution reverted", logs: [], storage: {} });
    const newRevert = compareObservations(observation(), reverted, options);
    expect(primaryKind(newRevert)).to.equal("revert");
    const lostCheck = compareObservations(reverted, observation(), options);
    expect(primaryKind(lostCheck)).to.equal("status");
    const otherReason = compareObservations(reverted, { ...reverted, revertData: "0x4e487b71" }, options);
    expect(otherReason.map((d) => d.kind)).to.deep.equal(["revert"]);
  });

  it("lists every aspect that differs, most significant first", () => {
    const green = observation({
      returnData: "0x" + "00".repeat(32),
      gasUsed: 60_000n,
      logs: [],
      storage: { ["0x" + "01".padStart(64, "0")]: "0x" + "06".padStart(64, "0") },
    });
    expect(compareObservations(observation(), green, options).map((d) => d.kind)).to.deep.equal(["return", "events", "gas", "storage"]);
  });

  it("compares return data whenever both succeed, with nothing taken from the other side", () => {
    const green = observation({ returnData: "0x" + "00".repeat(31) + "02" });
    expect(compareObservations(observation(), green, options).map((d) => d.kind)).to.deep.equal(["return"]);
  });

  it("flags a write to the proxy's implementation, admin or beacon slot as a critical proxy-slots difference no rule can excuse", () => {
    const implementation = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";
    const green = observation({ storage: { ...observation().storage, [implementation]: "0x" + "00".repeat(12) + "de".repeat(20) } });
    const rules = [normalizeExpected({ kind: "storage", reason: "any storage" })];
    const [d, ...rest] = compareObservations(observation(), green, { gasTolerance: 0, expected: rules });
    expect(d).to.deep.include({ kind: "proxy-slots", critical: true });
    expect(d!.expectedBy).to.equal(undefined);
    expect((d!.green as Record<string, string>).implementation).to.equal("0x" + "00".repeat(12) + "de".repeat(20));
    expect(rest).to.deep.equal([]);
    expect(allExpected([d!])).to.equal(false);
  });

  it("allows gas within the tolerance, in percent of blue's gas", () => {
    expect(compareObservations(observation(), observation({ gasUsed: 50_900n }), { ...options, gasTolerance: 2 })).to.deep.equal([]);
    expect(compareObservations(observation(), observation({ gasUsed: 51_100n }), { ...options, gasTolerance: 2 }).map((d) => d.kind)).to.deep.equal(["gas"]);
  });

  it("treats storage writes to different slots as a difference, even with equal gas and events", () => {
    const green = observation({ storage: { ["0x" + "02".padStart(64, "0")]: "0x" + "05".padStart(64, "0") } });
    const [d] = compareObservations(observation(), green, options);
    expect(d!.kind).to.equal("storage");
    expect(d!.blue).to.deep.equal({ ["0x" + "01".padStart(64, "0")]: "0x" + "05".padStart(64, "0"), ["0x" + "02".padStart(64, "0")]: "(unchanged)" });
  });

  describe("declared expected differences", () => {
    it("allows a new event by its signature, and only that event", () => {
      const rule = normalizeExpected({ kind: "events", event: "FeeCharged(address,uint256)", reason: "new fee event" });
      const feeTopic = rule.topic!;
      const green = observation({ logs: [...observation().logs, { address: PROXY, topics: [feeTopic], data: "0x" }] });
      const diffs = compareObservations(observation(), green, { ...options, expected: [rule] });
      expect(diffs.map((d) => [d.kind, d.expectedBy])).to.deep.equal([["events", "new fee event"]]);
      expect(allExpected(diffs)).to.equal(true);

      const alsoChanged = observation({ logs: [{ address: PROXY, topics: [TRANSFER], data: "0x02" }, { address: PROXY, topics: [feeTopic], data: "0x" }] });
      const unexpected = compareObservations(observation(), alsoChanged, { ...options, expected: [rule] });
      expect(unexpected[0]!.expectedBy).to.equal(undefined);
      expect(allExpected(unexpected)).to.equal(false);
    });

    it("allows more gas on one selector up to its limit", () => {
      const rule = normalizeExpected({ kind: "gas", selector: "transfer(address,uint256)", maxIncreasePercent: 5, reason: "bookkeeping" });
      const within = compareObservations(observation(), observation({ gasUsed: 52_000n }), { ...options, expected: [rule] });
      expect(within.map((d) => d.expectedBy)).to.deep.equal(["bookkeeping"]);
      const beyond = compareObservations(observation(), observation({ gasUsed: 53_000n }), { ...options, expected: [rule] });
      expect(beyond.map((d) => d.expectedBy)).to.deep.equal([undefined]);
      const otherSelector = compareObservations(
        observation({ proxySelectors: ["0x095ea7b3"] }),
        observation({ proxySelectors: ["0x095ea7b3"], gasUsed: 52_000n }),
        { ...options, expected: [rule] },
      );
      expect(otherSelector.map((d) => d.expectedBy)).to.deep.equal([undefined]);
    });

    it("allows a storage slot by its key", () => {
      const slot = "0x" + "0a".padStart(64, "0");
      const rule = normalizeExpected({ kind: "storage", slot, reason: "new variable" });
      const green = observation({ storage: { ...observation().storage, [slot]: "0x" + "01".padStart(64, "0") } });
      expect(compareObservations(observation(), green, { ...options, expected: [rule] }).map((d) => d.expectedBy)).to.deep.equal(["new variable"]);
    });
  });

  it("checks a replayed receipt against the real one", () => {
    const real = { status: "success" as const, gasUsed: 50_000n, logs: observation().logs };
    expect(sameReceipt(real, { ...real })).to.deep.equal({ same: true, what: [] });
    expect(sameReceipt({ ...real, gasUsed: 50_001n }, real).what).to.deep.equal(["gas 50001 vs 50000"]);
    expect(sameReceipt({ ...real, logs: [] }, real).what).to.deep.equal(["logs (0 vs 1)"]);
  });

  it("normalizes selectors and event signatures", () => {
    expect(normalizeExpected({ kind: "gas", selector: "transfer(address, uint256)", reason: "r" }).selector).to.equal("0xa9059cbb");
    expect(normalizeExpected({ kind: "events", event: "Transfer(address,address,uint256)", reason: "r" }).topic).to.equal(TRANSFER);
    expect(normalizeExpected({ kind: "events", event: FEE.toUpperCase().replace("0X", "0x"), reason: "r" }).topic).to.equal(FEE);
  });
});
