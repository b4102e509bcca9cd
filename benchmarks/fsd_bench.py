"""Speed and memory of the single-pass membership scorer vs a naive one-pass-per-score loop.

The single-pass scorer (`trustbook.llm.core.membership_scores`) makes two forward passes per batch (the texts, and
their lower-cased copies for Lowercase) and reads all five scores from them. The naive loop makes six: one each for
Perplexity, Zlib, Min-k%, Min-k%++, and two for Lowercase. Ideal ratio 3x; the issue asks for >= 2.5x.

    python benchmarks/fsd_bench.py                 # smoke size: a small byte-level GPT-2, seconds on a CPU
    python benchmarks/fsd_bench.py --full          # a larger GPT-2 and more texts (cpu scale)
    python benchmarks/fsd_bench.py --model EleutherAI/pythia-6.9b --n-texts 256 --dtype bfloat16   # paper scale, GPU
"""
import argparse, resource, sys, time
import numpy as np

def naive_scores(model, tok, texts, k, batch_size, max_length):
    "Each score computed on its own, as separate attack implementations would: six forward passes per batch."
    from trustbook.llm.core import token_stats, token_logprobs
    from trustbook.llm.scores import zlib_bytes, _mink
    out = {}
    lp = token_logprobs(model, tok, texts, batch_size, max_length)                                   # pass 1
    out['perplexity'] = [v.mean() for v in lp]
    lp = token_logprobs(model, tok, texts, batch_size, max_length)                                   # pass 2
    out['zlib'] = [v.mean() / zlib_bytes(t) for v, t in zip(lp, texts)]
    lp = token_logprobs(model, tok, texts, batch_size, max_length)                                   # pass 3
    out['min_k'] = [_mink(v, k) for v in lp]
    st = token_stats(model, tok, texts, batch_size, max_length, with_dist=True)                      # pass 4
    out['min_k_pp'] = [_mink((d['logprob'] - d['mu']) / d['sigma'], k) for d in st]
    a = token_logprobs(model, tok, texts, batch_size, max_length)                                    # pass 5
    b = token_logprobs(model, tok, [t.lower() for t in texts], batch_size, max_length)              # pass 6
    out['lowercase'] = [-y.mean() / -x.mean() for x, y in zip(a, b)]
    return out

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--full', action='store_true', help='cpu-scale sizes (larger model, more texts)')
    ap.add_argument('--model', default=None, help='a hub id or folder of a causal LM (default: a from-scratch GPT-2)')
    ap.add_argument('--dtype', default=None, help='e.g. bfloat16 (GPU)')
    ap.add_argument('--n-texts', type=int, default=None)
    ap.add_argument('--batch-size', type=int, default=16)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--threads', type=int, default=1, help='torch CPU threads')
    a = ap.parse_args()
    import torch
    torch.set_num_threads(a.threads)
    from trustbook.llm.core import load_causal_lm, encode_texts
    from trustbook.llm.scores import membership_scores
    from trustbook.llm.tiny import byte_tokenizer, tiny_gpt2, pydoc_topics, topic_chunks
    if a.model:
        model, tok = load_causal_lm(a.model, dtype=getattr(torch, a.dtype) if a.dtype else None)
        n_chars, n = 600, a.n_texts or 128
    else:
        tok = byte_tokenizer()
        cfg = dict(n_layer=6, n_embd=384, n_head=6, n_positions=512) if a.full else dict(n_layer=2, n_embd=128, n_head=4)
        model = tiny_gpt2(**cfg).eval(); n_chars, n = (300, a.n_texts or 128) if a.full else (150, a.n_texts or 16)
    dev = next(model.parameters()).device
    texts = [c for v in topic_chunks(pydoc_topics(), n_chars).values() for c in v][:n]
    n_tok = sum(len(s) - 1 for s in encode_texts(tok, texts))
    k, bs, ml = 0.2, a.batch_size, None
    sync = (lambda: torch.cuda.synchronize()) if dev.type == 'cuda' else (lambda: None)
    # CPU: process time (the machine may be shared, wall time is noise); GPU: wall time after synchronising
    clock = time.perf_counter if dev.type == 'cuda' else time.process_time
    def timed(f):
        f(); sync(); ts = []                       # one warm-up run
        if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats()
        for _ in range(a.repeats):
            t = clock(); f(); sync(); ts.append(clock() - t)
        mem = torch.cuda.max_memory_allocated() / 2**20 if dev.type == 'cuda' else None
        return min(ts), mem
    single = lambda: membership_scores(model, tok, texts, k=k, batch_size=bs, max_length=ml)
    naive = lambda: naive_scores(model, tok, texts, k, bs, ml)
    # the two must agree before their speed means anything
    s, nv = single(), naive()
    for c in ('perplexity', 'zlib', 'min_k', 'min_k_pp', 'lowercase'):
        np.testing.assert_allclose(s[c].values, nv[c], rtol=1e-3, atol=1e-4, err_msg=c)
    t1, m1 = timed(single); t2, m2 = timed(naive)
    n_par = sum(p.numel() for p in model.parameters())
    print(f"model: {a.model or 'from-scratch GPT-2 ' + str(cfg)} ({n_par/1e6:.1f} M params) on {dev}, {a.threads} thread(s)")
    print(f"texts: {len(texts)}, scored tokens: {n_tok}, batch size {bs}, best of {a.repeats} ({'wall' if dev.type == 'cuda' else 'CPU'} time)")
    print(f"single-pass scorer (2 passes):  {n_tok / t1:10.0f} scored tokens/s  ({t1:.3f} s for all five scores)")
    print(f"naive loop (6 passes):          {n_tok / t2:10.0f} scored tokens/s  ({t2:.3f} s)")
    print(f"speed-up: {t2 / t1:.2f}x (ideal 3.00x, target >= 2.5x) -> {'OK' if t2 / t1 >= 2.5 else 'BELOW TARGET'}")
    if m1 is not None: print(f"peak GPU memory: single-pass {m1:.0f} MiB, naive {m2:.0f} MiB")
    print(f"peak process RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")

if __name__ == '__main__':
    main()
