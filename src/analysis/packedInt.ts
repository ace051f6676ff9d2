/**
 * Integer weights packed into int32 words, as GPTQ, AWQ and compressed-tensors' pack-quantized
 * format store them (4 bits: eight codes per word; GPTQ also 8 bits: four). Each layout is found by
 * the names and shapes its tools write, unpacked in its own order, and checked: the shapes agree
 * with each other and with config.json, every group index is a group, every scale is finite and
 * positive, and the dequantized values are finite. The codes' range, saturation and the dequantized
 * range are reported.
 *
 *   gptq            qweight [in/p, out]    codes along `in`, nibble k = row 8r+k;   qzeros [G, out/p]; scales [G, out]; g_idx [in]
 *   awq             qweight [in, out/8]    codes along `out` in the order 0,2,4,6,1,3,5,7; qzeros [G, out/8]; scales [G, out]
 *   pack-quantized  weight_packed [out, in/p]  codes along `in`, stored as q + 2^(bits-1); weight_scale [out, G]; weight_shape [2]
 */
import { DumpFile } from '../formats/dump';
import { decodeToFloat64 } from '../formats/dtypes';
import { TensorRef, numelOf, readRawElements } from '../formats/tensor';
import { VerifyResult, codesResult } from './verify';
import { IntWeightScheme } from './quantConfig';
import { CancelledError, FormatError } from '../core/errors';

/** AutoAWQ's pack order: nibble k of a word holds column 8c + AWQ_ORDER[k]. */
const AWQ_ORDER = [0, 2, 4, 6, 1, 3, 5, 7];
/** Its inverse: the nibble that holds column 8c + j (looked up per code, so a table, not indexOf). */
const AWQ_NIBBLE = AWQ_ORDER.map((_, j) => AWQ_ORDER.indexOf(j));

export interface PackedIntLayout {
  format: 'gptq' | 'awq' | 'pack-quantized';
  packed: TensorRef;
  scales: TensorRef;
  zeros?: TensorRef;
  gIdx?: TensorRef;
  bits: number;
  /** The logical weight [out, in]. */
  out: number;
  in: number;
  groups: number;
  /** compressed-tensors' `weight_shape`: the unpadded [out, in]. */
  declaredShape?: TensorRef;
  /** Shape disagreements, found before any value is read. */
  problems: string[];
}

/** The names GPTQ/AWQ (`qweight`) and compressed-tensors (`weight_packed`) give their int32 code words. */
const PACKED_CODE_NAME = /^(.*?)(\.?)(qweight|weight_packed)$/;

/** Whether `t` is named and shaped as packed code words (its siblings decide the layout). */
export const isPackedCodeTensor = (t: TensorRef): boolean => t.dtype === 'int32' && t.shape.length === 2 && PACKED_CODE_NAME.test(t.name);

/** The packed layout `t` is the code tensor of, if its name and siblings say it is one. */
export function detectPackedInt(dump: DumpFile, t: TensorRef, scheme: IntWeightScheme | undefined): PackedIntLayout | undefined {
  if (!isPackedCodeTensor(t)) return undefined;
  const m = PACKED_CODE_NAME.exec(t.name)!;
  const sib = (key: string): TensorRef | undefined => dump.tensors.find((x) => x.name === `${m[1]}${m[2]}${key}`);
  const bits = scheme?.bits ?? 4;
  const per = 32 / bits;
  const problems: string[] = [];
  if (!Number.isInteger(per)) problems.push(`${bits}-bit codes do not pack into 32-bit words`);
  if (m[3] === 'weight_packed') {
    const scales = sib('weight_scale');
    if (!scales) return undefined;
    const shapeT = sib('weight_shape');
    const [out, groups] = scales.shape.length === 2 ? scales.shape : [scales.shape[0] ?? 1, 1];
    const inFromPacked = t.shape[1] * per;
    if (t.shape[0] !== out) problems.push(`${t.name} has ${t.shape[0]} rows but ${scales.name} has ${out}`);
    return {
      format: 'pack-quantized',
      packed: t,
      scales,
      zeros: sib('weight_zero_point'),
      declaredShape: shapeT,
      bits,
      out,
      in: inFromPacked,
      groups,
      problems,
    };
  }
  const scales = sib('scales');
  if (!scales || scales.shape.length !== 2) return undefined;
  const [groups, out] = scales.shape;
  const zeros = sib('qzeros');
  if (t.shape[1] === out) {
    const layout: PackedIntLayout = { format: 'gptq', packed: t, scales, zeros, gIdx: sib('g_idx'), bits, out, in: t.shape[0] * per, groups, problems };
    if (zeros && (zeros.shape[0] !== groups || zeros.shape[1] * per !== out))
      problems.push(`${zeros.name} [${zeros.shape}] does not match ${groups} groups × ${out} columns`);
    return layout;
  }
  if (t.shape[1] * 8 === out && bits === 4) {
    const layout: PackedIntLayout = { format: 'awq', packed: t, scales, zeros, bits, out, in: t.shape[0], groups, problems };
    if (zeros && (zeros.shape[0] !== groups || zeros.shape[1] * 8 !== out))
      problems.push(`${zeros.name} [${zeros.shape}] does not match ${groups} groups × ${out} columns`);
    return layout;
  }
  problems.push(`${t.name} [${t.shape}] matches neither GPTQ ([in/${per}, ${out}]) nor AWQ ([in, ${out / 8}]) packing of ${scales.name} [${scales.shape}]`);
  return { format: 'gptq', packed: t, scales, zeros, bits, out, in: t.shape[0] * per, groups, problems };
}

