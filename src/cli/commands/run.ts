import { layerRunner, LAYER_NAMES, MODES, EvalMode } from '../../analysis/layers';
import { writeSafetensors } from '../../formats/safetensorsWriter';
import { resolveDevice, DeviceChoice } from '../../native/addon';
import { UsageError } from '../../core/errors';
import { CommandSpec, OptionSpec } from '../options';
import { ROUNDING_MODES, RoundingMode } from '../../analysis/rounding';
import { DEVICE_OPTION, THREADS_OPTION } from './verify';

/** The files of a layer evaluation: which layer, its parameters, its input and the scan's operands (run, attribute). */
export const LAYER_FILE_OPTIONS: readonly OptionSpec[] = [
  { name: 'layer', type: 'string', choices: LAYER_NAMES, help: 'the layer (default conv1d)' },
  { name: 'params', type: 'string', value: 'FILE', help: "the layer's parameters: int8 weight, int32 bias, scales (required)" },
  { name: 'input', type: 'string', value: 'FILE', help: "the layer's input (required)" },
  { name: 'aux', type: 'string', value: 'FILE', help: 'scan: delta, B, C, z (else taken from the params file)' },
];

export const runCommand: CommandSpec = {
  name: 'run',
  synopsis: '',
  summary: 'recompute a layer in one evaluation mode (Baseline INT8, Mode 1, Mode 2)',
  positionals: [0, 0],
  options: [
    { name: 'mode', type: 'string', choices: MODES, help: 'the evaluation mode (required)' },
    ...LAYER_FILE_OPTIONS,
    {
      name: 'rounding',
      type: 'string',
      choices: ROUNDING_MODES,
      help: "Baseline's rounding of its quantization steps (conv1d; default half_even, on the CPU otherwise)",
    },
    DEVICE_OPTION,
    THREADS_OPTION,
    { name: 'out', type: 'string', value: 'FILE.safetensors', help: 'write the outputs, the input as the mode saw it, and the scales' },
  ],
  async run(args, io) {
    const mode = args.string('mode') as EvalMode | undefined;
    if (!mode) throw new UsageError('run needs --mode baseline|mode1|mode2');
    const params = args.string('params');
    const input = args.string('input');
    if (!params || !input) throw new UsageError('run needs --params FILE and --input FILE');
    const outFile = args.string('out');
    if (outFile && !/\.safetensors$/i.test(outFile)) throw new UsageError('--out must name a .safetensors file');
    const runner = layerRunner(args.string('layer') ?? 'conv1d');
    const rounding = args.string('rounding') as RoundingMode | undefined;
    if (rounding && runner.layer !== 'conv1d') throw new UsageError('--rounding applies to --layer conv1d');
    const device = resolveDevice(args.string('device') as DeviceChoice | undefined);
    const loaded = await runner.load({ params, input, aux: args.string('aux') });
    const r = await loaded.run(mode, { device, threads: args.number('threads'), rounding });
    if (outFile) writeSafetensors(outFile, r.saved, r.metadata);
    const outputs = r.outputs.map((o) => ({ role: o.name, dtype: o.dtype, shape: o.shape }));
    const doc = { mode, layer: runner.layer, device: r.device, outputs, elapsed_ms: r.elapsedMs, out: outFile ?? null };
    const text = `${mode} ${runner.layer} on ${r.device}: ${outputs.map((o) => `${o.role} ${o.dtype}[${o.shape}]`).join(', ')} in ${r.elapsedMs.toFixed(1)} ms${outFile ? ` -> ${outFile}` : ''}\n`;
    io.stdout(args.flag('json') ? `${JSON.stringify(doc, null, 1)}\n` : text);
    return 0;
  },
};
