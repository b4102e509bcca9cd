"""Speed and memory of trustbook.recsys on MovieLens-100K (or a small synthetic matrix with --smoke).

Prints: training throughput (interactions / CPU-second) per sampler x loss x backbone, DNS's cost over RNS per epoch,
full-ranking evaluation time for all users, and peak memory. Targets (issue 6): DNS with M=32 under 2x RNS per epoch;
evaluating every user under 1 s on 2 cores; LightGCN propagation with sparse products (checked: the adjacency layout).

    OMP_NUM_THREADS=2 python benchmarks/recsys_bench.py            # ML-100K (the full size)
    python benchmarks/recsys_bench.py --smoke                      # seconds: a 200 x 300 synthetic matrix
"""
import argparse, resource, time
import numpy as np, torch
from trustbook.recsys.data import load_data
from trustbook.recsys.models import make_model
from trustbook.recsys.training import method_config, train
from trustbook.recsys.evaluation import full_ranking_metrics
from trustbook.core import seed_everything

def cpu(): return time.process_time()

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--smoke', action='store_true', help='a small synthetic matrix instead of MovieLens-100K')
    ap.add_argument('--epochs', type=int, default=2, help='epochs timed per configuration')
    ap.add_argument('--m', type=int, default=32, help='DNS candidates')
    ap.add_argument('--threads', type=int, default=None, help='torch threads (default: torch decides)')
    a = ap.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    data = load_data('planted', n_users=200, n_items=300, per_user=20) if a.smoke else load_data('ml-100k')
    print(f'{data}; torch threads {torch.get_num_threads()}')
    n = data.train.nnz * a.epochs
    rows = {}
    for model in ('mf', 'lightgcn'):
        for meth in ('RNS-BPR', 'DNS-BPR', 'DNS-Hard-BPR', 'DNS-scaled-BPR', 'DNS-soft-BPR', 'DNS-PDNS'):
            seed_everything(0); net = make_model(model, data, 64, 2)
            cfg = method_config(meth, m=a.m, epochs=a.epochs, lr=5e-3)
            t, w = cpu(), time.perf_counter()
            train(net, data, cfg, seed=0)
            c, wall = cpu() - t, time.perf_counter() - w
            rows[(model, meth)] = c
            print(f'{model:9s} {meth:14s} {n / c:10,.0f} interactions per CPU-s  ({c / a.epochs:.3f} CPU-s, {wall / a.epochs:.3f} wall-s per epoch incl. final eval)')
        r = rows[(model, 'DNS-BPR')] / rows[(model, 'RNS-BPR')]
        print(f'{model:9s} DNS (M={a.m}) / RNS cost per epoch: {r:.2f}x  (target < 2x: {"met" if r < 2 else "NOT met"})')
        if model == 'lightgcn': print(f'lightgcn adjacency layout: {net.adj.layout} (sparse, nnz={net.adj.values().numel():,}; never dense)')
    for model in ('mf', 'lightgcn'):
        seed_everything(0); net = make_model(model, data, 64, 2); net.eval()
        full_ranking_metrics(net, data)          # warm-up
        t, w = cpu(), time.perf_counter()
        for _ in range(5): full_ranking_metrics(net, data, ks=(20, 50))
        c, wall = (cpu() - t) / 5, (time.perf_counter() - w) / 5
        print(f'{model:9s} full-ranking eval of all {data.n_users} users x {data.n_items} items: {wall:.3f} wall-s, {c:.3f} CPU-s '
              f'(target < 1 s: {"met" if wall < 1 else "NOT met"})')
    print(f'peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB')

if __name__ == '__main__': main()
