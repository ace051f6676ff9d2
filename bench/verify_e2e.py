"""Issue 16's CPU verify target, end to end as a user meets it: `quant-lens verify` of a 1 GiB FP32
safetensors in the page cache, process start included, against (in the same run) the plain five-line
numpy check over a np.memmap of the same file and one numpy read pass (x.max() over the memmap).
Each figure is the best of REPS whole-process wall times. Usage: python3 bench/verify_e2e.py [OUT.json]"""
import json, os, struct, subprocess, sys, time
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, 'bench', 'data', 'verify_e2e_1gib.safetensors')
N, S, REPS = 1 << 28, np.float32(0.0121623231), 3

PEER = r'''
import numpy as np, struct, sys
f, n, s = sys.argv[1], int(sys.argv[2]), np.float32(sys.argv[3])
x = np.memmap(f, dtype=np.float32, mode='r', offset=8 + struct.unpack('<Q', open(f, 'rb').read(8))[0], shape=(n,))
if sys.argv[4] == 'read':
    x.max()
else:
    r = x / s; q = np.rint(r); dev = np.abs(r - q); exact = (q * s).astype(np.float32) == x
    print(int((~exact).sum()), dev.max(), (dev > 1e-5).sum(), q.min(), q.max())
'''

def write_data():
    if os.path.exists(DATA) and os.path.getsize(DATA) > 4 * N: return
    os.makedirs(os.path.dirname(DATA), exist_ok=True)
    q = np.random.default_rng(0).integers(-128, 128, N, dtype=np.int16).astype(np.float32)
    x = (q * S).astype(np.float32)
    x[::1000] += np.float32(1e-3)  # one value in a thousand off the grid
    hdr = json.dumps({'x': {'dtype': 'F32', 'shape': [N], 'data_offsets': [0, 4 * N]}}).encode()
    hdr += b' ' * (-len(hdr) % 8)
    with open(DATA, 'wb') as f:
        f.write(struct.pack('<Q', len(hdr))); f.write(hdr); x.tofile(f)

def best(cmd):
    times, out = [], None
    for _ in range(REPS):
        t0 = time.perf_counter(); p = subprocess.run(cmd, capture_output=True, text=True); times.append(time.perf_counter() - t0)
        out = p.stdout
    return min(times), out

def main():
    write_data()
    with open(DATA, 'rb') as f:
        while f.read(1 << 24): pass  # into the page cache
    cli = ['node', os.path.join(ROOT, 'dist', 'cli.js'), 'verify', DATA, '--scale', str(float(S)), '--json']
    res = {'date': time.strftime('%Y-%m-%d'), 'elements': N, 'bytes': 4 * N, 'reps': REPS}
    res['numpy_read_pass_s'], _ = best([sys.executable, '-c', PEER, DATA, str(N), str(S), 'read'])
    res['numpy_plain_check_s'], peer_out = best([sys.executable, '-c', PEER, DATA, str(N), str(S), 'check'])
    for t in (1, 2):
        secs, out = best(cli + ['--threads', str(t)])
        r = json.loads(out)['results'][0]
        if r['true_offgrid'] != int(peer_out.split()[0]): raise SystemExit(f'verify disagrees with numpy: {r["true_offgrid"]} vs {peer_out}')
        res[f'threads_{t}'] = {'s': secs, 'x_plain_numpy_check': res['numpy_plain_check_s'] / secs, 'x_read_pass': secs / res['numpy_read_pass_s']}
    b = res['threads_2']
    res['targets'] = [
        {'target': 'CPU verify end to end >= 20x the plain numpy check', 'measured': f"{b['x_plain_numpy_check']:.1f}x",
         'peer': f"numpy plain check {res['numpy_plain_check_s']:.2f} s", 'met': b['x_plain_numpy_check'] >= 20},
        {'target': 'CPU verify end to end within 2x one numpy read pass', 'measured': f"{b['x_read_pass']:.2f}x",
         'peer': f"numpy read pass {res['numpy_read_pass_s']:.3f} s", 'met': b['x_read_pass'] <= 2},
    ]
    for k in ('threads_1', 'threads_2'): print(f"verify {k}: {res[k]['s']:.3f} s, {res[k]['x_plain_numpy_check']:.1f}x the plain numpy check, {res[k]['x_read_pass']:.2f}x a read pass")
    for t in res['targets']: print(f"{'MET' if t['met'] else 'NOT MET'}: {t['target']}: {t['measured']} ({t['peer']}, same run)")
    if len(sys.argv) > 1: json.dump(res, open(sys.argv[1], 'w'), indent=1)

main()
