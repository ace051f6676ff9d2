import { compareEvalRuns, EvalComparison } from '../../analysis/evalCompare';
import { CommandSpec } from '../options';

const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(2)}%`);

function formatEvalCmp(r: EvalComparison): string {
  const lines = [`${r.a}  vs  ${r.b}`];
  if (!r.valid) {
    lines.push(`  INVALID COMPARISON: ${r.reason}`);
    return `${lines.join('\n')}\n`;
  }
  if (r.reason) lines.push(`  ${r.reason}`);
  for (const t of r.tasks) {
    const ci = t.ci95 ? ` [${pct(t.ci95[0])}, ${pct(t.ci95[1])}]` : '';
    lines.push(`  ${t.task} ${t.metric}: A ${pct(t.a.value)} ± ${pct(t.a.stderr)}, B ${pct(t.b.value)} ± ${pct(t.b.stderr)}, B − A ${pct(t.diff)}${ci}`);
    lines.push(`      ${t.note}`);
  }
  return `${lines.join('\n')}\n`;
}

export const evalcmpCommand: CommandSpec = {
  name: 'evalcmp',
  synopsis: 'A B',
  summary: 'is the difference between two lm-evaluation-harness runs real? (paired McNemar test with samples, else unpaired z)',
  positionals: [2, 2],
  options: [{ name: 'task', type: 'string', value: 'T', help: 'compare this task only' }],
  async run(args, io) {
    const [a, b] = args.positionals;
    const r = await compareEvalRuns(a, b, { task: args.string('task') });
    io.stdout(args.flag('json') ? `${JSON.stringify(r, null, 1)}\n` : formatEvalCmp(r));
    return r.valid ? 0 : 3;
  },
};
