/**
 * What the benchmarks that drive real VS Code read from /proc: the extension host under code-server,
 * its memory, and where the CPU and the disk went during a measured interval. Linux only.
 */
import * as fs from 'fs';
import { spawnSync } from 'child_process';

/** The process ids under `root` (its descendants, from /proc's parent links). */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* exited */
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const [c, pp] of parent)
      if (pp === p) {
        out.push(c);
        walk(c);
      }
  };
  walk(root);
  return out;
}

/** The extension host code-server started for the window (its command line names the type). */
export function extensionHostPid(server: number): number | undefined {
  return descendants(server).find((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('extensionHost');
    } catch {
      return false;
    }
  });
}

export function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} for process ${pid}`);
  return Number(m[1]);
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU time (user + system) a process has used so far, in seconds; 0 once it has exited. */
function cpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime, stime
  } catch {
    return 0;
  }
}

/** CPU time every core has spent busy so far (all of /proc/stat's time but idle and iowait), in seconds. */
function machineBusySeconds(): number {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return (f.slice(0, 8).reduce((a, b) => a + b, 0) - f[3] - f[4]) / CLK_TCK;
}

/** Time the cores waited on the disk (iowait) so far, in seconds, and the bytes read from block devices (vmstat pgpgin, KiB). */
function ioSoFar(): { iowait: number; readMb: number } {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const pgpgin = /^pgpgin (\d+)$/m.exec(fs.readFileSync('/proc/vmstat', 'utf8'));
  return { iowait: f[4] / CLK_TCK, readMb: pgpgin ? Number(pgpgin[1]) / 1024 : NaN };
}

/** Where the CPU went between two snapshots: the extension host, the rest of code-server, everything else (Chromium, this script); and the disk. */
export function cpuSnapshot(server: number, host: number): { host: number; codeServer: number; machine: number; iowait: number; readMb: number } {
  const tree = [server, ...descendants(server)];
  return { host: cpuSeconds(host), codeServer: tree.reduce((a, p) => a + cpuSeconds(p), 0), machine: machineBusySeconds(), ...ioSoFar() };
}

/** Waits (polling /proc, `pause` between looks) until code-server has started the window's extension host. */
export async function waitForExtensionHost(server: number, pause: (ms: number) => Promise<void>, ms = 60000): Promise<number> {
  for (const t0 = Date.now(); Date.now() - t0 < ms; await pause(250)) {
    const host = extensionHostPid(server);
    if (host) return host;
  }
  throw new Error('no extension host process under code-server');
}
