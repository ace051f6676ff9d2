/** The rounding fingerprint of two dumps: PRE (FP32 before quantization) and POST (codes or on-grid values). */
import { openDump } from '../formats/open';
import { DumpFile } from '../formats/dump';
import { TensorRef, numelOf } from '../formats/tensor';
import { isIntegerDType } from '../formats/dtypes';
import { FormatError } from '../core/errors';
import { readLayerFloat32 } from './layers/params';
import { discoverScale } from './scale';
import { RoundingReport, fingerprintRounding } from './rounding';

export interface RoundingFilesOptions {
  scale?: number;
  preTensor?: string;
  postTensor?: string;
  qmin?: number;
  qmax?: number;
}

/** The named tensor, else the file's root tensor, else its only tensor. */
function pickTensor(d: DumpFile, name: string | undefined, flag: string): TensorRef {
  if (name !== undefined) {
    const t = d.tensors.find((x) => x.name === name);
    if (!t)
      throw new FormatError(
        'tensor-not-found',
        `no tensor named ${JSON.stringify(name)} (have ${d.tensors.map((x) => JSON.stringify(x.name)).join(', ')})`,
        d.path,
      );
    return t;
  }
  const t = d.tensors.find((x) => x.name === '') ?? (d.tensors.length === 1 ? d.tensors[0] : undefined);
  if (!t)
    throw new FormatError(
      'tensor-not-found',
      `${d.tensors.length} tensors: name one with ${flag} (${d.tensors.map((x) => JSON.stringify(x.name)).join(', ')})`,
      d.path,
    );
  return t;
}

export interface RoundingFilesReport extends RoundingReport {
  pre: string;
  post: string;
  pre_tensor: string;
  post_tensor: string;
  scale_source: string;
}

export async function fingerprintRoundingFiles(preFile: string, postFile: string, opts: RoundingFilesOptions = {}): Promise<RoundingFilesReport> {
  const pre = openDump(preFile);
  const post = openDump(postFile);
  try {
    const pt = pickTensor(pre, opts.preTensor, '--pre-tensor');
    const qt = pickTensor(post, opts.postTensor, '--post-tensor');
    if (isIntegerDType(pt.dtype)) throw new FormatError('invalid-argument', `PRE must hold the FP32 values before quantization, got ${pt.dtype}`, preFile);
    const scale =
      opts.scale !== undefined
        ? { kind: 'per_tensor' as const, scale: opts.scale, zeroPoint: 0, source: 'cli' }
        : ((await discoverScale(postFile, post, qt, { infer: false })) ?? (await discoverScale(preFile, pre, pt, { infer: false })));
    if (!scale || scale.kind !== 'per_tensor')
      throw new FormatError('scale-not-found', 'no per-tensor scale found beside POST or PRE: pass --scale S', postFile);
    if (numelOf(pt.shape) !== numelOf(qt.shape)) {
      throw new FormatError(
        'invalid-argument',
        `PRE ${JSON.stringify(pt.name)} has ${numelOf(pt.shape)} elements, POST ${JSON.stringify(qt.name)} ${numelOf(qt.shape)}`,
        postFile,
      );
    }
    const report = fingerprintRounding({
      pre: await readLayerFloat32(pt),
      post: await readLayerFloat32(qt),
      postIsCodes: isIntegerDType(qt.dtype),
      scale: scale.scale,
      zeroPoint: scale.zeroPoint,
      qmin: opts.qmin,
      qmax: opts.qmax,
    });
    return { pre: preFile, post: postFile, pre_tensor: pt.name, post_tensor: qt.name, scale_source: scale.source, ...report };
  } finally {
    pre.close();
    post.close();
  }
}
