import * as fs from 'fs';
import { verifyFile } from '../../analysis/verifyFile';
import { verifyModel } from '../../analysis/verifyModel';
import { resolveDevice, DeviceChoice } from '../../native/addon';
import { CommandSpec } from '../options';
import { formatModel, formatVerify } from '../format';
import { progressLine } from '../progress';

export const DEVICE_OPTION = {
  name: 'device',
  type: 'string',
  choices: ['auto', 'cpu', 'cuda'],
  help: 'where the kernels run (auto: CUDA when a GPU is present)',
} as const;
export const THREADS_OPTION = { name: 'threads', type: 'string', value: 'N', check: 'count', help: 'CPU threads for the kernels (0: all cores)' } as const;

export const verifyCommand: CommandSpec = {
  name: 'verify',
  synopsis: 'FILE|DIR',
  summary: 'INT8-grid verification of every quantized tensor of a dump (or the one named by --tensor); a folder: every dump, sharded checkpoints as one model',
  positionals: [1, 1],
  options: [
    { name: 'tensor', type: 'string', value: 'NAME', help: 'verify only this tensor (always verified, whatever its dtype)' },
    { name: 'scale', type: 'string', value: 'S', check: 'positive', help: 'the scale to verify against (scale_source "cli")' },
    { name: 'tolerance', type: 'string', value: 'T', check: 'number', help: 'deviation counted in offgrid_tolerance (default 1e-5; reported, not judged)' },
    { name: 'qmin', type: 'string', value: 'A', check: 'number', help: 'smallest valid code (default -128; quint8/uint8: 0)' },
    { name: 'qmax', type: 'string', value: 'B', check: 'number', help: 'largest valid code (default 127; quint8/uint8: 255)' },
    DEVICE_OPTION,
    THREADS_OPTION,
    { name: 'worst', type: 'string', value: 'K', check: 'count', help: 'how many of the largest deviations to list (default 10)' },
  ],
  async run(args, io) {
    const progress = progressLine(io, !args.flag('json'));
    const target = args.positionals[0];
    const options = {
      tensor: args.string('tensor'),
      scale: args.number('scale'),
      tolerance: args.number('tolerance'),
      qmin: args.number('qmin'),
      qmax: args.number('qmax'),
      device: resolveDevice(args.string('device') as DeviceChoice | undefined),
      threads: args.number('threads'),
      worst: args.number('worst'),
    };
    try {
      if (fs.statSync(target).isDirectory()) {
        const model = await verifyModel(target, { ...options, onFile: progress.update });
        progress.end();
        io.stdout(args.flag('json') ? `${JSON.stringify(model, null, 1)}\n` : formatModel(model));
        return model.summary.failed ? 1 : model.errors.length ? 2 : 0;
      }
      const report = await verifyFile(target, { ...options, onProgress: progress.update });
      progress.end();
      io.stdout(args.flag('json') ? `${JSON.stringify(report, null, 1)}\n` : formatVerify(report));
      return report.results.some((r) => r.verdict === 'fail') ? 1 : 0;
    } finally {
      progress.end();
    }
  },
};
