/**
 * Builds a tensor's overview (protocol.Overview): elements arrive in chunks of consecutive positions
 * and each tile keeps its worst element. Pure; the session feeds it.
 */
import { Overview, NO_CLASS, OVERVIEW_TILES } from './protocol';
import { CLASS_INDEX } from './elementGrid';

/** How bad a class is in a tile: NaN/Inf over off-grid over FP32 artifacts over exact values, plain codes and values on no grid (NO_CLASS). */
const SEVERITY = new Uint8Array(256);
SEVERITY[CLASS_INDEX.fp32_artifact] = 1;
SEVERITY[CLASS_INDEX.off_grid] = 2;
SEVERITY[CLASS_INDEX.non_finite] = 3;

export class OverviewBuilder {
  private readonly o: Overview;
  private readonly atMeasure: Float32Array;

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
    for (let k = 0; k < count;) {
      const pos = start + k,
        row = Math.floor(pos / o.cols);
      let col = pos - row * o.cols;
      const rowBase = Math.floor(row / o.rowsPerTile) * o.tileCols;
      const end = Math.min(count, k + (o.cols - col));
      for (; k < end; k++, col++) {
        const t = rowBase + Math.floor(col / o.colsPerTile);
        const c = cls ? cls[k] : NO_CLASS;
        const finite = c !== CLASS_INDEX.non_finite;
        const m = finite ? measure[k] : Infinity;
        if (finite && m > peak[t]) peak[t] = m;
        if (c === CLASS_INDEX.off_grid || !finite) problems[t]++;
        const rank = SEVERITY[c],
          prev = SEVERITY[worst[t]];
        if (at[t] < 0 || rank > prev || (rank === prev && m > atMeasure[t])) {
          worst[t] = c;
          at[t] = start + k;
          atMeasure[t] = m;
        }
      }
    }
  }

  result(): Overview {
    return this.o;
  }
}
