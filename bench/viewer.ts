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
/** One screen of the viewer: 360 rows of 1 px cells, 512 per row. */
const SCREEN = 360 * 512;
const SIDE = 16384; // 16384 × 16384 float32 = 1 GiB
const SCALE = 0.0121623231;

export interface ViewerBench {
  file_gib: number;
  elements: number;
  screen_elements: number;
  open_ms: number;
  first_screen_ms: number;
  jump_fill_ms_median: number;
  jump_fill_ms_max: number;
  jumps: number;
  summary_s: number;
  peak_rss_mb: number;
  numpy_screen_ms_median: number;
  note: string;
}

function writeTensor(file: string): void {
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

const CHILD = (session: string, file: string, screen: number, jumps: number): string => `
const { TensorSession } = require(${JSON.stringify(session)});
const { MAX_PAGE } = require(${JSON.stringify(session.replace('tensorSession.js', 'protocol.js'))});
// VmHWM, not getrusage's maxrss: that one keeps the spawning parent's high-water mark across exec.
const hwm = () => Number(/VmHWM:\\s+(\\d+) kB/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
(async () => {
  const t0 = performance.now();
  const s = new TensorSession(${JSON.stringify(file)});
  const open_ms = performance.now() - t0;
  const n = s.tensor('weight').shape.reduce((a, b) => a * b, 1);
  // A screen is the pages that cover it, asked for together, as the heatmap does.
  const fill = async (start) => {
    const t = performance.now();
    const first = Math.floor(start / MAX_PAGE) * MAX_PAGE;
    const asks = [];
    for (let p = first; p < Math.min(n, start + ${screen}); p += MAX_PAGE) asks.push(s.page('weight', p, MAX_PAGE));
    await Promise.all(asks);
    return performance.now() - t;
  };
  const first_screen_ms = await fill(0);
  let seed = 99;
  const times = [];
  for (let k = 0; k < ${jumps}; k++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    times.push(await fill(Math.floor((seed / 2 ** 32) * (n - ${screen}))));
  }
  times.sort((a, b) => a - b);
  const t1 = performance.now();
  await s.summary('weight');
  const summary_s = (performance.now() - t1) / 1e3;
  s.dispose();
  console.log(JSON.stringify({ open_ms, first_screen_ms, jump_fill_ms_median: times[times.length >> 1], jump_fill_ms_max: times[times.length - 1], jumps: times.length, summary_s, peak_rss_mb: hwm() }));
})();
`;

const NUMPY_SCREEN = `
import json, sys, time, numpy as np
f, n, screen, scale, jumps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), np.float32(float(sys.argv[4])), int(sys.argv[5])
hdr = int.from_bytes(open(f, 'rb').read(8), 'little')
meta = json.loads(open(f, 'rb').read(8 + hdr)[8:])
lo, hi = meta['weight']['data_offsets']
x = np.memmap(f, dtype=np.float32, mode='r', offset=8 + hdr + lo, shape=(n,))
rng = np.random.default_rng(99)
ts = []
for start in rng.integers(0, n - screen, jumps):
    t = time.perf_counter()
    v = np.array(x[start:start + screen])
    r = v / scale; q = np.rint(r); dev = np.abs(r - q); exact = (q * scale).astype(np.float32) == v
    ts.append((time.perf_counter() - t) * 1e3)
print(json.dumps({'median_ms': float(np.median(ts))}))
`;

export function benchViewer(dir: string): ViewerBench {
  const file = path.join(dir, 'viewer_1gib.safetensors');
  writeTensor(file);
  const jumps = 40;
  const session = path.join(__dirname, '..', 'src', 'view', 'tensorSession.js');
  const r = spawnSync(process.execPath, ['-e', CHILD(session, file, SCREEN, jumps)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`viewer bench: ${r.stderr}`);
  const host = JSON.parse(r.stdout);
  const np = spawnSync(PY, ['-c', NUMPY_SCREEN, file, String(SIDE * SIDE), String(SCREEN), String(SCALE), String(jumps)], { encoding: 'utf8' });
  if (np.status !== 0) throw new Error(`numpy peer: ${np.stderr}`);
  fs.rmSync(file, { force: true });
  return {
    file_gib: (SIDE * SIDE * 4) / 2 ** 30,
    elements: SIDE * SIDE,
    screen_elements: SCREEN,
    ...host,
    numpy_screen_ms_median: JSON.parse(np.stdout).median_ms,
    note: 'host side (the extension host process running TensorSession), file in the page cache; webview paint not included',
  };
}
