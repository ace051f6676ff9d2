/**
 * The tensor viewer's host side on a 1 GiB tensor (issue 15): how long until the first screen's pages
 * are answered, how long a jump to any place takes to fill a screen, how long the summary (statistics
 * and verification) takes, and the peak RSS of the process doing it, measured in a fresh Node process
 * that runs the same TensorSession the custom editor runs. Peer, in the same run: the plain numpy code
 * a user would write for one screen (memmap slice, r = x/s, q = rint(r), |r − q|, fl32(q·s) == x).
 * Not included: the webview's own paint (Chromium), which the UI test stamps but does not time here.
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { writeSafetensors } from '../src/formats/safetensorsWriter';

const PY = process.env.PYTHON ?? 'python3';
/** One screen of the viewer: a 720 × 360 px canvas of 4 px cells (a picture wider than the box scrolls sideways). */
const SCREEN_ROWS = 90,
  SCREEN_COLS = 180;
const SIDE = 16384; // 16384 × 16384 float32 = 1 GiB
const SCALE = 0.0121623231;

export interface ViewerBench {
  file_gib: number;
  elements: number;
  screen_elements: number;
  /** Elements in the pages (blocks) the last screen needed. */
  screen_page_elements: number;
  open_ms: number;
  first_screen_ms: number;
  jump_fill_ms_median: number;
  jump_fill_ms_max: number;
  jumps: number;
  summary_s: number;
  overview_s: number;
  numpy_overview_s: number;
  peak_rss_mb: number;
  numpy_screen_ms_median: number;
  note: string;
}

export function writeTensor(file: string): void {
  const n = SIDE * SIDE;
  const x = new Float32Array(n);
  const s = Math.fround(SCALE);
  let seed = 7;
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const q = (seed % 255) - 127;
    // Mostly on the grid; every 4099th element off it, so the viewer has problems to find.
    x[i] = i % 4099 === 0 ? Math.fround((q + 0.3) * s) : Math.fround(q * s);
  }
  writeSafetensors(file, [
    { name: 'weight', dtype: 'float32', shape: [SIDE, SIDE], data: x },
    { name: 'weight_scale', dtype: 'float32', shape: [], data: Float32Array.of(SCALE) },
  ]);
}

const CHILD = (session: string, file: string, jumps: number): string => `
const { TensorSession } = require(${JSON.stringify(session)});
const { BLOCK_ROWS, BLOCK_COLS } = require(${JSON.stringify(session.replace('tensorSession.js', 'protocol.js'))});
// VmHWM, not getrusage's maxrss: that one keeps the spawning parent's high-water mark across exec.
const hwm = () => Number(/VmHWM:\\s+(\\d+) kB/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
(async () => {
  const t0 = performance.now();
  const s = new TensorSession(${JSON.stringify(file)});
  const open_ms = performance.now() - t0;
  const n = s.tensor('weight').shape.reduce((a, b) => a * b, 1);
  // A screen is the pages that hold its cells, asked for together, as the heatmap does: a picture this
  // wide (over BLOCK_COLS) is paged in BLOCK_ROWS × BLOCK_COLS blocks, so a screen needs the blocks it overlaps.
  const cols = ${SIDE};
  let pageElements = 0;
  const fill = async (row, col) => {
    const t = performance.now();
    const asks = [];
    pageElements = 0;
    for (let br = Math.floor(row / BLOCK_ROWS); br <= Math.floor((row + ${SCREEN_ROWS} - 1) / BLOCK_ROWS); br++)
      for (let bc = Math.floor(col / BLOCK_COLS); bc <= Math.floor((col + ${SCREEN_COLS} - 1) / BLOCK_COLS); bc++) {
        const block = { row: br * BLOCK_ROWS, col: bc * BLOCK_COLS, rows: Math.min(BLOCK_ROWS, cols - br * BLOCK_ROWS), cols: Math.min(BLOCK_COLS, cols - bc * BLOCK_COLS), pictureCols: cols };
        pageElements += block.rows * block.cols;
        asks.push(s.page('weight', 0, 0, undefined, block));
      }
    await Promise.all(asks);
    return performance.now() - t;
  };
  const first_screen_ms = await fill(0, 0);
  let seed = 99;
  const times = [];
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (let k = 0; k < ${jumps}; k++) times.push(await fill(Math.floor(rnd() * (cols - ${SCREEN_ROWS})), Math.floor(rnd() * (cols - ${SCREEN_COLS}))));
  times.sort((a, b) => a - b);
  const t1 = performance.now();
  await s.summary('weight');
  const summary_s = (performance.now() - t1) / 1e3;
  const t2 = performance.now();
  await s.overview('weight', cols);
  const overview_s = (performance.now() - t2) / 1e3;
  s.dispose();
  console.log(JSON.stringify({ open_ms, first_screen_ms, screen_page_elements: pageElements, jump_fill_ms_median: times[times.length >> 1], jump_fill_ms_max: times[times.length - 1], jumps: times.length, summary_s, overview_s, peak_rss_mb: hwm() }));
})();
`;

