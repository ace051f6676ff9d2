/** 1.5 · 2^52: adding and subtracting it rounds a double below 2^51 in magnitude to an integer, ties to even (the FPU's own rule). */
const RINT_MAGIC = 6755399441055744;

/** Round half to even (rint under the default FP rounding mode), in its own module so webviews can import it without fs. */
export function roundHalfEven(x: number): number {
  if (Math.abs(x) < 2251799813685248) {
    const r = x + RINT_MAGIC - RINT_MAGIC;
    return r === 0 ? x * 0 : r; // keeps the sign of a zero, as rint does
  }
  // From 2^51 on the spacing is ½ or more: only a tie can be off an integer, and it goes to the even neighbour.
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
