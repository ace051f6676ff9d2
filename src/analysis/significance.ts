/**
 * The two tests evalcmp uses, in plain double arithmetic: McNemar's exact test (a two-sided
 * binomial test on the discordant pairs) and the two-sided normal test of a z score.
 */

/** log(n!) by summation up to a point, Stirling's series beyond (error < 1e-12 there). */
function logFactorial(n: number): number {
  if (n < 256) {
    let s = 0;
    for (let i = 2; i <= n; i++) s += Math.log(i);
    return s;
  }
  const x = n + 1;
  return (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * x) - 1 / (360 * x ** 3) + 1 / (1260 * x ** 5);
}

/**
 * McNemar's exact test: with `aOnly` documents right in A alone and `bOnly` right in B alone, the
 * probability under H0 (a discordant document is equally likely either way) of a split at least as
 * uneven: min(1, 2·P[X ≤ min(aOnly, bOnly)]), X ~ Binomial(aOnly + bOnly, ½). 1 when nothing is discordant.
 */
export function mcnemarExactP(aOnly: number, bOnly: number): number {
  const m = aOnly + bOnly;
  if (m === 0) return 1;
  const k = Math.min(aOnly, bOnly);
  const logHalfM = -m * Math.LN2;
  const lfm = logFactorial(m);
  // Sum the tail in log space from its largest term (i = k) down, so no term underflows first.
  const terms: number[] = [];
  for (let i = 0; i <= k; i++) terms.push(lfm - logFactorial(i) - logFactorial(m - i) + logHalfM);
  const top = Math.max(...terms);
  const tail = Math.exp(top) * terms.reduce((s, t) => s + Math.exp(t - top), 0);
  return Math.min(1, 2 * tail);
}

/** erfc(x) for x ≥ 0: Chebyshev fit (Numerical Recipes' erfcc), relative error < 1.2e-7. */
function erfcNonNegative(x: number): number {
  const t = 1 / (1 + 0.5 * x);
  const poly =
    -x * x -
    1.26551223 +
    t *
      (1.00002368 +
        t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * Math.exp(poly);
}

/** Two-sided p of a standard normal z score: P[|Z| ≥ |z|] = erfc(|z|/√2). */
export function twoSidedNormalP(z: number): number {
  if (!Number.isFinite(z)) return Number.isNaN(z) ? NaN : 0;
  return Math.min(1, erfcNonNegative(Math.abs(z) / Math.SQRT2));
}

/** The 95% two-sided normal quantile the harness' and our intervals use. */
export const Z95 = 1.96;
