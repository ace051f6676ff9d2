/**
 * Mutation fuzzer for the readers: seeds are the real PyTorch fixtures and the hostile corpus;
 * mutations flip bits, overwrite bytes with boundary integers, truncate, duplicate and splice.
 * Every input must either open and stream its tensors, or fail with a FormatError (the CLI's
 * exit 2). Anything else (TypeError, RangeError, an unbounded allocation) is a finding, written
 * to test/hostile/regressions/ so it stays in the corpus.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openDump } from '../../src/formats/open';
import { FormatError } from '../../src/core/errors';
import { float64Chunks, numelOf } from '../../src/formats/tensor';
import { REPO_ROOT } from './fixtures';

export interface FuzzResult {
  runs: number;
  findings: { file: string; error: string }[];
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else if (/\.(pt|safetensors|npy|npz)$/.test(e.name) && fs.statSync(p).size < 1 << 20) out.push(p);
  }
  return out;
}

/** Deterministic PRNG (xorshift32) so a failing run can be replayed from its seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

const BOUNDARY = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fffffff, 0xffffffff];

export function mutate(input: Buffer, r: () => number, other: Buffer): Buffer {
  const b = Buffer.from(input);
  const n = 1 + Math.floor(r() * 4);
  let out = b;
  for (let k = 0; k < n; k++) {
    const at = Math.floor(r() * Math.max(1, out.length));
    switch (Math.floor(r() * 6)) {
      case 0:
        if (out.length) out[at] ^= 1 << Math.floor(r() * 8);
        break;
      case 1:
        if (out.length >= 4 && at + 4 <= out.length) out.writeUInt32LE(BOUNDARY[Math.floor(r() * BOUNDARY.length)], at);
        break;
      case 2:
        out = out.subarray(0, at);
        break;
      case 3:
        if (out.length) out[at] = Math.floor(r() * 256);
        break;
      case 4: {
        const len = Math.floor(r() * 64);
        out = Buffer.concat([out.subarray(0, at), out.subarray(at, at + len), out.subarray(at)]);
        break;
      }
      case 5: {
        const from = Math.floor(r() * other.length);
        out = Buffer.concat([out.subarray(0, at), other.subarray(from, from + Math.floor(r() * 256))]);
        break;
      }
    }
  }
  return out;
}

/** Opens a mutated file and reads up to 1M elements of every tensor: the work the CLI's inspect --stats does. */
async function exercise(file: string): Promise<void> {
  const d = openDump(file);
  try {
    for (const t of d.tensors) {
      if (numelOf(t.shape) > 1 << 20) continue;
      for await (const c of float64Chunks(t, 1 << 16)) void c;
    }
  } finally {
    d.close();
  }
}

export async function fuzz(seconds: number, seed: number, roots: string[], findingsDir: string): Promise<FuzzResult> {
  const seeds = roots.flatMap(listFiles).map((f) => ({ name: path.basename(f), data: fs.readFileSync(f) }));
  const r = rng(seed);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-fuzz-'));
  const findings: FuzzResult['findings'] = [];
  const deadline = Date.now() + seconds * 1000;
  let runs = 0;
  try {
    while (Date.now() < deadline) {
      const s = seeds[Math.floor(r() * seeds.length)];
      const other = seeds[Math.floor(r() * seeds.length)].data;
      const data = mutate(s.data, r, other);
      const file = path.join(tmp, `m${runs}${path.extname(s.name)}`);
      fs.writeFileSync(file, data);
      try {
        await exercise(file);
      } catch (err) {
        if (!(err instanceof FormatError)) {
          const keep = path.join(findingsDir, `crash-${seed}-${runs}${path.extname(s.name)}`);
          fs.mkdirSync(findingsDir, { recursive: true });
          fs.writeFileSync(keep, data);
          findings.push({ file: keep, error: `${(err as Error).name}: ${(err as Error).message}` });
        }
      }
      fs.rmSync(file);
      runs++;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return { runs, findings };
}

if (require.main === module) {
  const root = REPO_ROOT;
  const seconds = Number(process.argv[2] ?? 300),
    seed = Number(process.argv[3] ?? Date.now() % 1e9);
  fuzz(
    seconds,
    seed,
    [path.join(root, 'test', 'fixtures'), path.join(root, 'test', 'hostile', 'corpus')],
    path.join(root, 'test', 'hostile', 'regressions'),
  ).then((res) => {
    process.stdout.write(
      `fuzz seed ${seed}: ${res.runs} inputs, ${res.findings.length} findings\n${res.findings.map((f) => `  ${f.file}: ${f.error}`).join('\n')}\n`,
    );
    process.exitCode = res.findings.length ? 1 : 0;
  });
}
