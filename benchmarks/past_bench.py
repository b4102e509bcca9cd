"""PAST benchmarks: (1) PAST's extra cost per tuning epoch over plain training (target <= 1.3x; the paper reports
about +10 %), (2) LiRA shadow models trained in one vectorised batch (torch.func.vmap over stacked MLPs) against the
one-by-one loop, in shadow models per second. Prints CPU time (this process) and peak memory.

    python benchmarks/past_bench.py            # smoke size: seconds
    python benchmarks/past_bench.py --full     # cpu-scale sizes (500 members, MNIST-5k MLP; 16 shadows)
"""
import argparse, copy, resource, sys, time
import numpy as np, torch
from trustbook.datasets import load_mnist5k
from trustbook.privacy.core import SPLITS, six_way_split, model_factory, train_classifier, train_stacked
from trustbook.privacy.past import past_tune

def cpu(): return time.process_time()

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--full', action='store_true', help='cpu-scale sizes instead of the smoke default')
    ap.add_argument('--threads', type=int, default=1, help='torch threads')
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    n, epochs, tune, K, pool, sh_epochs, reps = (500, 40, 15, 16, 1000, 20, 3) if a.full else (120, 10, 5, 4, 200, 5, 2)
    X, y = load_mnist5k()
    sp = six_way_split(X, y, {**{k: n for k in SPLITS[:5]}, 'validation': 1}, seed=0)
    mk = model_factory('mlp', X.shape[1:], 10)
    torch.manual_seed(0); base = mk(); train_classifier(base, *sp['target_train'], epochs=epochs, seed=0)
    print(f"== PAST overhead: MLP 784-256-256-10, {n} members, {tune} tuning epochs, best of {reps} ==")
    res = {}
    for name, kw in [('plain', dict(lam=0.0)), ('past, gamma per epoch', dict(lam=0.002)), ('past, gamma per step', dict(lam=0.002, update_every=1))]:
        ts = []
        for r in range(reps):
            m = copy.deepcopy(base); t = cpu()
            past_tune(m, sp['target_train'], sp['inference'], epochs=tune, seed=r, **kw); ts.append(cpu() - t)
        res[name] = min(ts)
        print(f"{name:24s} {res[name]/tune*1000:8.1f} ms/epoch   ratio {res[name]/res['plain']:.2f}x")
    print(f"target <= 1.3x for the default (gamma per epoch): {'met' if res['past, gamma per epoch']/res['plain'] <= 1.3 else 'NOT met'}")

    print(f"\n== LiRA shadows: {K} MLPs on halves of a {pool}-sample pool, {sh_epochs} epochs ==")
    Xp, yp = X[:pool], y[:pool]
    masks = np.argsort(np.random.default_rng(0).random((K, pool)), axis=0) < K//2
    mk0 = lambda: mk(0.0)
    out = {}
    for vec in (True, False):
        t = cpu(); train_stacked(mk0, Xp, yp, masks, epochs=sh_epochs, vectorised=vec, seed=0); dt = cpu() - t
        out[vec] = dt
        print(f"{'vectorised (vmap)' if vec else 'one by one':24s} {dt:7.2f} CPU-s   {K/dt:6.2f} shadow models/s")
    print(f"speed-up of the vectorised batch: {out[False]/out[True]:.2f}x")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024
    print(f"\npeak memory (RSS): {rss:.0f} MB")

if __name__ == '__main__': main()
