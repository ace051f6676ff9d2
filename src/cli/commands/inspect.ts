import { DumpFile, ObjectEntry, formatObjectValue } from '../../formats/dump';
import { isContiguous } from '../../formats/tensor';
import { tensorStats, TensorStats } from '../../analysis/stats';
import { Quantization } from '../../formats/tensor';
import { openDump } from '../../formats/open';
import { CommandSpec } from '../options';

export interface InspectTensor {
  name: string;
  dtype: string;
  shape: number[];
  strides: number[];
  storage_offset: number;
  contiguous: boolean;
  quantization: null | Record<string, unknown>;
  stats?: TensorStats;
}

function quantJson(q: Quantization | null): null | Record<string, unknown> {
  if (!q) return null;
  // The contract's key set is fixed: per-tensor schemes carry axis: null.
  return 'scale' in q
    ? { scheme: q.scheme, scale: q.scale, zero_point: q.zero_point, axis: null }
    : { scheme: q.scheme, scales: q.scales, zero_points: q.zero_points, axis: q.axis };
}

/** The `inspect --json` document (the contract in the README). */
export async function inspectJson(dump: DumpFile, withStats: boolean): Promise<Record<string, unknown>> {
  const tensors: InspectTensor[] = [];
  for (const t of dump.tensors) {
    const entry: InspectTensor = {
      name: t.name,
      dtype: t.dtype,
      shape: t.shape,
      strides: t.strides,
      storage_offset: t.storageOffset,
      contiguous: isContiguous(t),
      quantization: quantJson(t.quantization),
    };
    if (withStats) entry.stats = await tensorStats(t);
    tensors.push(entry);
  }
  return { file: dump.path, format: dump.format, metadata: dump.metadata, tensors, objects: dump.objects };
}

function formatInspect(doc: Record<string, unknown>): string {
  const lines = [`${doc.file}  (${doc.format})`];
  for (const t of doc.tensors as InspectTensor[]) {
    let line = `  ${t.name || '<root>'}  ${t.dtype}[${t.shape.join(', ')}]`;
    if (t.quantization) line += `  ${JSON.stringify(t.quantization)}`;
    if (t.stats) line += `  min=${t.stats.min} max=${t.stats.max} mean=${t.stats.mean}`;
    lines.push(line);
  }
  for (const o of doc.objects as ObjectEntry[]) {
    lines.push(`  ${o.name || '<root>'} = ${formatObjectValue(o)}`);
  }
  return `${lines.join('\n')}\n`;
}

export const inspectCommand: CommandSpec = {
  name: 'inspect',
  synopsis: 'FILE',
  summary: 'list the tensors (name, dtype, shape, strides, quantization) and other objects of a dump',
  positionals: [1, 1],
  options: [{ name: 'stats', type: 'boolean', help: 'also read the data: min, max, mean, std, absmax, sum, NaN, Inf' }],
  async run(args, io) {
    const dump = openDump(args.positionals[0]);
    try {
      const doc = await inspectJson(dump, args.flag('stats'));
      io.stdout(args.flag('json') ? `${JSON.stringify(doc, null, 1)}\n` : formatInspect(doc));
      return 0;
    } finally {
      dump.close();
    }
  },
};
