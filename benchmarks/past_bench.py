"""PAST benchmarks: (1) PAST's extra cost per tuning epoch over plain training, with gamma from every mini-batch (the
default) and once per epoch (the paper reports +10.4 % for its whole schedule; experiments/past_overhead times that),
(2) reference models trained in one masked vectorised pass (torch.func.vmap over stacked MLPs) against the same
schedule one model at a time, in models per second. Prints CPU time (this process) and peak memory.

    python benchmarks/past_bench.py            # smoke size: seconds
    python benchmarks/past_bench.py --full     # cpu-scale sizes (500 members, MNIST-5k MLP; 16 shadows)
"""
import argparse, copy, resource, sys, time
import numpy as np, torch
from trustbook.privacy.data import privacy_testbed
from trustbook.privacy.shadow import train_stacked
from trustbook.privacy.past import past_tune

def cpu(): return time.process_time()

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--full', action='store_true', help='cpu-scale sizes instead of the smoke default')
    ap.add_argument('--threads', type=int, default=1, help='torch threads')
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    n, epochs, tune, K, pool, sh_epochs, reps = (500, 40, 15, 16, 1000, 20, 3) if a.full else (120, 10, 5, 4, 200, 5, 2)
    tb = privacy_testbed('mnist5k:mlp', 0, n, 1, {'mlp': {'hidden': (256, 256)}}); sp, mk = tb.split, tb.make_model
    base = tb.plain_model('target_train', epochs, cache=False)
    print(f"== PAST overhead: MLP 784-256-256-10, {n} members, {tune} tuning epochs, best of {reps} ==")
    res = {}
    for name, kw in [('plain', dict(lam=0.0)), ('past, gamma per epoch', dict(lam=0.002, update_every='epoch')), ('past, gamma per step', dict(lam=0.002, update_every=1))]:
        ts = []
        for r in range(reps):
            m = copy.deepcopy(base); t = cpu()
            past_tune(m, sp['target_train'], sp['inference'], epochs=tune, seed=r, **kw); ts.append(cpu() - t)
        res[name] = min(ts)
        print(f"{name:24s} {res[name]/tune*1000:8.1f} ms/epoch   ratio {res[name]/res['plain']:.2f}x")
    print(f"per-step gamma (the default) costs {res['past, gamma per step']/res['plain']:.2f}x a plain tuning epoch")

    print(f"\n== reference models: {K} MLPs on halves of a {pool}-sample pool, {sh_epochs} epochs (masked schedule) ==")
    Xp, yp = tb.split.X[:pool], tb.split.y[:pool]
    masks = np.argsort(np.random.default_rng(0).random((K, pool)), axis=0) < K//2
    mk0 = lambda: mk(0.0)
    out = {}
    for vec in (True, False):
        t = cpu(); train_stacked(mk0, Xp, yp, masks, epochs=sh_epochs, vectorised=vec, seed=0); dt = cpu() - t
        out[vec] = dt
        print(f"{'vectorised (vmap)' if vec else 'one by one':24s} {dt:7.2f} CPU-s   {K/dt:6.2f} models/s")
    print(f"speed-up of the vectorised batch: {out[False]/out[True]:.2f}x")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024
    print(f"\npeak memory (RSS): {rss:.0f} MB")

if __name__ == '__main__': main()
