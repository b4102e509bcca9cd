"""Speed/memory of SR distillation: training patches per second for a student step with each KD method (teacher
inference included), and full-image inference time per test set.

    python benchmarks/sr_bench.py            # smoke-sized models, seconds on a CPU
    python benchmarks/sr_bench.py --full     # the papers' RCAN pair (x4, 10 groups x 20 -> x 6 RCABs), patch 48, batch 16
    python benchmarks/sr_bench.py --full --device cuda   # mixed precision (bf16 autocast) and channels-last on a GPU
"""
import argparse, os, resource, time
import numpy as np
import torch

from trustbook.sr.data import skimage_pairs, load_benchmark, benchmark_available
from trustbook.sr.models import edsr, rcan, Bicubic, n_params, build_sr
from trustbook.sr.kd import make_distiller, train_sr, DISTILLERS  # MiPKD and DUKD resolve by name


def sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--full', action='store_true', help="paper-sized RCAN x4 pair, LR patch 48, batch 16")
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--steps', type=int, default=None, help="timed steps per method (default 3 smoke, 10 full)")
    ap.add_argument('--methods', default=','.join(DISTILLERS))
    args = ap.parse_args()
    dev = torch.device(args.device)
    gpu = dev.type == 'cuda'
    if args.full:
        scale, T, S, batch, patch = 4, rcan(4, 64, 10, 20), rcan(4, 64, 10, 6), 16, 48
    else:
        scale, T, S, batch, patch = 2, edsr(2, 16, 4, 2, upsample_skip=True), edsr(2, 8, 2, 2, upsample_skip=True), 4, 16
    steps = args.steps or (10 if args.full else 3)
    mf = torch.channels_last if gpu else torch.contiguous_format
    print(f"device {dev}; teacher {n_params(T)/1e6:.3f}M params, student {n_params(S)/1e6:.3f}M; x{scale}, batch {batch}, "
          f"LR patch {patch}; {'bf16 autocast + channels-last' if gpu else 'fp32'}")
    pairs = skimage_pairs('train', scale, max_side=max(256, patch * scale * 2))
    T = T.to(dev, memory_format=mf)
    print(f"\n{'method':10s} {'patches/s':>10s} {'vs scratch':>10s} {'ms/step':>9s}")
    base = None
    for m in args.methods.split(','):
        torch.manual_seed(0)
        st = build_sr(S.config).to(dev, memory_format=mf)
        d = make_distiller(m, st, T).to(dev)
        if gpu: torch.cuda.reset_peak_memory_stats()
        kw = dict(batch=batch, patch=patch, lr=1e-4, checkpoint=False, accelerator=None)
        train_sr(d, pairs, iters=1, **kw)  # warm-up (allocations, kernel selection)
        sync(dev); t0 = time.perf_counter()
        train_sr(d, pairs, iters=steps, **kw)  # the library's loop: fit, bf16 autocast and channels-last on CUDA
        sync(dev); dt = (time.perf_counter() - t0) / steps
        ps = batch / dt; base = base or ps
        mem = f"  peak GPU {torch.cuda.max_memory_allocated()/2**30:.2f} GiB" if gpu else ''
        print(f"{m:10s} {ps:10.1f} {ps/base:10.2f}x {dt*1e3:9.1f}{mem}")
    sets = {'skimage-test': skimage_pairs('test', scale)}
    if benchmark_available():
        for name in ('Set5', 'Set14', 'BSD100'):
            try: sets[name] = load_benchmark(name, scale)
            except Exception: pass
    print(f"\nfull-image inference, seconds per test set (x{scale}):")
    print(f"{'set':14s} {'images':>6s} {'bicubic':>9s} {'student':>9s} {'teacher':>9s}")
    st = build_sr(S.config).to(dev, memory_format=mf).eval()
    for name, prs in sets.items():
        row = []
        for model in (Bicubic(scale), st, T.eval()):
            sync(dev); t0 = time.perf_counter()
            with torch.no_grad(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=gpu):
                for p in prs:
                    x = torch.from_numpy(np.repeat(p.lr, 3, 2) if p.lr.shape[2] == 1 else p.lr).permute(2, 0, 1)[None].float().div(255)
                    model(x.to(dev).contiguous(memory_format=mf))
            sync(dev); row.append(time.perf_counter() - t0)
        print(f"{name:14s} {len(prs):6d} " + ' '.join(f"{v:9.3f}" for v in row))
    print(f"\npeak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024:.0f} MiB")


if __name__ == '__main__':
    main()
