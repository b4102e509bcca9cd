"Every trustbook training loop resumes exactly: a loop killed right after a checkpoint ends with the same bits as one never killed."
import numpy as np, pytest, torch
from trustbook.checkpoint import set_run_checkpoints, Checkpointer


class Killed(Exception): pass


@pytest.fixture
def run_ckpts(tmp_path, monkeypatch):
    "Automatic checkpoints (as in a runner's run) saved at every step; `kill_at(k)` makes the loop die right after saving step k."
    set_run_checkpoints(tmp_path/'ckpt', every_s=0)
    orig = Checkpointer.step
    def kill_at(k):
        def step(self, done, **extra):
            orig(self, done, **extra)
            if done == k: raise Killed(f'killed after step {k}')
        monkeypatch.setattr(Checkpointer, 'step', step)
    def revive(): monkeypatch.setattr(Checkpointer, 'step', orig)
    yield tmp_path/'ckpt', kill_at, revive
    set_run_checkpoints(None)


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _check_resume(run_ckpts, capfd, train, k, expect_files=1):
    "train() -> (model, output). Reference without checkpoints, killed run, resumed run, then a rerun that restores."
    root, kill_at, revive = run_ckpts
    set_run_checkpoints(None); ref_m, ref_out = train()
    set_run_checkpoints(root, every_s=0); kill_at(k)
    with pytest.raises(Killed): train()
    assert len(list(root.glob('*.pt'))) == expect_files
    revive(); capfd.readouterr()
    m, out = train()
    assert f'at step {k}' in capfd.readouterr().err, 'the rerun did not resume from the checkpoint'
    assert _same_weights(ref_m, m) and out == ref_out
    m2, out2 = train()  # a finished loop is restored, not retrained
    assert f'at step' in capfd.readouterr().err and _same_weights(ref_m, m2) and out2 == ref_out


def _without_timings(h):
    "A loop's history without its CPU timings and resume point (a resumed loop spends less time, but computes the same numbers)."
    if isinstance(h, dict): return {k: _without_timings(v) for k, v in h.items() if k not in ('cpu_s', 'resumed_from')}
    if isinstance(h, list): return [_without_timings(v) for v in h]
    return h


def test_curation_classifier_resumes(run_ckpts, capfd):
    from trustbook.classify import train_classifier, make_classifier
    rng = np.random.default_rng(0); X = rng.normal(size=(120, 10)).astype(np.float32); y = rng.integers(0, 3, 120)
    def train():
        torch.manual_seed(0); m = make_classifier('mlp', (10,), 3)
        train_classifier(m, X, y, epochs=5, batch_size=32, lr=0.05, seed=1, device='cpu')
        return m, None
    _check_resume(run_ckpts, capfd, train, 2)


def test_privacy_classifier_with_early_stopping_resumes(run_ckpts, capfd):
    from trustbook.classify import train_classifier
    rng = np.random.default_rng(1); X = rng.normal(size=(100, 8)).astype(np.float32); y = rng.integers(0, 2, 100)
    def train():
        torch.manual_seed(0); m = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
        h = train_classifier(m, X, y, epochs=6, lr=0.05, batch_size=25, X_val=X[:30], y_val=y[:30], patience=2, l2=1e-3, seed=2)
        return m, _without_timings(h)
    _check_resume(run_ckpts, capfd, train, 3)


def test_recsys_train_resumes(run_ckpts, capfd):
    from trustbook.recsys.core import planted_lowrank, TrainConfig, make_model, train
    d = planted_lowrank(30, 40, per_user=6, seed=0)
    cfg = TrainConfig(sampler='dns', m=4, epochs=4, lr=1e-2, batch_size=64, ks=(5,), eval_every=2)
    def run():
        torch.manual_seed(0); m = make_model('lightgcn', d, dim=8, n_layers=2)
        r = train(m, d, cfg, seed=3)
        return m, (r['final'], r['history'].to_json())
    _check_resume(run_ckpts, capfd, run, 2)


def test_sr_training_resumes(run_ckpts, capfd):
    from trustbook.sr.models import edsr
    from trustbook.sr.kd import make_distiller, train_sr
    from trustbook.sr.data import SRPair, make_lr
    hr = np.random.default_rng(0).integers(0, 256, (32, 32, 3)).astype(np.uint8)
    h, l = make_lr(hr, 2); pairs = [SRPair('x', h, l, 2)]
    torch.manual_seed(0); teacher = edsr(2, 8, 2, 2)
    def train():
        torch.manual_seed(1); s = edsr(2, 4, 2, 2); dist = make_distiller('fitnet', s, teacher)
        hist = train_sr(dist, pairs, iters=6, batch=2, patch=8, seed=4)
        return s, hist['losses']
    _check_resume(run_ckpts, capfd, train, 3)