async function all32(t: TensorRef | undefined): Promise<Float64Array | undefined> {
  return t ? decodeToFloat64(t.dtype, await readRawElements(t, 0, numelOf(t.shape)), t.storage.littleEndian) : undefined;
}

/** A code as it sits in the [out, in] weight: its raw value, position, and dequantized value. */
type CodeVisitor = (code: number, row: number, col: number, dequantized: number) => void;

interface Unpacked {
  /** The layout with compressed-tensors' declared (unpadded) `in`. */
  layout: PackedIntLayout;
  reasons: string[];
  /** Visits every code in word order; absent when the shapes are too broken to place codes. */
  walk?: (visit: CodeVisitor, signal?: AbortSignal) => Promise<void>;
}

/** Checks the parts of a packed layout against each other and config.json, and binds how to walk its codes. */
async function unpack(layout: PackedIntLayout, scheme: IntWeightScheme | undefined): Promise<Unpacked> {
  // `fatal`: codes cannot be placed in the weight; the rest are findings about values that can still be walked.
  const fatal = [...layout.problems];
  const findings: string[] = [];
  const declared = await all32(layout.declaredShape);
  if (declared) {
    // Packing pads `in` to whole words; the declared shape is the truth, and must fit the words.
    if (declared.length !== 2 || declared[0] !== layout.out || declared[1] > layout.in || declared[1] <= layout.in - 32 / layout.bits)
      fatal.push(`${layout.declaredShape!.name} says [${[...declared]}] but ${layout.packed.name} holds [${layout.out}, ${layout.in}] codes`);
    else layout = { ...layout, in: declared[1] };
  }
  const { packed, bits, out, in: inDim, groups, format } = layout;
  const per = 32 / bits,
    mask = 2 ** bits - 1;
  const groupSize = inDim / groups;
  if (!Number.isInteger(groupSize)) fatal.push(`${inDim} input columns do not split into ${groups} groups`);
  if (scheme?.groupSize && scheme.groupSize > 0 && groups > 1 && scheme.groupSize !== groupSize)
    findings.push(`config.json says group size ${scheme.groupSize} but the scales give ${groupSize}`);
  const scaleValues = Float32Array.from((await all32(layout.scales))!);
  const badScales = scaleValues.filter((v) => !(v > 0 && Number.isFinite(v))).length;
  if (badScales) findings.push(`${badScales} of ${scaleValues.length} scales in ${layout.scales.name} are zero, negative or not finite`);
  const gIdx = await all32(layout.gIdx);
  if (gIdx) {
    if (gIdx.length !== inDim) fatal.push(`${layout.gIdx!.name} has ${gIdx.length} entries for ${inDim} input columns`);
    const badG = gIdx.filter((g) => !(Number.isInteger(g) && g >= 0 && g < groups)).length;
    if (badG) fatal.push(`${badG} entries of ${layout.gIdx!.name} name no group (there are ${groups})`);
  }
  const reasons = [...fatal, ...findings];
  if (fatal.length) return { layout, reasons };
  const zeroWords = layout.zeros && layout.zeros.dtype === 'int32' ? await all32(layout.zeros) : undefined;
  const zeroPlain = layout.zeros && layout.zeros.dtype !== 'int32' ? await all32(layout.zeros) : undefined;
  // pack-quantized stores signed codes as q + 2^(bits-1); GPTQ/AWQ codes are unsigned with a zero point.
  const offset = format === 'pack-quantized' ? 2 ** (bits - 1) : 0;
  /** Zero point of (group, output row): packed words (GPTQ, AWQ), plain values, or the symmetric midpoint. */
  const zeroOf = (g: number, row: number): number => {
    if (zeroWords && format !== 'pack-quantized') {
      const wpr = layout.zeros!.shape[1];
      const nib = format === 'awq' ? AWQ_NIBBLE[row % 8] : row % per;
      const word = zeroWords[g * wpr + Math.floor(row / per)] >>> 0;
      const z = Math.floor(word / 2 ** (bits * nib)) & mask;
      return format === 'gptq' && scheme?.zeroPointsMinusOne !== false ? z + 1 : z;
    }
    if (zeroPlain && zeroPlain.length === out * groups) return zeroPlain[row * groups + g] + offset;
    return format === 'pack-quantized' ? offset : 2 ** (bits - 1);
  };
  const scaleOf = (g: number, row: number): number => (format === 'pack-quantized' ? scaleValues[row * groups + g] : scaleValues[g * out + row]);
  const groupOf = (col: number): number => (gIdx ? gIdx[col] : Math.floor(col / groupSize));
  const emit = (visit: CodeVisitor, code: number, row: number, col: number): void => {
    const g = groupOf(col);
    visit(code, row, col, Math.fround((code - zeroOf(g, row)) * scaleOf(g, row)));
  };
  const walk = async (visit: CodeVisitor, signal?: AbortSignal): Promise<void> => {
    const words = numelOf(packed.shape);
    const wpr = packed.shape[1];
    const chunk = 1 << 18;
    for (let start = 0; start < words; start += chunk) {
      if (signal?.aborted) throw new CancelledError();
      const raw = await readRawElements(packed, start, Math.min(chunk, words - start));
      for (let k = 0; k * 4 < raw.length; k++) {
        const w = raw.readUInt32LE(k * 4);
        const r = Math.floor((start + k) / wpr),
          c = (start + k) % wpr;
        for (let nib = 0; nib < per; nib++) {
          const code = Math.floor(w / 2 ** (bits * nib)) & mask;
          // Where each packing puts nibble `nib` of word (r, c) in the [out, in] weight.
          if (format === 'gptq') emit(visit, code, c, r * per + nib);
          else if (format === 'awq') emit(visit, code, c * 8 + AWQ_ORDER[nib], r);
          else if (c * per + nib < inDim) emit(visit, code, r, c * per + nib);
        }
      }
    }
  };
  return { layout, reasons, walk };
}

