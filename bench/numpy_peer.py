"""numpy doing the same checks as `quant-lens verify` (the CPU peer), and the same conv1d modes.
numpy's element-wise ops are single-threaded, so this is the 1-thread peer. Prints JSON."""
import json, sys, time
import numpy as np

def verify(x, s, tol=1e-5, qmin=-128, qmax=127):
    s = np.float32(s)
    r = x / s
    q = np.rint(r)
    dev = np.abs(r - q)
    member = (q * s) == x
    fin = np.isfinite(x)
    qf = q[fin]
    return dict(offgrid_tolerance=int((dev > tol).sum()), fp32_artifacts=int(((dev > 0) & member).sum()),
                true_offgrid=int((~member & fin).sum()), max_deviation=float(dev[fin].max()), int_min=float(qf.min()),
                int_max=float(qf.max()), int_mean=float(qf.mean(dtype=np.float64)), int_std=float(qf.std(dtype=np.float64, ddof=1)),
                saturated_pos=int((qf >= qmax).sum()), saturated_neg=int((qf <= qmin).sum()),
                hist=np.bincount((np.clip(qf, qmin, qmax) - qmin).astype(np.int64), minlength=qmax - qmin + 1).sum(),
                worst=np.argpartition(dev, -10)[-10:].tolist())

def plain_verify(x, s):
    """The five-line check a user would write (issue 16), over a memmap of the same file."""
    s = np.float32(s)
    r = x / s; q = np.rint(r); dev = np.abs(r - q); exact = (q * s).astype(np.float32) == x
    return float(dev.max()), int((dev > 1e-5).sum()), int((~exact).sum()), float(q.min()), float(q.max())

def best_of(fn, reps=3):
    t = []
    for _ in range(reps):
        t0 = time.perf_counter(); out = fn(); t.append(time.perf_counter() - t0)
    return min(t), out

def main():
    path, s = sys.argv[1], float(sys.argv[2])
    x = np.load(path)
    secs, res = best_of(lambda: verify(x, s))
    mm = np.load(path, mmap_mode="r")
    plain_s, _ = best_of(lambda: plain_verify(mm, s))
    read_s, _ = best_of(lambda: mm.max())
    if "--verify-only" in sys.argv:
        print(json.dumps({"numpy": np.__version__, "n": int(x.size), "verify_s": secs, "verify_gbps": x.nbytes / secs / 1e9,
                          "plain_verify_s": plain_s, "read_pass_s": read_s,
                          "result": {k: v for k, v in res.items() if k not in ("hist", "worst")}}))
        return
    D, L, K = 1536, 2048, 4
    rng = np.random.default_rng(0)
    xin = (rng.standard_normal((D, L)) * 0.12).astype(np.float32)
    w = rng.integers(-127, 128, (D, K)).astype(np.int8)
    b = rng.integers(-1000, 1001, D).astype(np.int32)
    sx, sw, so = np.float32(0.0121623231), np.float32(0.00704237), np.float32(0.0183)
    sb = np.float32(float(sx) * float(sw))
    def q8(v, sc): return np.clip(np.rint(v / sc), -128, 127)
    def silu(y): return y * (np.float32(1) / (np.float32(1) + np.exp(-y)))
    def baseline():
        xq = q8(xin, sx).astype(np.int32); pad = np.pad(xq, ((0, 0), (K - 1, 0)))
        acc = sum(w[:, k:k + 1].astype(np.int32) * pad[:, k:k + L] for k in range(K)) + b[:, None]
        return q8(silu(acc.astype(np.float32) * sb), so).astype(np.int8)
    def sim():
        xs = (q8(xin, sx) * sx).astype(np.float32); pad = np.pad(xs, ((0, 0), (K - 1, 0)))
        ws = w.astype(np.float32) * sw
        y = sum(ws[:, k:k + 1] * pad[:, k:k + L] for k in range(K)) + (b.astype(np.float32) * sb)[:, None]
        ys = silu(y)
        return q8(ys, so) * so, ys
    conv = {m: best_of(f)[0] * 1e3 for m, f in (("baseline", baseline), ("mode1", sim), ("mode2", sim))}
    print(json.dumps({"numpy": np.__version__, "n": int(x.size), "verify_s": secs, "verify_gbps": x.nbytes / secs / 1e9,
                      "plain_verify_s": plain_s, "read_pass_s": read_s,
                      "result": {k: v for k, v in res.items() if k not in ("hist", "worst")}, "conv1d_ms": conv}))

main()
