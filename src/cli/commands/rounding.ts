import { fingerprintRoundingFiles, RoundingFilesReport } from '../../analysis/roundingFiles';
import { CommandSpec } from '../options';

function formatRounding(r: RoundingFilesReport): string {
  const lines = [
    `${r.pre}${r.pre_tensor ? `#${r.pre_tensor}` : ''} → ${r.post}${r.post_tensor ? `#${r.post_tensor}` : ''}  (scale ${r.scale} from ${r.scale_source})`,
  ];
  lines.push(`  ${r.n} elements, ${r.ties} exact ties (x/s = k + ½)${r.post_off_grid ? `, ${r.post_off_grid} POST values off the grid` : ''}`);
  const how = r.reciprocal === null ? '' : r.reciprocal ? ', computed as x·fl32(1/s)' : ', computed as x/s';
  lines.push(`  verdict: ${r.verdict}${how}`);
  for (const c of r.candidates)
    lines.push(`    ${c.consistent ? '✓' : ' '} ${c.mode.padEnd(9)} ${c.reciprocal ? 'x·(1/s)' : 'x/s    '}  ${c.mismatches} mismatches`);
  if (r.advice) lines.push(`  ${r.advice}`);
  return `${lines.join('\n')}\n`;
}

export const roundingCommand: CommandSpec = {
  name: 'rounding',
  synopsis: 'PRE POST',
  summary: 'which rounding function a kernel used: PRE holds FP32 values before quantization, POST its codes or on-grid values',
  positionals: [2, 2],
  options: [
    { name: 'scale', type: 'string', value: 'S', check: 'positive', help: 'the quantization scale (default: found beside POST or PRE)' },
    { name: 'pre-tensor', type: 'string', value: 'N', help: 'the tensor of PRE (default: the root or only tensor)' },
    { name: 'post-tensor', type: 'string', value: 'M', help: 'the tensor of POST (default: the root or only tensor)' },
    { name: 'qmin', type: 'string', value: 'A', check: 'number', help: 'the clamp range of the codes (default -128)' },
    { name: 'qmax', type: 'string', value: 'B', check: 'number', help: 'default 127' },
  ],
  async run(args, io) {
    const [pre, post] = args.positionals;
    const r = await fingerprintRoundingFiles(pre, post, {
      scale: args.number('scale'),
      preTensor: args.string('pre-tensor'),
      postTensor: args.string('post-tensor'),
      qmin: args.number('qmin'),
      qmax: args.number('qmax'),
    });
    io.stdout(args.flag('json') ? `${JSON.stringify(r, null, 1)}\n` : formatRounding(r));
    return 0;
  },
};
