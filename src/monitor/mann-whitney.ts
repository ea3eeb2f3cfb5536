/**
 * The Mann–Whitney U test (Wilcoxon rank-sum), two-sided, by the normal
 * approximation with the tie correction and, by default, the continuity
 * correction: what Netflix's Kayenta judge runs on a canary's and a
 * baseline's samples of one metric. Pure, no dependencies.
 *
 * Ranks are mid-ranks for ties; U₁ = R₁ − n₁(n₁+1)/2; under H₀ U has mean
 * n₁n₂/2 and variance n₁n₂/12 · ((n+1) − Σ(t³−t)/(n(n−1))), t the size of
 * each tie group. The statistic matches scipy.stats.mannwhitneyu(x, y,
 * method="asymptotic") (U of the first sample, p-value two-sided).
 */

export interface MannWhitneyResult {
  n1: number;
  n2: number;
  /** U of the first sample: pairs (x, y) with x > y, ties counting half. */
  u1: number;
  /** U of the second sample (u1 + u2 = n1·n2). */
  u2: number;
  /** Standard score of U (continuity-corrected when asked). */
  z: number;
  /** Two-sided p-value. */
  pValue: number;
  /**
   * P(X > Y) + ½·P(X = Y) estimated as u1 / (n1·n2): above 0.5 the first
   * sample tends to be larger (the common-language effect size).
   */
  effect: number;
}

/** The test; undefined when a sample is empty (there is nothing to compare). */
export function mannWhitneyU(x: readonly number[], y: readonly number[], options: { continuity?: boolean } = {}): MannWhitneyResult | undefined {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) return undefined;
  const n = n1 + n2;
  const all = [...x.map((v) => ({ v, first: true })), ...y.map((v) => ({ v, first: false }))].sort((a, b) => a.v - b.v);
  let rankSum1 = 0;
  let tieTerm = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && all[j + 1]!.v === all[i]!.v) j++;
    const t = j - i + 1;
    const midRank = (i + 1 + (j + 1)) / 2;
    for (let k = i; k <= j; k++) if (all[k]!.first) rankSum1 += midRank;
    tieTerm += t * t * t - t;
    i = j + 1;
  }
  const u1 = rankSum1 - (n1 * (n1 + 1)) / 2;
  const u2 = n1 * n2 - u1;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  const effect = u1 / (n1 * n2);
  // Every value equal: no evidence of any difference.
  if (!(variance > 0)) return { n1, n2, u1, u2, z: 0, pValue: 1, effect };
  const correction = options.continuity === false ? 0 : 0.5;
  const distance = Math.max(0, Math.abs(u1 - mean) - correction);
  const z = (Math.sign(u1 - mean) * distance) / Math.sqrt(variance);
  return { n1, n2, u1, u2, z, pValue: Math.min(1, 2 * normalUpperTail(Math.abs(z))), effect };
}

/** P(Z > z) for a standard normal Z. */
export function normalUpperTail(z: number): number {
  return erfc(z / Math.SQRT2) / 2;
}

/**
 * The complementary error function by its Chebyshev fit (Numerical Recipes'
 * erfcc): fractional error below 1.2e-7 everywhere, far finer than any
 * confidence a canary is judged at.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + z / 2);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Which way a difference fails the canary, in Kayenta's words. */
export type JudgeDirection = "increase" | "decrease" | "either";

/** Kayenta's classification of one metric: green higher, lower, or no significant difference. */
export type JudgeVerdict = "high" | "low" | "pass";

export interface Judgement {
  verdict: JudgeVerdict;
  /** True when the verdict is a difference in the direction that fails. */
  failed: boolean;
  pValue: number;
  /** 1 − confidence: the p-value below which a difference counts. */
  alpha: number;
  test: MannWhitneyResult;
}

/**
 * Judges green's samples against blue's: a difference counts when its
 * p-value is below 1 − confidence, and fails when it goes the configured way.
 */
export function judgeCohorts(green: readonly number[], blue: readonly number[], options: { confidence: number; direction: JudgeDirection }): Judgement | undefined {
  const test = mannWhitneyU(green, blue);
  if (test === undefined) return undefined;
  const alpha = 1 - options.confidence;
  const significant = test.pValue < alpha;
  const verdict: JudgeVerdict = !significant || test.effect === 0.5 ? "pass" : test.effect > 0.5 ? "high" : "low";
  const failed =
    verdict !== "pass" && (options.direction === "either" || (options.direction === "increase" ? verdict === "high" : verdict === "low"));
  return { verdict, failed, pValue: test.pValue, alpha, test };
}
