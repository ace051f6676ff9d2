"""The PyTorch peer for the GPU benchmarks: the same checks Quant Lens's CUDA kernels do, written
as a careful PyTorch user would (fused where PyTorch allows), timed with CUDA events on the same data."""
import sys, json, torch
import torch.nn.functional as F

def timed(fn, iters=10):
    fn(); torch.cuda.synchronize()
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    a.record()
    for _ in range(iters): fn()
    b.record(); torch.cuda.synchronize()
    return a.elapsed_time(b) / iters

def verify(x, s, tol=1e-5, qmin=-128, qmax=127):
    r = x / s
    q = torch.round(r)
    dev = (r - q).abs()
    member = (q * s) == x
    fin = torch.isfinite(x)
    qf = q[fin]
    return (int((dev > tol).sum()), int(((dev > 0) & member).sum()), int((~member & fin).sum()), float(dev[fin].max()),
            float(qf.min()), float(qf.max()), float(qf.double().mean()), float(qf.double().std()), int((qf >= qmax).sum()),
            int((qf <= qmin).sum()), torch.bincount((qf.clamp(qmin, qmax) - qmin).to(torch.int64), minlength=qmax - qmin + 1),
            torch.topk(dev.flatten(), 10))

def main():
    dev = torch.device('cuda')
    n = 1 << 28
    g = torch.Generator(device=dev).manual_seed(0)
    s = 0.0121623231
    # The same three kinds of data as the CUDA benchmark: an on-grid dump (Gaussian activations
    # quantized, saturating) and a stress mix (codes past the range, 10% off grid).
    on_grid = torch.clamp(torch.round(torch.randn(n, device=dev, generator=g) * 30), -128, 127) * s
    stress = torch.randint(-140, 141, (n,), device=dev, generator=g).float() * s
    noise = torch.rand(n, device=dev, generator=g) < 0.1
    stress[noise] += torch.rand(int(noise.sum()), device=dev, generator=g) * s
    raw = torch.randn(n, device=dev, generator=g) * 30 * s  # FP32 activations never quantized: all off grid
    for name, x in (("on-grid dump", on_grid), ("stress mix", stress), ("unquantized fp32", raw)):
        ms = timed(lambda: verify(x, s))
        print(f"BENCH torch verify, {name}: {n * 4 / (ms * 1e6):.1f} GB/s over 1024 MiB, {ms:.3f} ms per pass")
    del on_grid, stress, noise, raw
    # conv1d (mamba-130m: d_inner 1536, L 2048, kernel 4) in three modes, same math as the fixtures' generator.
    D, L, K = 1536, 2048, 4
    xin = torch.randn(1, D, L, device=dev) * 0.12
    w_q = torch.randint(-127, 128, (D, 1, K), device=dev, dtype=torch.int8)
    bias_q = torch.randint(-1000, 1001, (D,), device=dev, dtype=torch.int32)
    s_x, s_w, s_out = 0.0121623231, 0.00704237, 0.0183
    s_b = s_x * s_w
    q8 = lambda v, sc: torch.clamp(torch.round(v / sc), -128, 127)
    def baseline():
        x_q = q8(xin, s_x)
        acc = F.conv1d(F.pad(x_q.double(), (K - 1, 0)), w_q.double(), groups=D).round().to(torch.int64) + bias_q.to(torch.int64)[None, :, None]
        y = acc.float() * s_b
        return q8(y * torch.sigmoid(y), s_out).to(torch.int8)
    def sim(mode):
        x_sim = q8(xin, s_x) * s_x
        y = F.conv1d(F.pad(x_sim, (K - 1, 0)), w_q.float() * s_w, bias=bias_q.float() * s_b, groups=D)
        ys = y * torch.sigmoid(y)
        out = q8(ys, s_out) * s_out
        return out, (out if mode == 2 else ys)
    for name, fn in (("baseline", baseline), ("mode1", lambda: sim(1)), ("mode2", lambda: sim(2))):
        print(f"BENCH torch conv1d {name} D={D} L={L}: {timed(fn, 50):.3f} ms (device-resident)")

def layers():
    """x_proj (W8A8 linear, 1536 -> 80) and the selective scan (D 1536, S 16) at L = 2048, as PyTorch computes them."""
    dev = torch.device('cuda')
    torch.backends.cuda.matmul.allow_tf32 = False
    L, K, N, D, S = 2048, 1536, 80, 1536, 16
    x = torch.randn(L, K, device=dev) * 0.12
    wq = torch.randint(-127, 128, (N, K), device=dev, dtype=torch.int8)
    sw = torch.rand(N, device=dev) * 1e-3 + 1e-4
    bias = torch.randint(-10000, 10001, (N,), device=dev, dtype=torch.int32)
    sx = torch.tensor(0.0183, device=dev)
    sb = sx * sw
    def base():
        xq = torch.clamp(torch.round(x / sx), -128, 127)
        return ((xq.double() @ wq.double().T).round().long() + bias.long()).float() * sb
    def sim():
        xq = torch.clamp(torch.round(x / sx), -128, 127)
        return (xq * sx) @ (wq.float() * sw[:, None]).T + bias.float() * sb
    print(f"BENCH torch linear baseline T={L} K={K} N={N}: {timed(base, 50):.3f} ms (device-resident)")
    print(f"BENCH torch linear mode1/mode2 T={L} K={K} N={N}: {timed(sim, 50):.3f} ms (device-resident)")
    u, delta, z = (torch.randn(1, D, L, device=dev) for _ in range(3))
    A = -torch.exp(torch.randn(D, S, device=dev))
    B, C = torch.randn(1, S, L, device=dev), torch.randn(1, S, L, device=dev)
    Dsk, db = torch.randn(D, device=dev), torch.randn(D, device=dev)
    def scan():
        dt = F.softplus(delta + db[None, :, None])
        dA = torch.exp(torch.einsum('bdl,dn->bdln', dt, A))
        dBu = torch.einsum('bdl,bnl,bdl->bdln', dt, B, u)
        h = torch.zeros(1, D, S, device=dev)
        ys = []
        for i in range(L):
            h = dA[:, :, i] * h + dBu[:, :, i]
            ys.append(torch.einsum('bdn,bn->bd', h, C[:, :, i]))
        return (torch.stack(ys, dim=2) + u * Dsk[None, :, None]) * F.silu(z)
    print(f"BENCH torch scan (reference loop) D={D} L={L} S={S}: {timed(scan, 3):.3f} ms (device-resident)")

main()
layers()
