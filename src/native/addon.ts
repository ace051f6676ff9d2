import * as fs from 'fs';
import * as path from 'path';

export interface VerifierOptions {
  /** Float64Array: copied in one step (a weight may have a scale per row). */
  scales: number[] | Float64Array; zeroPoints?: number[] | Float64Array; inner?: number; qmin?: number; qmax?: number; tolerance?: number;
  worst?: number; codes?: boolean; threads?: number; device?: 'cpu' | 'cuda';
  /** The dtype grid values are stored in: membership is x == dtype(fl32(q·s)). */
  storage?: 'float32' | 'bfloat16' | 'float16';
}
export interface NativeWorst { index: number; value: number; q: number; deviation: number; class: 'exact' | 'fp32_artifact' | 'off_grid' | 'non_finite' }
export interface NativeGridResult {
  n: number; nan: number; inf: number; int_min: number | null; int_max: number | null; int_mean: number | null; int_std: number | null;
  out_of_range: number; saturated_pos: number; saturated_neg: number; max_deviation: number; offgrid_tolerance: number;
  fp32_artifacts: number; true_offgrid: number; max_reconstruction_error: number; deviation_histogram: number[];
  code_histogram: number[]; worst: NativeWorst[]; device: 'cpu' | 'cuda';
}
export interface NativeVerifier {
  push(values: Float32Array, start: number): Promise<void>;
  /** Verifies `count` little-endian FP32 elements at `byteOffset` of the open file `fd`, read by the kernel's own threads. */
  pushFile(fd: number, byteOffset: number, count: number, start: number): Promise<void>;
  result(): NativeGridResult;
}

export interface DifferOptions { scaleA?: number; scaleB?: number; codesA?: boolean; codesB?: boolean; top?: number; threads?: number }
export interface NativeDiffResult {
  n: number; max_abs_diff: number; mean_abs_diff: number | null; exact_match_pct: number | null; nan_mismatch: number;
  sqnr_db: number | null; cosine: number | null; max_abs_int: number | null; mean_abs_int: number | null; exact_pct: number | null;
  int_diff_histogram: number[] | null; largest: { index: number; a: number; b: number; abs_diff: number }[];
}
export interface NativeDiffer { push(a: Float32Array, b: Float32Array, start: number): Promise<void>; result(): NativeDiffResult }

export interface Conv1dOptions {
  mode: 'baseline' | 'mode1' | 'mode2'; x: Float32Array; weight: Int8Array; bias: Int32Array;
  batch: number; channels: number; length: number; kernel: number;
  inputScale: number; weightScale: number; biasScale: number; outputScale: number; threads?: number; device?: 'cpu' | 'cuda';
}
export interface Conv1dResult { device: 'cpu' | 'cuda'; input: Int8Array | Float32Array; output_xproj: Int8Array | Float32Array; ssm_input: Int8Array | Float32Array }

/** One combination of the switches between the modes (native/src/recipe.hpp); roundings are indices into ROUNDING_MODES. */
export interface Conv1dRecipe {
  earlyScales: boolean; fp32Accumulate: boolean; biasEpilogue: boolean; inputRounding: number; outputRounding: number; ssmUnquantized: boolean;
}
export interface Conv1dRecipesOptions extends Omit<Conv1dOptions, 'mode' | 'device'> { recipes: Conv1dRecipe[]; reference?: boolean }
export interface Conv1dRecipesResult { results: { codes: Int8Array; ssm: Float32Array }[]; reference?: Float32Array }

export interface LinearOptions {
  mode: 'baseline' | 'mode1' | 'mode2'; x: Float32Array; weight: Int8Array; bias?: Int32Array; rows: number; inFeatures: number; outFeatures: number;
  inputScale: number; weightScales: number[]; threads?: number; device?: 'cpu' | 'cuda';
  /** Attribution: one combination of the switches between the modes (CPU); `mode` is then ignored. */
  recipe?: { earlyScales: boolean; fp32Accumulate: boolean; biasEpilogue: boolean; inputRounding: number };
}
export interface ScanOptions {
  u: Float32Array; delta: Float32Array; A: Float32Array; B: Float32Array; C: Float32Array; D?: Float32Array; z?: Float32Array; deltaBias?: Float32Array;
  channels: number; length: number; state: number; softplus?: boolean; threads?: number; device?: 'cpu' | 'cuda';
}

