import { AttributionReport } from '../../analysis/attribution';
import { attributeLayer } from '../../analysis/attributeLayer';
import { MODES } from '../../analysis/layers';
import { EvalMode } from '../../analysis/layers/modes';
import { ROUNDING_MODES, RoundingMode } from '../../analysis/rounding';
import { FormatError, UsageError } from '../../core/errors';
import { CommandSpec } from '../options';
import { THREADS_OPTION } from './verify';
import { LAYER_FILE_OPTIONS } from './run';

const g = (x: number): string => (Number.isInteger(x) ? String(x) : x.toPrecision(4));

export function formatAttribution(r: AttributionReport): string {
  const lines = [`${r.layer}: ${r.from} → ${r.to}${r.from === 'baseline' || r.to === 'baseline' ? ` (Baseline rounding ${r.rounding})` : ''}`];
  const what = r.counted === 'codes' ? 'output codes' : 'output values';
  const pct = (v: number, total: number): string => (total ? `${((100 * v) / total).toFixed(1)}%` : '-');
  lines.push(
    `  total: ${r.total.codes_differ} of ${r.total.n} ${what} differ${r.total.max_abs_int === null ? '' : ` (max |Δq| ${r.total.max_abs_int})`}; error energy vs FP32 reference changes by ${g(r.total.energy)}`,
  );
  lines.push(`  ${'factor'.padEnd(20)} ${'count (Shapley)'.padStart(16)} ${'share'.padStart(7)} ${'energy (Shapley)'.padStart(17)} ${'alone'.padStart(7)}`);
  for (const f of r.factors) {
    lines.push(
      `  ${f.name.padEnd(20)} ${g(f.shapley_codes).padStart(16)} ${pct(f.shapley_codes, r.total.codes_differ).padStart(7)} ${g(f.shapley_energy).padStart(17)} ${String(f.alone_codes).padStart(7)}${f.no_effect ? '  no effect: changes no output in any combination' : ''}`,
    );
  }
  if (!r.factors.length) lines.push('  no switch separates these two modes for this layer: their outputs are the same computation');
  return `${lines.join('\n')}\n`;
}

export const attributeCommand: CommandSpec = {
  name: 'attribute',
  synopsis: '',
  summary: "which difference between two modes explains a layer's output difference (Shapley values over every combination)",
  positionals: [0, 0],
  options: [
    ...LAYER_FILE_OPTIONS,
    { name: 'from', type: 'string', choices: MODES, help: 'the mode whose output is the starting point (default baseline)' },
    { name: 'to', type: 'string', choices: MODES, help: 'the mode it is compared with (default mode2)' },
    { name: 'rounding', type: 'string', choices: ROUNDING_MODES, help: "Baseline's rounding of its quantization steps (default half_even)" },
    { name: 'device', type: 'string', choices: ['auto', 'cpu', 'cuda'], help: 'auto (default) or cpu; the combinations run on the CPU' },
    THREADS_OPTION,
  ],
  async run(args, io) {
    const params = args.string('params'),
      input = args.string('input');
    if (!params || !input) throw new UsageError('attribute needs --params FILE and --input FILE');
    const layer = args.string('layer') ?? 'conv1d';
    if (args.string('device') === 'cuda') throw new FormatError('unsupported', 'attribution evaluates its combinations on the CPU: use --device cpu or auto');
    const opts = {
      from: (args.string('from') as EvalMode | undefined) ?? 'baseline',
      to: (args.string('to') as EvalMode | undefined) ?? 'mode2',
      rounding: args.string('rounding') as RoundingMode | undefined,
      threads: args.number('threads'),
    };
    const r = await attributeLayer(layer, { params, input, aux: args.string('aux') }, opts);
    io.stdout(args.flag('json') ? `${JSON.stringify({ ...r, device: 'cpu' }, null, 1)}\n` : formatAttribution(r));
    return 0;
  },
};
