import { openDump } from '../../formats/open';
import { numelOf, readRawElements } from '../../formats/tensor';
import { decodeToFloat32 } from '../../formats/dtypes';
import { explainValue } from '../../analysis/explain';
import { discoverScale } from '../../analysis/scale';
import { UsageError, FormatError } from '../../core/errors';
import { CommandSpec, ParsedCommand } from '../options';
import { formatExplain } from '../format';

/** The value to explain and its scale: given on the command line, or one element of a dumped tensor. */
async function valueAndScale(args: ParsedCommand): Promise<{ value: number; scale: number; extra: Record<string, unknown> }> {
  const arg = args.positionals[0];
  const given = args.number('scale');
  const asNumber = Number(arg);
  if (arg.trim() !== '' && Number.isFinite(asNumber) && args.string('tensor') === undefined) {
    if (given === undefined) throw new UsageError('explain VALUE needs --scale S');
    return { value: asNumber, scale: given, extra: { scale_source: 'cli' } };
  }
  const name = args.string('tensor') ?? '';
  const index = args.number('index');
  if (index === undefined) throw new UsageError('explain FILE needs --index I (a flat element index)');
  const dump = openDump(arg);
  try {
    const t = dump.tensors.find((x) => x.name === name);
    if (!t)
      throw new FormatError(
        'tensor-not-found',
        `no tensor named ${JSON.stringify(name)} (have ${dump.tensors.map((x) => JSON.stringify(x.name)).join(', ')})`,
        arg,
      );
    if (index >= numelOf(t.shape)) throw new UsageError(`index ${index} is outside tensor ${JSON.stringify(name)} of ${numelOf(t.shape)} elements`);
    const value = decodeToFloat32(t.dtype, await readRawElements(t, index, 1), t.storage.littleEndian)[0];
    const info = await discoverScale(arg, dump, t, { explicit: given });
    if (!info || info.kind !== 'per_tensor')
      throw new FormatError('scale-not-found', `no per-tensor scale found for ${JSON.stringify(name)}: pass --scale`, arg);
    return { value, scale: info.scale, extra: { file: arg, tensor: name, index, scale_source: info.source } };
  } finally {
    dump.close();
  }
}

export const explainCommand: CommandSpec = {
  name: 'explain',
  synopsis: 'VALUE|FILE',
  summary: 'the FP32 arithmetic of one element, step by step: explain VALUE --scale S, or explain FILE --tensor NAME --index I',
  positionals: [1, 1],
  options: [
    { name: 'scale', type: 'string', value: 'S', check: 'positive', help: 'the scale (needed for VALUE; for FILE it overrides the discovered one)' },
    { name: 'tensor', type: 'string', value: 'NAME', help: 'the tensor of FILE ("" for a file that holds one bare tensor)' },
    { name: 'index', type: 'string', value: 'I', check: 'count', help: 'the flat element index in the tensor' },
  ],
  async run(args, io) {
    const { value, scale, extra } = await valueAndScale(args);
    const e = { ...extra, ...explainValue(value, scale) };
    io.stdout(args.flag('json') ? `${JSON.stringify(e, null, 1)}\n` : formatExplain(e));
    return 0;
  },
};
