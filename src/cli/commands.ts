import { openDump } from '../formats/open';
import { FormatError } from '../formats/errors';
import { inspectJson } from './inspect';
import { parseArgs, UsageError } from './args';

export const USAGE = `usage: quant-lens <command> [options]
  inspect FILE [--json] [--stats]              list tensors and objects of a dump
  verify FILE [--tensor NAME] [--scale S] [--tolerance T] [--json]
  explain VALUE --scale S [--json]
  explain FILE --tensor NAME --index I [--scale S] [--json]
  diff A B [--json]                            compare two files or dump folders
  run --mode baseline|mode1|mode2 --layer conv1d --params FILE --input FILE [--device auto|cpu|cuda] [--out FILE.safetensors] [--json]
exit codes: 0 ok/pass, 1 verification failed, 2 bad input, 3 invalid comparison (different inputs)`;

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };
const defaultOut: Out = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };

async function inspect(argv: string[], out: Out): Promise<number> {
  const p = parseArgs(argv, [], ['json', 'stats']);
  if (p.positional.length !== 1) throw new UsageError('inspect takes exactly one FILE');
  const dump = openDump(p.positional[0]);
  try {
    const doc = await inspectJson(dump, p.flags.has('stats'));
    if (p.flags.has('json')) out.stdout(`${JSON.stringify(doc, null, 1)}\n`);
    else out.stdout(formatInspect(doc));
    return 0;
  } finally {
    dump.close();
  }
}

function formatInspect(doc: Record<string, unknown>): string {
  const lines = [`${doc.file}  (${doc.format})`];
  for (const t of doc.tensors as { name: string; dtype: string; shape: number[]; quantization: unknown; stats?: Record<string, unknown> }[]) {
    let line = `  ${t.name || '<root>'}  ${t.dtype}[${t.shape.join(', ')}]`;
    if (t.quantization) line += `  ${JSON.stringify(t.quantization)}`;
    if (t.stats) line += `  min=${t.stats.min} max=${t.stats.max} mean=${t.stats.mean}`;
    lines.push(line);
  }
  for (const o of doc.objects as { name: string; type: string; value?: unknown; class?: string }[]) {
    lines.push(`  ${o.name || '<root>'} = ${o.type === 'placeholder' ? `<${o.class}>` : JSON.stringify(o.value)}`);
  }
  return `${lines.join('\n')}\n`;
}

const COMMANDS: Record<string, (argv: string[], out: Out) => Promise<number>> = { inspect };

/** Runs one CLI invocation; every bad input is one clear stderr line and exit 2, never a stack trace. */
export async function runCli(argv: string[], out: Out = defaultOut): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') { out.stdout(`${USAGE}\n`); return cmd ? 0 : 2; }
  const handler = COMMANDS[cmd];
  if (!handler) { out.stderr(`quant-lens: unknown command ${JSON.stringify(cmd)}\n${USAGE}\n`); return 2; }
  try {
    return await handler(rest, out);
  } catch (err) {
    out.stderr(`quant-lens: ${describeError(err)}\n`);
    return 2;
  }
}

export function describeError(err: unknown): string {
  if (err instanceof FormatError) return err.message;
  const e = err as NodeJS.ErrnoException;
  if (e && e.code === 'ENOENT') return `no such file: ${e.path}`;
  if (e && e.code === 'EISDIR') return `is a directory: ${e.path}`;
  if (e && e.code === 'EACCES') return `permission denied: ${e.path}`;
  if (e instanceof RangeError) return `input too large or malformed: ${e.message}`;
  return e && e.message ? e.message : String(err);
}