def test_causal_lm_and_instruction_tuning_resume(run_ckpts, capfd):
    from trustbook.llm.tiny import tiny_gpt2, byte_tokenizer, train_causal_lm
    from trustbook.curation.lc_instruct import instruction_finetune
    tok = byte_tokenizer(); texts = ['the cat sat on the mat', 'a dog ran in the park', 'birds sing at dawn'] * 3
    def lm():
        m = tiny_gpt2(n_layer=1, n_embd=16, n_head=2, seed=0)
        h = train_causal_lm(m, tok, texts, epochs=3, batch_size=4, lr=1e-2, warmup_steps=0, seed=5)
        return m, h
    _check_resume(run_ckpts, capfd, lm, 1)
    ex = [dict(instruction='colour of the sky', input='', output='blue'), dict(instruction='colour of grass', input='', output='green')] * 2
    def lora():
        m, h = instruction_finetune(tiny_gpt2(n_layer=1, n_embd=16, n_head=2, seed=0), tok, ex, method='lora',
                                    lora=dict(target_modules=['c_attn']), epochs=3, batch_size=2, template='compact', seed=6)
        return m, h
    _check_resume(run_ckpts, capfd, lora, 2, expect_files=2)


def test_lora_checkpoint_keeps_only_what_trains(tmp_path):
    from trustbook.llm.tiny import tiny_gpt2
    from trustbook.llm.core import tuning_model
    m = tuning_model(tiny_gpt2(n_layer=1, n_embd=16, n_head=2, seed=0), 'lora', dict(r=2, alpha=4, dropout=0.0, target_modules=['c_attn']))
    Checkpointer(tmp_path/'c.pt', dict(model=m)).save(1)
    saved = torch.load(tmp_path/'c.pt', weights_only=False)['objs']['model'][1]
    assert saved and all('lora_' in k for k in saved), sorted(saved)[:5]


def test_same_weights_other_architecture_never_share_a_checkpoint(tmp_path):
    "An MF and a LightGCN start from the same embeddings: each must get its own checkpoint, not the other's."
    from trustbook.recsys.core import planted_lowrank, TrainConfig, fit
    d = planted_lowrank(30, 40, per_user=6, seed=0); cfg = TrainConfig(epochs=2, batch_size=64, ks=(5,))
    set_run_checkpoints(None); want = fit(d, 'lightgcn', cfg, seed=1, dim=8, n_layers=2)['final']
    set_run_checkpoints(tmp_path, every_s=0)
    try:
        fit(d, 'mf', cfg, seed=1, dim=8); got = fit(d, 'lightgcn', cfg, seed=1, dim=8, n_layers=2)['final']
    finally: set_run_checkpoints(None)
    assert got == want and len(list(tmp_path.glob('*.pt'))) == 2


def test_data_parallel_on_two_processes_follows_one_process():
    "accelerate's debug_launcher (2 CPU processes, gloo): same weights on both ranks and as one process; the checkpoint resumes."
    import json, os, subprocess, sys
    from pathlib import Path
    script = Path(__file__).parent/'fixtures'/'data_parallel.py'
    r = subprocess.run([sys.executable, str(script), 'sr', 'lm', 'sft'], capture_output=True, text=True, timeout=600,
                       env={**os.environ, 'TRUSTBOOK_PROGRESS': '0'})
    assert r.returncode == 0, r.stderr[-3000:]
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert sorted(report) == ['lm', 'sft', 'sr']
    for kind, out in report.items():
        assert out['ranks_equal'] and out['checkpoint_written'] and out['released'], (kind, out)
        assert out['max_diff'] < 1e-4 and out['resumed_diff'] < 1e-4, (kind, out)
        # the logged loss is the global batch's (SR: a dict of terms, LLM: the epoch's mean)
        loss, ref = (out['loss'], out['ref_loss']) if kind == 'sr' else ({'l': out['loss']}, {'l': out['ref_loss']})
        assert loss.keys() == ref.keys() and all(abs(loss[k] - ref[k]) < 1e-4 for k in ref), (kind, out)
    assert 'resumed' in r.stderr and 'at step' in r.stderr


def test_cached_model_is_built_once_when_two_processes_race(tmp_path):
    "Two jobs asking for the same cache entry at once: one trains and writes, the other waits and loads it."
    import subprocess, sys
    from pathlib import Path
    script = Path(__file__).parent/'fixtures'/'cache_race.py'
    log = tmp_path/'log.txt'
    procs = [subprocess.Popen([sys.executable, str(script), str(tmp_path/'cache'), str(log)], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert log.read_text().count('trained') == 1, 'the entry was trained twice'
    assert outs[0][0] == outs[1][0] and sorted(o[1] for o in outs) == ['False', 'True']
    assert not list((tmp_path/'cache').rglob('*.partial'))