const NUMPY_SCREEN = `
import json, sys, time, numpy as np
f, side, rows, cols, scale, jumps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), np.float32(float(sys.argv[5])), int(sys.argv[6])
hdr = int.from_bytes(open(f, 'rb').read(8), 'little')
meta = json.loads(open(f, 'rb').read(8 + hdr)[8:])
lo, hi = meta['weight']['data_offsets']
x = np.memmap(f, dtype=np.float32, mode='r', offset=8 + hdr + lo, shape=(side, side))
def classify(v):
    r = v / scale; q = np.rint(r); dev = np.abs(r - q); on = (q * scale).astype(np.float32) == v
    return np.where(~np.isfinite(v), 3, np.where(~on, 2, np.where(dev > 0, 1, 0))), dev
rng = np.random.default_rng(99)
ts = []
for r0, c0 in zip(rng.integers(0, side - rows, jumps), rng.integers(0, side - cols, jumps)):
    t = time.perf_counter()
    classify(np.array(x[r0:r0 + rows, c0:c0 + cols]))
    ts.append((time.perf_counter() - t) * 1e3)
# The whole-tensor overview as a user would write it: bands of tile rows, worst class and largest deviation per tile.
t = time.perf_counter()
rpt, cpt = -(-side // 120), -(-side // 48)
edges = np.arange(0, side, cpt)
for r0 in range(0, side, rpt):
    cls, dev = classify(np.array(x[r0:r0 + rpt]))
    worst = np.maximum.reduceat(cls.max(axis=0), edges); peak = np.maximum.reduceat(dev.max(axis=0), edges)
print(json.dumps({'median_ms': float(np.median(ts)), 'overview_s': time.perf_counter() - t}))
`;

export function benchViewer(dir: string): ViewerBench {
  const file = path.join(dir, 'viewer_1gib.safetensors');
  writeTensor(file);
  const jumps = 40;
  const session = path.join(__dirname, '..', 'src', 'view', 'tensorSession.js');
  const r = spawnSync(process.execPath, ['-e', CHILD(session, file, jumps)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`viewer bench: ${r.stderr}`);
  const host = JSON.parse(r.stdout);
  const np = spawnSync(PY, ['-c', NUMPY_SCREEN, file, String(SIDE), String(SCREEN_ROWS), String(SCREEN_COLS), String(SCALE), String(jumps)], {
    encoding: 'utf8',
  });
  if (np.status !== 0) throw new Error(`numpy peer: ${np.stderr}`);
  fs.rmSync(file, { force: true });
  return {
    file_gib: (SIDE * SIDE * 4) / 2 ** 30,
    elements: SIDE * SIDE,
    screen_elements: SCREEN_ROWS * SCREEN_COLS,
    ...host,
    numpy_screen_ms_median: JSON.parse(np.stdout).median_ms,
    numpy_overview_s: JSON.parse(np.stdout).overview_s,
    note: 'host side (the extension host process running TensorSession), file in the page cache; webview paint not included',
  };
}
