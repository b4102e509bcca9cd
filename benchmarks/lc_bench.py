"""LC scoring speed: samples scored per second (loop vs vmapped capacities), and its cost against the training-based
scores (forgetting: one full fine-tuning run; EL2N: runs stopped at 10% of the epochs) at the same scale.

    python benchmarks/lc_bench.py            # smoke size: 200 digits, 10 capacities, seconds
    python benchmarks/lc_bench.py --full     # the cpu experiment's size: 1,078 digits, 50 capacities, 20-epoch fine-tuning
"""
import argparse, time, resource
import numpy as np, torch
from trustbook.curation.data import lc_testbed
from trustbook.curation.lc import learning_complexity
from trustbook.curation.pruning import score

def timed(fn, device):
    if device.type == 'cuda': torch.cuda.synchronize()
    c, w = time.process_time(), time.perf_counter(); fn()
    if device.type == 'cuda': torch.cuda.synchronize()
    return time.process_time() - c, time.perf_counter() - w

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--full', action='store_true', help='the cpu-scale size instead of the smoke size')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--device', default='cpu', help="'cpu' or 'cuda'")
    a = ap.parse_args()
    torch.set_num_threads(a.threads); dev = torch.device(a.device)
    n_down, steps, epochs, n_pre, pe, el2n_runs = (None, 50, 20, None, 15, 10) if a.full else (200, 10, 5, 500, 2, 2)
    tb = lc_testbed('cpu', n_pretrain=n_pre, n_downstream=n_down, pretrain_epochs=pe, finetune_epochs=epochs)
    torch.set_num_threads(a.threads)  # the testbed pins one thread; the benchmark's choice wins
    pre = tb.pretrained.to(dev); Xtr, y, _, _ = tb.split(0); X = torch.as_tensor(Xtr).to(dev)
    print(f"device {dev}, threads {a.threads}; {len(y)} samples, {steps} capacities, fine-tuning {epochs} epochs")
    res = {}
    for chunk in (1, 5, steps):
        cpu, wall = timed(lambda: learning_complexity(pre, X, y, n_steps=steps, chunk=chunk), dev)
        # on a shared CPU, CPU seconds are the fair measure; on a GPU, wall seconds
        t = wall if dev.type == 'cuda' else cpu; res[chunk] = t
        print(f"LC chunk={chunk:3d} ({'loop' if chunk == 1 else 'vmap'}): {wall:7.3f} s wall, {cpu:7.3f} s CPU, "
              f"{len(y) / t:9.0f} samples/s, {len(y) * steps / t:10.0f} sample-capacities/s ({'wall' if dev.type == 'cuda' else 'CPU'} time)")
    best = min(res, key=res.get)
    ft = {**tb.finetune_kw, 'device': dev, 'checkpoint': False}
    Xc = X.cpu().numpy()
    pick = (lambda c, w: w) if dev.type == 'cuda' else (lambda c, w: c); unit = 'wall' if dev.type == 'cuda' else 'CPU'
    t_fo = pick(*timed(lambda: score('forgetting', pre, Xc, y, finetune_kw=ft), dev))
    t_el = pick(*timed(lambda: score('el2n', pre, Xc, y, finetune_kw=ft, el2n_runs=el2n_runs), dev))
    print(f"forgetting (1 full run of {epochs} epochs): {t_fo:.3f} s {unit} -> LC (chunk={best}) is {t_fo / res[best]:.1f}x faster (paper: 35x)")
    print(f"EL2N ({el2n_runs} runs x {max(1, round(0.1 * epochs))} epochs): {t_el:.3f} s {unit} -> LC is {t_el / res[best]:.1f}x faster")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB" +
          (f"; peak GPU memory {torch.cuda.max_memory_allocated() / 2**20:.0f} MB" if dev.type == 'cuda' else ''))

if __name__ == '__main__': main()
