/**
 * Builds a tensor's overview (protocol.Overview), or a compared pair's (its |Δ|): elements arrive in
 * chunks of consecutive positions and each tile keeps its worst element. Pure; the sessions feed it.
 */
import { Overview, NO_CLASS, OVERVIEW_TILES } from './protocol';
import { CLASS_INDEX } from './elementGrid';
import type { NativeTiles } from '../native/addon';

/**
 * How bad a class is in a tile: NaN/Inf over off-grid over out-of-range codes over FP32 artifacts over
 * exact values, plain codes and values on no grid (NO_CLASS). Only the first three are problems.
 */
const SEVERITY = new Uint8Array(256);
SEVERITY[CLASS_INDEX.fp32_artifact] = 1;
SEVERITY[CLASS_INDEX.out_of_range] = 2;
SEVERITY[CLASS_INDEX.off_grid] = 3;
SEVERITY[CLASS_INDEX.non_finite] = 4;
/** Severity from which an element is a problem: next/previous problem stops there, tiles count it. */
export const PROBLEM_SEVERITY = SEVERITY[CLASS_INDEX.out_of_range];
/** Whether a class (index into ELEMENT_CLASSES, or NO_CLASS) is a problem: off the grid, not finite, or a code out of range. */
export function isProblem(cls: number): boolean {
  return SEVERITY[cls] >= PROBLEM_SEVERITY;
}

export class OverviewBuilder {
  private readonly o: Overview;
  private readonly atMeasure: Float32Array;
  /** A pair's overview counts the elements that differ (measure ≠ 0) where a tensor's counts problems. */
  private readonly countsDiffering: boolean;

  constructor(tensor: string, n: number, cols: number, measure: Overview['measure']) {
    cols = Math.max(1, cols);
    const rows = Math.max(1, Math.ceil(n / cols));
    const rowsPerTile = Math.ceil(rows / Math.min(rows, OVERVIEW_TILES.rows)),
      colsPerTile = Math.ceil(cols / Math.min(cols, OVERVIEW_TILES.cols));
    const tileRows = Math.ceil(rows / rowsPerTile),
      tileCols = Math.ceil(cols / colsPerTile),
      tiles = tileRows * tileCols;
    this.o = {
      tensor,
      n,
      cols,
      rows,
      tileRows,
      tileCols,
      rowsPerTile,
      colsPerTile,
      measure,
      worst: new Uint8Array(tiles).fill(NO_CLASS),
      peak: new Float32Array(tiles),
      at: new Float64Array(tiles).fill(-1),
      problems: new Uint32Array(tiles),
    };
    this.atMeasure = new Float32Array(tiles).fill(-1);
    this.countsDiffering = measure === 'delta';
  }

  /**
   * Positions start … start + cls.length − 1: each one's class (index into ELEMENT_CLASSES, or NO_CLASS)
   * and measure (ignored for non-finite elements).
   */
  add(start: number, cls: Uint8Array | null, measure: ArrayLike<number>): void {
    const o = this.o,
      { worst, peak, at, problems } = o,
      atMeasure = this.atMeasure;
    const count = cls ? cls.length : measure.length;
    const NON_FINITE = CLASS_INDEX.non_finite,
      differing = this.countsDiffering;
    for (let k = 0; k < count;) {
      const pos = start + k,
        row = Math.floor(pos / o.cols);
      const col0 = pos - row * o.cols,
        colEnd = Math.min(o.cols, col0 + (count - k));
      const rowBase = Math.floor(row / o.rowsPerTile) * o.tileCols;
      // Along this row, one stretch per tile: the tile's state stays in locals while its elements pass.
      for (let tc = Math.floor(col0 / o.colsPerTile); tc * o.colsPerTile < colEnd; tc++) {
        const t = rowBase + tc;
        const a = Math.max(col0, tc * o.colsPerTile),
          b = Math.min(colEnd, (tc + 1) * o.colsPerTile);
        let tPeak = peak[t],
          tWorst = worst[t],
          tRank = SEVERITY[tWorst],
          tAt = at[t],
          tAtM = atMeasure[t],
          tProblems = problems[t];
        for (let j = k + (a - col0), jEnd = k + (b - col0); j < jEnd; j++) {
          const c = cls ? cls[j] : NO_CLASS;
          const finite = c !== NON_FINITE;
          const m = finite ? measure[j] : Infinity;
          if (finite && m > tPeak) tPeak = m;
          const rank = SEVERITY[c];
          if (rank >= PROBLEM_SEVERITY || (differing && m !== 0)) tProblems++;
          if (tAt < 0 || rank > tRank || (rank === tRank && m > tAtM)) {
            tWorst = c;
            tRank = rank;
            tAt = start + j;
            tAtM = m;
          }
        }
        peak[t] = tPeak;
        worst[t] = tWorst;
        at[t] = tAt;
        atMeasure[t] = tAtM;
        problems[t] = tProblems;
      }
      k += colEnd - col0;
    }
  }

  /** The tiling, as the addon's overview takes it (native/src/overview.hpp TileGrid). */
  tiling(): { cols: number; rowsPerTile: number; colsPerTile: number; tileCols: number; tiles: number } {
    const o = this.o;
    return { cols: o.cols, rowsPerTile: o.rowsPerTile, colsPerTile: o.colsPerTile, tileCols: o.tileCols, tiles: o.worst.length };
  }

  /**
   * Tiles the addon built over positions that all come after those added so far (NativeTiles): the
   * same result as adding those elements here (its order too: an earlier element wins a tie).
   */
  merge(part: NativeTiles): void {
    const { worst, peak, at, problems } = this.o,
      atMeasure = this.atMeasure;
    for (let t = 0; t < worst.length; t++) {
      problems[t] += part.problems[t];
      if (part.peak[t] > peak[t]) peak[t] = part.peak[t];
      if (part.at[t] < 0) continue;
      const r = SEVERITY[worst[t]],
        rl = SEVERITY[part.worst[t]];
      if (at[t] < 0 || rl > r || (rl === r && part.atMeasure[t] > atMeasure[t])) {
        worst[t] = part.worst[t];
        at[t] = part.at[t];
        atMeasure[t] = part.atMeasure[t];
      }
    }
  }

  result(): Overview {
    return this.o;
  }
}
