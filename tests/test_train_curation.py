"Exact resume of the curation area's training loops: a loop killed right after a checkpoint ends with the same bits as one never killed."
import numpy as np, pytest, torch
from test_train import run_ckpts, _check_resume  # the fixture and the check every area's resume test uses

def _data(n=120, d=6, C=3, seed=0):
    rng = np.random.default_rng(seed); X = rng.normal(size=(n, d)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 1).astype(int) * (C > 2)

def test_training_dynamics_resume(run_ckpts, capfd):
    "Forgetting events, the loss integral and EL2N are callback state: the resumed run reports the same per-sample records."
    from trustbook.classify import make_classifier
    from trustbook.curation.pruning import finetune_dynamics
    X, y = _data()
    pre = make_classifier('mlp', (6,), 3, hidden=(16,), seed=0)
    def train():
        r = finetune_dynamics(pre, X, y, epochs=4, early_epoch=2, seed=1, lr=0.05, batch_size=32)
        return r['final_model'], tuple(np.round(r[k], 12).tobytes() for k in ('forgetting', 'loss_integral', 'el2n', 'entropy'))
    _check_resume(run_ckpts, capfd, train, 6)

@pytest.mark.parametrize('method', ['peer', 'ldam_drw', 'gce'])
def test_robust_method_resumes(run_ckpts, capfd, method):
    "Peer loss's ramp and re-pairing generator, LDAM's deferred re-weighting: stateful losses resume exactly."
    from trustbook.curation.robust import fit_method
    X, y = _data()
    def train():
        f = fit_method(method, X, y, 3, epochs=4, batch_size=32, lr=1e-2, seed=2, drw_start=0.5)
        return f.model, None
    _check_resume(run_ckpts, capfd, train, 7)

def test_coteaching_resumes(run_ckpts, capfd):
    "Co-teaching's two networks train as one ModuleList through fit; the forget-rate schedule reads the loop's epoch."
    from trustbook.curation.robust import fit_method
    X, y = _data()
    def train():
        f = fit_method('coteaching', X, y, 3, epochs=4, batch_size=32, lr=1e-2, seed=3, noise_rate=0.3)
        return f.model, None
    _check_resume(run_ckpts, capfd, train, 5)

def test_coteaching_equals_two_optimisers():
    "One Adam over the pair = one Adam per network: the fit-based co-teaching reproduces the two-optimiser loop bit for bit."
    import torch.nn.functional as F
    from trustbook.classify import make_classifier
    from trustbook.curation.robust import train_coteaching
    X, y = _data(); Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    m1, m2 = (make_classifier('mlp', (6,), 3, seed=s, hidden=(8,)) for s in (0, 1))
    r1, r2 = (make_classifier('mlp', (6,), 3, seed=s, hidden=(8,)) for s in (0, 1))
    train_coteaching(m1, m2, X, y, 3, forget_rate=0.3, epochs=3, batch_size=32, lr=1e-2, t_k=2, seed=4)
    o1, o2 = torch.optim.Adam(r1.parameters(), 1e-2), torch.optim.Adam(r2.parameters(), 1e-2); g = torch.Generator().manual_seed(4)
    for ep in range(3):
        rate = 0.3 * min(ep / 2, 1.0); r1.train(); r2.train()
        for idx in torch.randperm(len(y), generator=g).split(32):
            l1, l2 = F.cross_entropy(r1(Xt[idx]), yt[idx], reduction='none'), F.cross_entropy(r2(Xt[idx]), yt[idx], reduction='none')
            keep = max(1, int(round((1 - rate) * len(idx)))); k1, k2 = torch.argsort(l1.detach())[:keep], torch.argsort(l2.detach())[:keep]
            o1.zero_grad(); l1[k2].mean().backward(); o1.step(); o2.zero_grad(); l2[k1].mean().backward(); o2.step()
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), r1.state_dict().values()))
    assert all(torch.equal(a, b) for a, b in zip(m2.state_dict().values(), r2.state_dict().values()))

def test_pretrained_backbone_resumes(run_ckpts, capfd, tmp_path, monkeypatch):
    "The pre-training behind `pretrained_classifier` (cached_model + train_classifier) resumes; with the cache off it retrains."
    from trustbook.curation.core import pretrained_classifier
    monkeypatch.setenv('TRUSTBOOK_HOME', str(tmp_path / 'home'))
    X, y = _data()
    def train():
        return pretrained_classifier(X, y, arch='mlp', hidden=(8,), epochs=3, batch_size=40, cache=False), None
    _check_resume(run_ckpts, capfd, train, 4)
