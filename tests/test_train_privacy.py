"Every training loop of the privacy area resumes exactly: killed right after a checkpoint, it ends with the same bits as one never killed."
import copy
import numpy as np, pytest, torch
from test_train import run_ckpts, _check_resume   # the fixture and the reference/kill/resume/restore protocol
from trustbook.classify import make_classifier, train_classifier

torch.set_num_threads(1)

def _data(n=120, d=8, c=3, seed=0):
    r = np.random.default_rng(seed)
    return r.normal(size=(n, d)).astype(np.float32), r.integers(0, c, n)

def _base():
    X, y = _data(); m = make_classifier('mlp', (8,), 3, hidden=(16,), seed=0)
    train_classifier(m, X[:60], y[:60], epochs=2, batch_size=20, checkpoint=False)
    return m, X, y

@pytest.mark.parametrize('kw', [dict(), dict(update_every='epoch'), dict(update_every=2, ema=0.5), dict(uniform=True)],
                         ids=['gamma_every_step', 'gamma_per_epoch', 'gamma_running_average', 'uniform_l1'])
def test_past_tune_resumes(run_ckpts, capfd, kw):
    from trustbook.privacy.past import past_tune
    base, X, y = _base()
    def train():
        m = copy.deepcopy(base)
        h = past_tune(m, (X[:60], y[:60]), (X[60:], y[60:]), lam=1e-2, epochs=3, batch_size=16, seed=1, **kw)
        return m, (h['steps'], h['gap'], h['refreshes'])
    _check_resume(run_ckpts, capfd, train, 5)   # mid-epoch (4 steps per epoch)

@pytest.mark.parametrize('vectorised', [True, False])
def test_reference_models_resume(run_ckpts, capfd, vectorised):
    from trustbook.privacy.shadow import reference_models
    X, y = _data(80)
    def train():
        r = reference_models(lambda: make_classifier('mlp', (8,), 3, hidden=(8,)), X[40:], y[40:], n_models=2, X_audit=X[:40], y_audit=y[:40],
                             epochs=3, batch_size=32, vectorised=vectorised, seed=2)
        return torch.nn.ModuleList(r.models), None
    _check_resume(run_ckpts, capfd, train, 4)   # mid-epoch (3 steps per epoch); one by one, the first model's loop

@pytest.mark.parametrize('defence', ['past', 'l2', 'relaxloss'])
def test_defended_training_resumes(run_ckpts, capfd, defence):
    from trustbook.privacy.defences import train_defended
    X, y = _data()
    def train():
        m = train_defended(lambda d: make_classifier('mlp', (8,), 3, hidden=(16,), dropout=d), defence, {'relaxloss': 0.5}.get(defence, 1e-2),
                           (X[:60], y[:60]), inference=(X[60:], y[60:]), epochs=1, tune_epochs=2, batch_size=16, seed=3)
        return m, None
    # 4 steps of plain training, then 8 of tuning: killed at step 5 of the tuning, the finished plain phase's checkpoint is kept
    _check_resume(run_ckpts, capfd, train, 5, expect_files=1 if defence == 'relaxloss' else 2)