export interface QuantLensNative {
  linear(o: LinearOptions): Promise<Float32Array>;
  scan(o: ScanOptions): Promise<Float32Array>;
  Verifier: new (o: VerifierOptions) => NativeVerifier;
  Differ: new (o: DifferOptions) => NativeDiffer;
  conv1d(o: Conv1dOptions): Promise<Conv1dResult>;
  /** Every recipe of a conv1d on the CPU, and the FP32 reference if asked (attribution). */
  conv1dRecipes(o: Conv1dRecipesOptions): Promise<Conv1dRecipesResult>;
  cudaAvailable(): boolean;
  cudaCompiled: boolean;
  cudaDeviceName(): string;
  hardwareThreads: number;
  /** Statistics of `count` FP32 values at `byteOffset` of an open file, read by the addon's threads (native/src/stats.hpp). */
  stats(fd: number, byteOffset: number, count: number, threads?: number): Promise<NativeStats>;
  /** The viewer's overview tiles of `count` FP32 values at `byteOffset` of an open file, positions start.. (native/src/overview.hpp). */
  overview(fd: number, byteOffset: number, count: number, start: number, options: NativeOverviewOptions): Promise<NativeTiles>;
  /** Synchronous, for samples: how many values are exactly fl32(q·scale), q = rint(fl32(x/scale)) in [-(qmax+1), qmax+1], on how many distinct q. */
  gridFit(values: Float32Array, scale: number, qmax: number): { members: number; distinctCodes: number };
  /** Synchronous: the largest finite |x| (0 when none) and the smallest nonzero finite |x| (Infinity when none). */
  absRange(values: Float32Array): { absMax: number; minNonzero: number };
}

export interface NativeOverviewOptions {
  scales: Float64Array;
  zeroPoints: Float64Array;
  inner: number;
  qmin: number;
  qmax: number;
  cols: number;
  rowsPerTile: number;
  colsPerTile: number;
  tileCols: number;
  tiles: number;
  threads?: number;
}

/** Per tile: the worst element's class (index into ELEMENT_CLASSES, 255 for none), the largest finite measure, the worst element's position (-1: none) and measure, the problems. */
export interface NativeTiles {
  worst: Uint8Array;
  peak: Float32Array;
  at: Float64Array;
  atMeasure: Float32Array;
  problems: Uint32Array;
}

/** Finite values only in every figure but the counts; m2 is the sum of squared deviations from the mean. */
export interface NativeStats {
  n: number;
  nan: number;
  inf: number;
  sum: number;
  mean: number;
  m2: number;
  min: number | null;
  max: number | null;
}

let cached: QuantLensNative | undefined;

/** Where the addon may sit relative to this module: bundled (dist/), compiled (out/src/native/) or packaged. */
function candidates(): string[] {
  const rel = path.join('native', 'build', 'Release', 'quant_lens_native.node');
  const out: string[] = [];
  if (process.env.QUANT_LENS_ADDON) out.push(process.env.QUANT_LENS_ADDON);
  let dir = __dirname;
  for (let i = 0; i < 5; i++) { out.push(path.join(dir, rel)); dir = path.dirname(dir); }
  return out;
}

/** Loads the native addon once; a missing build is a clear error naming the build command. */
export function loadNative(): QuantLensNative {
  if (cached) return cached;
  for (const c of candidates()) {
    if (fs.existsSync(c)) {
      // A native addon is loaded by path at run time: only require() can do that.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      cached = require(c) as QuantLensNative;
      return cached;
    }
  }
  throw new Error(`the native addon is not built (looked for ${candidates()[0]} and parents); run: npm run build:native`);
}

export type DeviceChoice = 'auto' | 'cpu' | 'cuda';

/** Resolves `auto` to CUDA when a device is present; an explicit `cuda` without one is an error from the addon. */
export function resolveDevice(choice: DeviceChoice | undefined): 'cpu' | 'cuda' {
  if (choice === 'cuda') return 'cuda';
  if (choice === 'cpu') return 'cpu';
  return loadNative().cudaAvailable() ? 'cuda' : 'cpu';
}
