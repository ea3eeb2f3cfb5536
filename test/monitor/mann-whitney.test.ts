/**
 * The Mann–Whitney U test against known values.
 *
 * Reference p-values are scipy 1.17's
 * `scipy.stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic", use_continuity=…)`,
 * computed once for these samples and written here; the U statistics are
 * also worked by hand below.
 */
import { expect } from "chai";

import { erfc, judgeCohorts, mannWhitneyU, normalUpperTail } from "../../src/monitor/mann-whitney.js";

// Bonett's example (statpsych ci.mann): no ties within the pair of samples except 39.
const Y1 = [32, 39, 26, 35, 43, 27, 40, 37, 34, 29];
const Y2 = [36, 44, 47, 42, 49, 39, 46, 31, 33, 48];

describe("the Mann–Whitney U test", function () {
  it("computes U by hand: x = [1, 4], y = [2, 3] has pairs (4>2, 4>3) so U₁ = 2 = n₁n₂ − U₂", function () {
    const r = mannWhitneyU([1, 4], [2, 3])!;
    expect(r.u1).to.equal(2);
    expect(r.u2).to.equal(2);
    expect(r.effect).to.equal(0.5);
  });

  it("matches scipy on Bonett's samples: U = 20.5 (the tie at 39 counts half), p = 0.028306 with continuity, 0.025692 without", function () {
    const r = mannWhitneyU(Y1, Y2)!;
    expect(r.u1).to.equal(20.5);
    expect(r.u1 + r.u2).to.equal(100);
    expect(r.pValue).to.be.closeTo(0.028306043228323398, 1e-6);
    expect(mannWhitneyU(Y1, Y2, { continuity: false })!.pValue).to.be.closeTo(0.025692444548908212, 1e-6);
    // Swapping the samples swaps U and keeps the two-sided p-value.
    const swapped = mannWhitneyU(Y2, Y1)!;
    expect(swapped.u1).to.equal(r.u2);
    expect(swapped.pValue).to.be.closeTo(r.pValue, 1e-12);
  });

  it("applies the tie correction: heavily tied samples match scipy (U = 8.5, p = 0.025145 / 0.021556)", function () {
    const x = [1, 2, 2, 3, 3, 3, 4];
    const y = [2, 3, 4, 4, 5, 5, 6, 6];
    expect(mannWhitneyU(x, y)!.u1).to.equal(8.5);
    expect(mannWhitneyU(x, y)!.pValue).to.be.closeTo(0.025144761173357368, 1e-6);
    expect(mannWhitneyU(x, y, { continuity: false })!.pValue).to.be.closeTo(0.0215562667600163, 1e-6);
  });

  it("tests revert indicators (0/1): 2 of 42 against 9 of 39 reverted gives U = 669, p = 0.017252 (scipy)", function () {
    const green = [...Array(30).fill(0), ...Array(9).fill(1)];
    const blue = [...Array(40).fill(0), ...Array(2).fill(1)];
    const r = mannWhitneyU(blue, green)!;
    expect(r.u1).to.equal(669);
    expect(r.pValue).to.be.closeTo(0.01725171790094182, 1e-6);
    expect(mannWhitneyU(blue, green, { continuity: false })!.pValue).to.be.closeTo(0.01688221750021894, 1e-6);
  });

  it("gives p = 1 when every value is equal, and nothing for an empty sample", function () {
    expect(mannWhitneyU([5, 5, 5], [5, 5])!.pValue).to.equal(1);
    expect(mannWhitneyU([], [1, 2])).to.equal(undefined);
  });

  it("has a normal tail accurate to 1e-7: P(Z > 1.959964) = 0.025, erfc(0) = 1", function () {
    expect(normalUpperTail(1.959963984540054)).to.be.closeTo(0.025, 1e-7);
    expect(normalUpperTail(0)).to.be.closeTo(0.5, 1e-7);
    expect(erfc(0)).to.be.closeTo(1, 1e-7);
    expect(erfc(-1) + erfc(1)).to.be.closeTo(2, 1e-12);
  });
});

describe("the judge of two cohorts", function () {
  const green = [...Array(30).fill(0), ...Array(9).fill(1)];
  const blue = [...Array(40).fill(0), ...Array(2).fill(1)];

  it("calls green high and fails it when it reverts more, at 95% confidence", function () {
    const j = judgeCohorts(green, blue, { confidence: 0.95, direction: "increase" })!;
    expect(j.verdict).to.equal("high");
    expect(j.failed).to.equal(true);
    expect(j.alpha).to.be.closeTo(0.05, 1e-12);
  });

  it("passes the same samples at 99% confidence (p = 0.017 is not below 0.01)", function () {
    const j = judgeCohorts(green, blue, { confidence: 0.99, direction: "increase" })!;
    expect(j.verdict).to.equal("pass");
    expect(j.failed).to.equal(false);
  });

  it("does not fail a decrease when only an increase fails, but does when either fails", function () {
    expect(judgeCohorts(blue, green, { confidence: 0.95, direction: "increase" })).to.include({ verdict: "low", failed: false });
    expect(judgeCohorts(blue, green, { confidence: 0.95, direction: "either" })).to.include({ verdict: "low", failed: true });
    expect(judgeCohorts(blue, green, { confidence: 0.95, direction: "decrease" })).to.include({ verdict: "low", failed: true });
  });
});
