import { DumpFile } from '../formats/dump';
import { isContiguous } from '../formats/tensor';
import { tensorStats, TensorStats } from '../analysis/stats';
import { Quantization } from '../formats/tensor';

export interface InspectTensor {
  name: string; dtype: string; shape: number[]; strides: number[]; storage_offset: number; contiguous: boolean;
  quantization: null | Record<string, unknown>;
  stats?: TensorStats;
}

function quantJson(q: Quantization | null): null | Record<string, unknown> {
  if (!q) return null;
  // The contract's key set is fixed: per-tensor schemes carry axis: null.
  return 'scale' in q ? { scheme: q.scheme, scale: q.scale, zero_point: q.zero_point, axis: null } : { scheme: q.scheme, scales: q.scales, zero_points: q.zero_points, axis: q.axis };
}

/** The `inspect --json` document (the contract in the README). */
export async function inspectJson(dump: DumpFile, withStats: boolean): Promise<Record<string, unknown>> {
  const tensors: InspectTensor[] = [];
  for (const t of dump.tensors) {
    const entry: InspectTensor = {
      name: t.name, dtype: t.dtype, shape: t.shape, strides: t.strides, storage_offset: t.storageOffset, contiguous: isContiguous(t),
      quantization: quantJson(t.quantization),
    };
    if (withStats) entry.stats = await tensorStats(t);
    tensors.push(entry);
  }
  return { file: dump.path, format: dump.format, metadata: dump.metadata, tensors, objects: dump.objects };
}
