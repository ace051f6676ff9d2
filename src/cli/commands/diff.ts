import { diffPaths } from '../../analysis/diff';
import { CommandSpec } from '../options';
import { formatDiff } from '../format';
import { progressLine } from '../progress';
import { THREADS_OPTION } from './verify';

export const diffCommand: CommandSpec = {
  name: 'diff',
  synopsis: 'A B',
  summary: 'compare two files or two dump folders (paired by relative path and tensor name); inputs first',
  positionals: [2, 2],
  options: [THREADS_OPTION, { name: 'top', type: 'string', value: 'K', check: 'count', help: 'how many of the largest differences to list per tensor' }],
  async run(args, io) {
    const progress = progressLine(io, !args.flag('json'));
    try {
      const [a, b] = args.positionals;
      const report = await diffPaths(a, b, { threads: args.number('threads'), top: args.number('top'), onProgress: progress.update });
      progress.end();
      io.stdout(args.flag('json') ? `${JSON.stringify(report, null, 1)}\n` : formatDiff(report));
      return report.valid ? 0 : 3;
    } finally {
      progress.end();
    }
  },
};
