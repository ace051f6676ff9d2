/** Round half to even (rint under the default FP rounding mode), in its own module so webviews can import it without fs. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
