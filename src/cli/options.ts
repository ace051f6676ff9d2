/**
 * Each command's options as one table: `node:util.parseArgs` parses from it, and the usage text
 * (`quant-lens <command> --help`) is generated from it, so the two cannot disagree.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../core/errors';

export interface OptionSpec {
  name: string;
  /** A flag, or an option with a value. */
  type: 'boolean' | 'string';
  /** The value's placeholder in the usage (`S`, `FILE`). */
  value?: string;
  /** How a value is checked: any string, a finite number, a number > 0, an integer ≥ 0. */
  check?: 'number' | 'positive' | 'count';
  choices?: readonly string[];
  help: string;
}

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Whether stderr is a terminal: progress lines are drawn only there. */
  stderrIsTty?: boolean;
}

export interface CommandSpec {
  name: string;
  /** Positional arguments as shown in the usage, e.g. `FILE` or `A B`. */
  synopsis: string;
  summary: string;
  /** How many positionals the command takes. */
  positionals: [min: number, max: number];
  options: readonly OptionSpec[];
  run(args: ParsedCommand, io: Io): Promise<number>;
}

/** Options every command takes. */
export const COMMON_OPTIONS: readonly OptionSpec[] = [
  { name: 'json', type: 'boolean', help: 'print one stable JSON document on stdout' },
  { name: 'help', type: 'boolean', help: 'print this usage and exit 0' },
];

export class ParsedCommand {
  constructor(
    readonly positionals: string[],
    private readonly values: Record<string, string | boolean | undefined>,
  ) {}

  flag(name: string): boolean {
    return this.values[name] === true;
  }

  string(name: string): string | undefined {
    const v = this.values[name];
    return typeof v === 'string' ? v : undefined;
  }

  /** A checked option's value as a number (the table's `check` was applied while parsing). */
  number(name: string): number | undefined {
    const v = this.string(name);
    return v === undefined ? undefined : Number(v);
  }
}

const NEGATIVE_NUMBER = /^-(\d|\.\d)/;
const PROTECTED = '\u0000neg:';

/**
 * parseArgs reads `--qmin -128` as an option missing its value and `-0.5` as short flags. A value
 * joined to its option (`--qmin=-128`) and a protected negative positional keep the usual CLI spelling working.
 */
function protectNegatives(argv: readonly string[], valued: Set<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--') && !a.includes('=') && valued.has(a.slice(2)) && i + 1 < argv.length && NEGATIVE_NUMBER.test(argv[i + 1])) {
      out.push(`${a}=${argv[++i]}`);
    } else out.push(NEGATIVE_NUMBER.test(a) ? PROTECTED + a : a);
  }
  return out;
}

function checkValue(o: OptionSpec, v: string): void {
  const n = Number(v);
  if (o.choices && !o.choices.includes(v)) throw new UsageError(`--${o.name} must be one of ${o.choices.join(', ')}, got ${JSON.stringify(v)}`);
  if (!o.check) return;
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${o.name} expects a number, got ${JSON.stringify(v)}`);
  if (o.check === 'positive' && !(n > 0)) throw new UsageError(`--${o.name} must be positive, got ${v}`);
  if (o.check === 'count' && !(Number.isInteger(n) && n >= 0)) throw new UsageError(`--${o.name} must be a whole number ≥ 0, got ${v}`);
}

/** Parses one command's arguments against its table; every mistake is a UsageError naming the option. */
export function parseCommand(spec: CommandSpec, argv: readonly string[]): ParsedCommand {
  const all = [...spec.options, ...COMMON_OPTIONS];
  const options: Record<string, { type: 'boolean' | 'string' }> = {};
  for (const o of all) options[o.name] = { type: o.type };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: protectNegatives(argv, new Set(all.filter((o) => o.type === 'string').map((o) => o.name))),
      options,
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(`${spec.name}: ${(err as Error).message.split('\n')[0].replace(PROTECTED, '')}`);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help === true) return new ParsedCommand([], values);
  for (const o of all) {
    const v = values[o.name];
    if (typeof v === 'string') checkValue(o, v.startsWith(PROTECTED) ? v.slice(PROTECTED.length) : v);
  }
  const positionals = parsed.positionals.map((p) => (p.startsWith(PROTECTED) ? p.slice(PROTECTED.length) : p));
  const [min, max] = spec.positionals;
  if (positionals.length < min || positionals.length > max) {
    throw new UsageError(
      `${spec.name} takes ${spec.synopsis || 'no arguments'} (got ${positionals.length} argument${positionals.length === 1 ? '' : 's'}); see quant-lens ${spec.name} --help`,
    );
  }
  return new ParsedCommand(positionals, values);
}

/** One command's usage, from its table. */
export function commandUsage(spec: CommandSpec): string {
  const lines = [`usage: quant-lens ${spec.name}${spec.synopsis ? ` ${spec.synopsis}` : ''} [options]`, '', spec.summary, '', 'options:'];
  const all = [...spec.options, ...COMMON_OPTIONS];
  const shown = all.map((o) => `--${o.name}${o.type === 'string' ? ` ${o.choices ? o.choices.join('|') : (o.value ?? 'VALUE')}` : ''}`);
  const width = Math.max(...shown.map((s) => s.length)) + 2;
  all.forEach((o, i) => lines.push(`  ${shown[i].padEnd(width)}${o.help}`));
  return `${lines.join('\n')}\n`;
}

export const EXIT_CODES_TEXT = 'exit codes: 0 ok/pass, 1 verification failed, 2 bad input, 3 invalid comparison (different inputs)';

/** The top-level usage: one line per command, from the same tables. */
export function mainUsage(specs: readonly CommandSpec[]): string {
  const width = Math.max(...specs.map((s) => `${s.name} ${s.synopsis}`.length)) + 2;
  const lines = ['usage: quant-lens <command> [options]', '', 'commands:'];
  for (const s of specs) lines.push(`  ${`${s.name} ${s.synopsis}`.padEnd(width)}${s.summary}`);
  lines.push('', "quant-lens <command> --help lists a command's options.", EXIT_CODES_TEXT);
  return `${lines.join('\n')}\n`;
}
