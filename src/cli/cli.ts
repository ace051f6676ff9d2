/** One CLI invocation: picks the command, parses its options from its table, maps errors to exit 2. */
import { describeError } from '../core/errors';
import { CommandSpec, Io, commandUsage, mainUsage, parseCommand } from './options';
import { inspectCommand } from './commands/inspect';
import { verifyCommand } from './commands/verify';
import { explainCommand } from './commands/explain';
import { diffCommand } from './commands/diff';
import { runCommand } from './commands/run';
import { evalcmpCommand } from './commands/evalcmp';
import { attributeCommand } from './commands/attribute';
import { roundingCommand } from './commands/rounding';

export const COMMANDS: readonly CommandSpec[] = [
  inspectCommand,
  verifyCommand,
  explainCommand,
  diffCommand,
  runCommand,
  evalcmpCommand,
  roundingCommand,
  attributeCommand,
];

const processIo: Io = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  stderrIsTty: process.stderr.isTTY === true,
};

/**
 * Runs one invocation and returns its exit code. Every bad input is one clear stderr line and
 * exit 2, never a stack trace; with --json the same error is also a JSON document on stdout.
 */
export async function runCli(argv: readonly string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr(mainUsage(COMMANDS));
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout(mainUsage(COMMANDS));
    return 0;
  }
  const spec = COMMANDS.find((c) => c.name === name);
  if (!spec) {
    io.stderr(`quant-lens: unknown command ${JSON.stringify(name)}\n${mainUsage(COMMANDS)}`);
    return 2;
  }
  const json = rest.includes('--json');
  try {
    const args = parseCommand(spec, rest);
    if (args.flag('help')) {
      io.stdout(commandUsage(spec));
      return 0;
    }
    return await spec.run(args, io);
  } catch (err) {
    const e = describeError(err);
    io.stderr(`quant-lens: ${e.message}\n`);
    if (json) io.stdout(`${JSON.stringify({ error: { code: e.code, message: e.message } }, null, 1)}\n`);
    return 2;
  }
}
