import { openDump } from '../formats/open';
import { numelOf } from '../formats/tensor';
import { discoverScale } from './scale';
import { verifyTensor, VerifyResult, VerifyOptions } from './verify';
import { FormatError } from '../core/errors';
import { DType } from '../formats/dtypes';

/** Tensors that live on an 8-bit grid: floats (checked against a scale) and 8-bit codes. */
const GRID_DTYPES: DType[] = ['float32', 'float16', 'bfloat16', 'float64', 'int8', 'uint8', 'qint8', 'quint8'];

export interface VerifyFileOptions extends VerifyOptions {
  tensor?: string;
  scale?: number;
  /** Progress over the file's elements: (verified so far, total, tensor being verified). */
  onProgress?: (done: number, total: number, tensor: string) => void;
}
export interface VerifyReport {
  file: string;
  results: VerifyResult[];
  skipped: { name: string; reason: string }[];
}

/**
 * Verifies the grid tensors of one file. Without --tensor, int32/int64 tensors (biases, indices),
 * 0-d tensors and scale tensors are skipped and listed; a named tensor is always verified.
 */
export async function verifyFile(file: string, opts: VerifyFileOptions = {}): Promise<VerifyReport> {
  const dump = openDump(file);
  try {
    const results: VerifyResult[] = [];
    const skipped: { name: string; reason: string }[] = [];
    let targets = dump.tensors;
    if (opts.tensor !== undefined) {
      targets = dump.tensors.filter((t) => t.name === opts.tensor);
      if (!targets.length)
        throw new FormatError(
          'tensor-not-found',
          `no tensor named ${JSON.stringify(opts.tensor)} (have ${dump.tensors.map((t) => JSON.stringify(t.name)).join(', ')})`,
          file,
        );
    }
    const total = targets.reduce((n, t) => n + numelOf(t.shape), 0);
    let done = 0;
    for (const t of targets) {
      if (opts.tensor === undefined) {
        if (!GRID_DTYPES.includes(t.dtype)) {
          skipped.push({ name: t.name, reason: `${t.dtype} is not an 8-bit grid type` });
          continue;
        }
        if (t.shape.length === 0 || numelOf(t.shape) === 0) {
          skipped.push({ name: t.name, reason: 'scalar or empty' });
          continue;
        }
        if (/scale|zero_point/i.test(t.name)) {
          skipped.push({ name: t.name, reason: 'quantization parameter' });
          continue;
        }
      }
      const scale = await discoverScale(file, dump, t, { explicit: opts.scale });
      const onElements = (count: number): void => {
        done += count;
        opts.onProgress?.(done, total, t.name || '<root>');
      };
      results.push(await verifyTensor(t, scale, { ...opts, onElements }));
    }
    return { file, results, skipped };
  } finally {
    dump.close();
  }
}
