"The recommender loops resume exactly: a run killed right after a checkpoint (mid-epoch too) ends with the same bits as one never killed."
import os
os.environ.setdefault('OMP_NUM_THREADS', '1')
import torch
from test_train import run_ckpts, _check_resume   # noqa: F401  (run_ckpts is a pytest fixture)
from trustbook.recsys.data import planted_lowrank, split_per_user
from trustbook.recsys.models import make_model
from trustbook.recsys.training import TrainConfig, method_config, train, fit


def _result(r):
    return r['final'], r['history'].to_json(), r['best_epoch'], r['stopped']


def test_recsys_train_with_validation_selection_and_hidden_log_resumes(run_ckpts, capfd):
    "DNS + Hard-BPR on LightGCN, epochs chosen on validation with early stopping, false-negative log: killed mid-epoch 2."
    d = planted_lowrank(60, 80, per_user=12, hidden_frac=0.2, valid_frac=0.15, seed=0)
    cfg = method_config('DNS-Hard-BPR', m=4, epochs=6, lr=2e-2, batch_size=128, ks=(5,), eval_every=1, select='recall@5', patience=2)
    def run():
        torch.manual_seed(0); m = make_model('lightgcn', d, dim=8, n_layers=2)
        return m, _result(train(m, d, cfg, seed=3))
    _check_resume(run_ckpts, capfd, run, 5)


def test_recsys_fit_of_a_users_own_model_resumes(run_ckpts, capfd):
    "A user's recommender (no ego(), no trustbook base class) trained by `fit` with the scaled-BPR control and RNS."
    class MyRec(torch.nn.Module):
        def __init__(self): super().__init__(); self.u, self.i = torch.nn.Embedding(40, 8), torch.nn.Embedding(60, 8)
        def embeddings(self): return self.u.weight, self.i.weight
    users = torch.arange(320).numpy() // 8; items = (torch.arange(320).numpy() * 7) % 60
    d = split_per_user(users, items, 40, 60, test_frac=0.2, valid_frac=0.2, seed=1)
    for meth in ('DNS-scaled-BPR', 'RNS-BPR'):
        cfg = method_config(meth, m=4, epochs=4, lr=5e-2, batch_size=64, ks=(5,), eval_every=2, select='recall@5')
        def run():
            torch.manual_seed(0); r = fit(d, MyRec(), cfg, seed=2)
            return r['model'], _result(r)
        _check_resume(run_ckpts, capfd, run, 3)
        for f in run_ckpts[0].glob('*.pt'): f.unlink()
