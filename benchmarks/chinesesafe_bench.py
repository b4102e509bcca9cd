"""Speed and memory of the ChineseSafe harness: row validation, the variant/homophone perturbation, and both
evaluation protocols with a tiny character judge (CPU). Default: a seconds-long run; `--full` for bigger sizes.

    python benchmarks/chinesesafe_bench.py [--full] [--threads 1]
"""
import argparse, json, os, resource, sys, tempfile, time
from pathlib import Path


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn, *a, **kw):
    t0, c0 = time.perf_counter(), time.process_time()
    r = fn(*a, **kw)
    return r, time.perf_counter() - t0, time.process_time() - c0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--full', action='store_true', help='bigger sizes (about a minute)')
    ap.add_argument('--threads', type=int, default=1, help='torch threads')
    a = ap.parse_args()
    import torch; torch.set_num_threads(a.threads)
    from trustbook.llm import chinesesafe as cs, chinesesafe_perturb as cp
    n_rows, n_eval, epochs = (200_000, 240, 60) if a.full else (6_000, 30, 8)
    sample = cs.load_sample()
    reps = -(-n_rows // len(sample))
    rows = (sample[['text', 'label', 'subclass']].rename(columns={'subclass': 'category'}).to_dict('records') * reps)[:n_rows]
    with tempfile.TemporaryDirectory() as t:
        p = Path(t)/'rows.jsonl'
        p.write_text('\n'.join(json.dumps(r, ensure_ascii=False) for r in rows), encoding='utf-8')
        df, wall, cpu = timed(cs.load_chinesesafe, p)
    print(f"load+validate  {len(df):>8,} rows   {wall:7.2f} s wall  {cpu:7.2f} s CPU   {len(df)/wall:>10,.0f} rows/s")

    texts = list(sample.text) * max(1, (n_rows // 10) // len(sample))
    n_chars = sum(map(len, texts))
    cp.perturb_texts(texts[:5], 0.5)  # build the homophone index once (measured separately)
    for m in list(cp.METHODS) + ['all']:
        methods = cp.METHODS if m == 'all' else [m]
        _, wall, cpu = timed(cp.perturb_texts, texts, 0.3, 0, methods)
        print(f"perturb {m:<9} {n_chars:>8,} chars  {wall:7.2f} s wall  {cpu:7.2f} s CPU   {n_chars/wall:>10,.0f} chars/s (rate 0.3)")

    (model, tok), wall, cpu = timed(cs.train_tiny_judge, list(sample.text), list(sample.label), epochs=epochs, cache=False)
    print(f"train tiny judge  {epochs} epochs  {wall:7.2f} s wall  {cpu:7.2f} s CPU   ({sum(p.numel() for p in model.parameters()):,} parameters)")
    ev = sample.sample(n_eval, replace=True, random_state=0).reset_index(drop=True)
    for meth in ('generation', 'perplexity'):
        _, wall, cpu = timed(cs.evaluate_model, model, tok, ev, methods=[meth], template=cs.PROMPTS['zh_short'], max_new_tokens=4)
        print(f"evaluate {meth:<10} {n_eval:>5} rows   {wall:7.2f} s wall  {cpu:7.2f} s CPU   {n_eval/wall:>10,.1f} rows/s")
    print(f"peak RSS {peak_rss_mb():.0f} MB; torch threads {torch.get_num_threads()}; python {sys.version.split()[0]}")


if __name__ == '__main__':
    main()
