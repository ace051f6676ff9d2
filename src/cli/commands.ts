import { openDump } from '../formats/open';
import { FormatError } from '../formats/errors';
import { inspectJson } from './inspect';
import { parseArgs, UsageError, numberFlag, stringFlag } from './args';
import { verifyFile } from './verify_cmd';
import { explainValue } from '../analysis/explain';
import { discoverScale } from '../analysis/scale';
import { numelOf, readRawElements } from '../formats/tensor';
import { decodeToFloat32 } from '../formats/dtypes';
import { diffPaths } from '../analysis/diff';
import { MODES, EvalMode, readConv1dParams, readConv1dInput, runConv1d, runTensors, conv1dRunMetadata } from '../analysis/layers';
import { writeSafetensors } from '../formats/safetensors_writer';
import { runLinearFiles, runScanFiles } from '../analysis/ssm_layers';
import { resolveDevice, DeviceChoice } from '../native/addon';
import { formatVerify, formatDiff, formatExplain } from './format';

export const USAGE = `usage: quant-lens <command> [options]
  inspect FILE [--json] [--stats]              list tensors and objects of a dump
  verify FILE [--tensor NAME] [--scale S] [--tolerance T] [--json]
  explain VALUE --scale S [--json]
  explain FILE --tensor NAME --index I [--scale S] [--json]
  diff A B [--json]                            compare two files or dump folders
  run --mode baseline|mode1|mode2 --layer conv1d|linear|scan --params FILE --input FILE [--aux FILE] [--device auto|cpu|cuda] [--out FILE.safetensors] [--json]
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

async function verify(argv: string[], out: Out): Promise<number> {
  const p = parseArgs(argv, ['tensor', 'scale', 'tolerance', 'qmin', 'qmax', 'device', 'threads', 'worst'], ['json']);
  if (p.positional.length !== 1) throw new UsageError('verify takes exactly one FILE');
  const scale = numberFlag(p, 'scale');
  if (scale !== undefined && !(scale > 0)) throw new UsageError('--scale must be positive');
  const report = await verifyFile(p.positional[0], {
    tensor: stringFlag(p, 'tensor'), scale, tolerance: numberFlag(p, 'tolerance'), qmin: numberFlag(p, 'qmin'), qmax: numberFlag(p, 'qmax'),
    device: resolveDevice(stringFlag(p, 'device') as DeviceChoice | undefined), threads: numberFlag(p, 'threads'), worst: numberFlag(p, 'worst'),
  });
  out.stdout(p.flags.has('json') ? `${JSON.stringify(report, null, 1)}\n` : formatVerify(report));
  return report.results.some((r) => r.verdict === 'fail') ? 1 : 0;
}

async function explain(argv: string[], out: Out): Promise<number> {
  const p = parseArgs(argv, ['scale', 'tensor', 'index'], ['json']);
  if (p.positional.length !== 1) throw new UsageError('explain takes one VALUE, or one FILE with --tensor and --index');
  const arg = p.positional[0];
  let scale = numberFlag(p, 'scale');
  let value: number;
  let extra: Record<string, unknown> = {};
  const asNumber = Number(arg);
  if (arg.trim() !== '' && Number.isFinite(asNumber) && !p.flags.has('tensor')) {
    if (scale === undefined) throw new UsageError('explain VALUE needs --scale S');
    value = asNumber;
    extra = { scale_source: 'cli' };
  } else {
    const name = stringFlag(p, 'tensor') ?? '';
    const index = numberFlag(p, 'index');
    if (index === undefined || !Number.isInteger(index) || index < 0) throw new UsageError('explain FILE needs --index I (a flat element index)');
    const dump = openDump(arg);
    try {
      const t = dump.tensors.find((x) => x.name === name);
      if (!t) throw new UsageError(`no tensor named ${JSON.stringify(name)} in ${arg}`);
      if (index >= numelOf(t.shape)) throw new UsageError(`index ${index} is outside tensor ${JSON.stringify(name)} of ${numelOf(t.shape)} elements`);
      value = decodeToFloat32(t.dtype, await readRawElements(t, index, 1), t.storage.littleEndian)[0];
      const info = await discoverScale(arg, dump, t, { explicit: scale });
      if (!info || info.kind !== 'per_tensor') throw new UsageError(`no per-tensor scale found for ${JSON.stringify(name)}: pass --scale`);
      scale = info.scale;
      extra = { file: arg, tensor: name, index, scale_source: info.source };
    } finally {
      dump.close();
    }
  }
  if (!(scale! > 0)) throw new UsageError('--scale must be positive');
  const e = { ...extra, ...explainValue(value, scale!) };
  out.stdout(p.flags.has('json') ? `${JSON.stringify(e, null, 1)}\n` : formatExplain(e));
  return 0;
}

async function diff(argv: string[], out: Out): Promise<number> {
  const p = parseArgs(argv, ['threads', 'top'], ['json']);
  if (p.positional.length !== 2) throw new UsageError('diff takes two paths: A B');
  const report = await diffPaths(p.positional[0], p.positional[1], { threads: numberFlag(p, 'threads'), top: numberFlag(p, 'top') });
  out.stdout(p.flags.has('json') ? `${JSON.stringify(report, null, 1)}\n` : formatDiff(report));
  return report.valid ? 0 : 3;
}

async function run(argv: string[], out: Out): Promise<number> {
  const p = parseArgs(argv, ['mode', 'layer', 'params', 'input', 'aux', 'device', 'out', 'threads'], ['json']);
  const mode = stringFlag(p, 'mode') as EvalMode;
  if (!MODES.includes(mode)) throw new UsageError('--mode must be baseline, mode1 or mode2');
  const layer = stringFlag(p, 'layer') ?? 'conv1d';
  if (!['conv1d', 'linear', 'scan'].includes(layer)) throw new UsageError('--layer must be conv1d, linear or scan');
  const paramsFile = stringFlag(p, 'params'), inputFile = stringFlag(p, 'input');
  if (!paramsFile || !inputFile) throw new UsageError('run needs --params FILE and --input FILE');
  const outFile = stringFlag(p, 'out');
  if (outFile && !/\.safetensors$/i.test(outFile)) throw new UsageError('--out must name a .safetensors file');
  const device = resolveDevice(stringFlag(p, 'device') as DeviceChoice | undefined);
  if (layer !== 'conv1d') {
    const t0 = performance.now();
    const o = layer === 'linear' ? await runLinearFiles(mode, paramsFile, inputFile, numberFlag(p, 'threads'), device)
      : await runScanFiles(mode, paramsFile, inputFile, stringFlag(p, 'aux'), numberFlag(p, 'threads'), device);
    const elapsed = performance.now() - t0;
    if (outFile) writeSafetensors(outFile, [{ name: o.role, dtype: 'float32', shape: o.shape, data: o.data }], { mode, layer, producer: 'quant-lens' });
    const doc = { mode, layer, device, outputs: [{ role: o.role, dtype: 'float32', shape: o.shape }], elapsed_ms: elapsed, out: outFile ?? null };
    out.stdout(p.flags.has('json') ? `${JSON.stringify(doc, null, 1)}\n` : `${mode} ${layer} on ${device}: ${o.role} float32[${o.shape}] in ${elapsed.toFixed(1)} ms${outFile ? ` -> ${outFile}` : ''}\n`);
    return 0;
  }
  const params = await readConv1dParams(paramsFile);
  const input = await readConv1dInput(inputFile);
  const r = await runConv1d(mode, params, input, device, numberFlag(p, 'threads'));
  const tensors = runTensors(r);
  if (outFile) {
    writeSafetensors(outFile, tensors, conv1dRunMetadata(mode, params));
  }
  const doc = {
    mode, layer, device: r.device,
    outputs: tensors.filter((t) => t.name !== 'input').map((t) => ({ role: t.name, dtype: t.dtype, shape: t.shape })),
    elapsed_ms: r.elapsedMs, out: outFile ?? null,
  };
  out.stdout(p.flags.has('json') ? `${JSON.stringify(doc, null, 1)}\n` : `${mode} ${layer} on ${r.device}: ${doc.outputs.map((o) => `${o.role} ${o.dtype}[${o.shape}]`).join(', ')} in ${r.elapsedMs.toFixed(1)} ms${outFile ? ` -> ${outFile}` : ''}\n`);
  return 0;
}

const COMMANDS: Record<string, (argv: string[], out: Out) => Promise<number>> = { inspect, verify, explain, diff, run };

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
