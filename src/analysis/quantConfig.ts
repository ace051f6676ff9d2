/**
 * The `quantization_config` a Hugging Face model ships in its `config.json`, beside the weights:
 * it names the scheme (gptq, awq, compressed-tensors, fp8, bitsandbytes), the bits, the group or
 * block size and the symmetry. Read where present; the tensors' own shapes are checked against it.
 */
import * as fs from 'fs';
import * as path from 'path';

export type QuantizationConfig = Record<string, unknown>;

/** The `quantization_config` of the config.json in `file`'s folder (or of `file` if it is a folder); null if none. */
export function quantizationConfigFor(file: string): QuantizationConfig | null {
  let dir = file;
  try {
    if (!fs.statSync(file).isDirectory()) dir = path.dirname(file);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    const q = config?.quantization_config;
    return q && typeof q === 'object' && !Array.isArray(q) ? (q as QuantizationConfig) : null;
  } catch {
    return null; // no config.json, or not JSON: the tensors speak for themselves
  }
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** What a config says about packed integer weights: bits, group size, symmetry, and GPTQ's zero-point convention. */
export interface IntWeightScheme {
  method: string;
  bits?: number;
  groupSize?: number;
  symmetric?: boolean;
  /** GPTQ checkpoints before `gptq_v2` store zero points minus one. */
  zeroPointsMinusOne?: boolean;
}

export function intWeightScheme(q: QuantizationConfig | null): IntWeightScheme | undefined {
  if (!q) return undefined;
  const method = String(q.quant_method ?? '');
  if (method === 'gptq') {
    return {
      method,
      bits: num(q.bits),
      groupSize: num(q.group_size),
      symmetric: typeof q.sym === 'boolean' ? q.sym : undefined,
      zeroPointsMinusOne: q.checkpoint_format !== 'gptq_v2',
    };
  }
  if (method === 'awq') return { method, bits: num(q.bits ?? q.w_bit), groupSize: num(q.group_size ?? q.q_group_size), symmetric: q.zero_point === false };
  if (method === 'compressed-tensors') {
    const groups = (q.config_groups ?? {}) as Record<string, { weights?: Record<string, unknown> }>;
    const w = Object.values(groups).find((g) => g?.weights)?.weights;
    if (!w) return { method };
    return { method, bits: num(w.num_bits), groupSize: num(w.group_size), symmetric: typeof w.symmetric === 'boolean' ? w.symmetric : undefined };
  }
  return undefined;
}

/** FP8 block size (`weight_block_size`, DeepSeek-style checkpoints), where the config gives one. */
export function fp8BlockSize(q: QuantizationConfig | null): [number, number] | undefined {
  const b = q?.weight_block_size;
  return Array.isArray(b) && b.length === 2 && b.every((x) => Number.isInteger(x) && x > 0) ? [b[0], b[1]] : undefined;
}
