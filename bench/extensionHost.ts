/**
 * Issue 16's whole-model target for the extension host, measured in a real VS Code: code-server with
 * the VSIX installed, a generated sharded safetensors checkpoint (bench/model_e2e.py writes it) in the
 * workspace, explorer → Verify INT8 grid on its folder. Reports the extension-host process's peak RSS
 * (VmHWM, from /proc: the whole process, VS Code's own share included) and the time from the click to
 * the report the extension opens, against one read pass over the same shards in the same run, and
 * where the CPU went in that time (the extension host, the rest of code-server, everything else).
 * Usage: npm run build && node out/bench/extensionHost.js [--gib N] [OUT.json]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { launchChromium } from '../test/support/chromium';
import { ROOT, codeServerInstalled, startCodeServer, explorerRow, contextMenu } from '../test/support/workbench';
import { waitForExtensionHost, statusKb, cpuSnapshot } from './procfs';

const RSS_LIMIT_MB = 512;
const READ_PASS_LIMIT = 1.5;

/**
 * One pass over every byte of the shards (1 MiB reads into one buffer, written before timing): the
 * I/O floor. 16 MiB reads into an untouched buffer ran at 2.2-8.6 GB/s on the Zen 3 VM, 1 MiB into a
 * touched one at 12-14: the floor must not flatter the extension.
 */
function readPass(files: string[]): { s: number; bytes: number } {
  const buf = Buffer.alloc(1 << 20, 1);
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  for (const f of files) {
    const fd = fs.openSync(f, 'r');
    for (let k; (k = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) bytes += k;
    fs.closeSync(fd);
  }
  return { s: Number(process.hrtime.bigint() - t0) / 1e9, bytes };
}

async function main(): Promise<void> {
  if (!codeServerInstalled) throw new Error('code-server is not installed: run scripts/install-code-server.sh');
  const gib = process.argv.includes('--gib') ? Number(process.argv[process.argv.indexOf('--gib') + 1]) : 20;
  const data = path.join(ROOT, 'bench', 'data'),
    folder = `model_${gib}g`,
    model = path.join(data, folder);
  const written = spawnSync('python3', [path.join(ROOT, 'bench', 'model_e2e.py'), '--write', '--gib', String(gib)], { stdio: 'inherit' });
  if (written.status !== 0) throw new Error('bench/model_e2e.py --write failed');
  const shards = fs
    .readdirSync(model)
    .filter((f) => f.endsWith('.safetensors'))
    .map((f) => path.join(model, f));
  readPass(shards); // page cache as warm as this machine's memory allows
  const before = readPass(shards);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-bench-host-'));
  const server = await startCodeServer(tmp, data, { 'quantLens.device': 'cpu' });
  const browser = await launchChromium();
  try {
    const p = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await p.goto(`${server.url}/?folder=${encodeURIComponent(data)}`);
    await p.waitForSelector('.monaco-workbench', { timeout: 90000 });
    await explorerRow(p, folder).waitFor({ timeout: 90000 });
    const host = await waitForExtensionHost(server.process.pid!, (ms) => p.waitForTimeout(ms));
    const idleKb = statusKb(host, 'VmRSS');
    const command = fs.readFileSync(`/proc/${host}/cmdline`, 'utf8').split('\0').join(' ').slice(0, 300);
    const cpu0 = cpuSnapshot(server.process.pid!, host);
    const menuOpened = Date.now();
    // From the click that runs the command: opening the menu (and opening it again while the
    // contributions register) is the workbench's time, not the verification's; it is reported apart.
    const ran = await contextMenu(p, folder, 'Verify INT8 grid', path.join(tmp, 'context-menu-failure.png'));
    await p.locator('.editor-group-container .tab', { hasText: 'INT8 grid report' }).waitFor({ timeout: 30 * 60000 });
    const reported = Date.now();
    const secs = (reported - ran) / 1000;
    const cpu1 = cpuSnapshot(server.process.pid!, host);
    // The CPU the click-to-report interval used, by whom: the extension host against the CLI's
    // figure for the same work shows what VS Code's other processes take from the same cores.
    const cpu = {
      cores: os.cpus().length,
      menu_s: (ran - menuOpened) / 1000,
      wall_x_cores_s: ((reported - menuOpened) / 1000) * os.cpus().length,
      extension_host_s: cpu1.host - cpu0.host,
      code_server_other_processes_s: cpu1.codeServer - cpu0.codeServer - (cpu1.host - cpu0.host),
      rest_of_machine_s: cpu1.machine - cpu0.machine - (cpu1.codeServer - cpu0.codeServer),
      // The checkpoint nearly fills this machine's memory: with VS Code and Chromium beside it, some
      // shards are evicted from the page cache and read again from the disk.
      iowait_s: cpu1.iowait - cpu0.iowait,
      read_from_disk_mb: cpu1.readMb - cpu0.readMb,
    };
    const peakKb = statusKb(host, 'VmHWM');
    const report = (await p.locator('.editor-group-container .tab', { hasText: 'INT8 grid report' }).innerText()).trim();
    const after = readPass(shards);
    const floor = Math.min(before.s, after.s);
    const res = {
      date: new Date().toISOString().slice(0, 10),
      machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
      checkpoint: { folder, shards: shards.length, bytes: before.bytes },
      read_pass_s: floor,
      extension_host: {
        pid: host,
        command,
        idle_rss_mb: idleKb / 1024,
        peak_rss_mb: peakKb / 1024,
        verify_s: secs,
        x_read_pass: secs / floor,
        report_tab: report,
        cpu_during_verify: cpu,
      },
      targets: [
        {
          target: `explorer Verify INT8 grid of a ${gib} GiB sharded checkpoint in VS Code: extension host peak RSS under ${RSS_LIMIT_MB} MB`,
          measured: `${(peakKb / 1024).toFixed(0)} MB (${(idleKb / 1024).toFixed(0)} MB before the click)`,
          peer: `limit ${RSS_LIMIT_MB} MB`,
          met: peakKb / 1024 < RSS_LIMIT_MB,
        },
        {
          target: `explorer Verify INT8 grid of a ${gib} GiB sharded checkpoint in VS Code: click to report within ${READ_PASS_LIMIT}x one read pass`,
          measured: `${secs.toFixed(2)} s, ${(secs / floor).toFixed(2)}x`,
          peer: `read pass ${floor.toFixed(2)} s (${(before.bytes / floor / 1e9).toFixed(2)} GB/s)`,
          met: secs / floor <= READ_PASS_LIMIT,
        },
      ],
    };
    console.log(
      `CPU from opening the menu (${cpu.menu_s.toFixed(2)} s) to the report (${cpu.wall_x_cores_s.toFixed(1)} core-seconds): extension host ${cpu.extension_host_s.toFixed(2)} s, ` +
        `other code-server processes ${cpu.code_server_other_processes_s.toFixed(2)} s, the rest (Chromium, this script) ${cpu.rest_of_machine_s.toFixed(2)} s; ` +
        `waiting on the disk ${cpu.iowait_s.toFixed(2)} s, ${cpu.read_from_disk_mb.toFixed(0)} MB read from it`,
    );
    for (const t of res.targets) console.log(`${t.met ? 'MET' : 'NOT MET'}: ${t.target}: ${t.measured} (${t.peer}, same run)`);
    const out = process.argv.slice(2).find((a) => a.endsWith('.json'));
    if (out) fs.writeFileSync(out, JSON.stringify(res, null, 1) + '\n');
  } finally {
    await browser.close();
    server.process.kill();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