export async function verifyPackedInt(layout: PackedIntLayout, scheme: IntWeightScheme | undefined, signal?: AbortSignal): Promise<VerifyResult> {
  const u = await unpack(layout, scheme);
  if (!u.walk) return finish(u.layout, u.reasons, undefined);
  const offset = u.layout.format === 'pack-quantized' ? 2 ** (u.layout.bits - 1) : 0;
  const histogram = new Array<number>(2 ** u.layout.bits).fill(0);
  const stats = { qmin: Infinity, qmax: -Infinity, dmin: Infinity, dmax: -Infinity, nan: 0 };
  await u.walk((code, _row, _col, d) => {
    histogram[code]++;
    const q = code - offset;
    if (q < stats.qmin) stats.qmin = q;
    if (q > stats.qmax) stats.qmax = q;
    if (!Number.isFinite(d)) stats.nan++;
    else {
      if (d < stats.dmin) stats.dmin = d;
      if (d > stats.dmax) stats.dmax = d;
    }
  }, signal);
  if (stats.nan) u.reasons.push(`${stats.nan} dequantized values are not finite`);
  return finish(u.layout, u.reasons, { histogram, ...stats });
}

/** The [out, in] weight the packed codes stand for, dequantized as the layout's own loader does (row-major FP32). */
export async function dequantizePacked(
  layout: PackedIntLayout,
  scheme: IntWeightScheme | undefined,
): Promise<{ shape: [number, number]; values: Float32Array }> {
  const u = await unpack(layout, scheme);
  if (!u.walk) throw new FormatError('invalid-tensor', u.reasons.join('; '), layout.packed.name);
  const values = new Float32Array(u.layout.out * u.layout.in);
  await u.walk((_code, row, col, d) => {
    values[row * u.layout.in + col] = d;
  });
  return { shape: [u.layout.out, u.layout.in], values };
}

function finish(
  layout: PackedIntLayout,
  reasons: string[],
  s: { histogram: number[]; qmin: number; qmax: number; dmin: number; dmax: number; nan: number } | undefined,
): VerifyResult {
  const lo = layout.format === 'pack-quantized' ? -(2 ** (layout.bits - 1)) : 0;
  const hi = lo + 2 ** layout.bits - 1;
  const h = s?.histogram ?? new Array<number>(2 ** layout.bits).fill(0);
  return codesResult(
    {
      name: layout.packed.name,
      dtype: layout.packed.dtype,
      n: layout.out * layout.in,
      scale_source: `file:${layout.scales.name}${layout.groups > 1 ? ` (groups of ${layout.in / layout.groups})` : ' (per row)'}`,
      int_min: s && Number.isFinite(s.qmin) ? s.qmin : null,
      int_max: s && Number.isFinite(s.qmax) ? s.qmax : null,
      saturated_pos: h[h.length - 1],
      saturated_neg: h[0],
      nan: s?.nan ?? 0,
      inf: 0,
      code_histogram: h,
      code_histogram_min: lo,
      scheme: 'packed_int',
      format: layout.format,
      bits: layout.bits,
      granularity: layout.groups > 1 ? 'group' : 'channel',
      block_size: [1, layout.in / layout.groups],
      dequant_min: s && Number.isFinite(s.dmin) ? s.dmin : null,
      dequant_max: s && Number.isFinite(s.dmax) ? s.dmax : null,
      packed_shape: layout.packed.shape,
      logical_shape: [layout.out, layout.in],
      code_range: [lo, hi],
    },
    reasons,
  );
}
