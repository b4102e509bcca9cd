"Fast checks of trustbook.privacy.past and privacy.defences: loss gap, sensitivity, weights, the penalty, tuning, defences, bad inputs."
import numpy as np, pytest, torch, torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset
from trustbook.core import TrustbookError
from trustbook.classify import make_classifier, train_classifier
from trustbook.privacy.past import (loss_gap, privacy_sensitivity, shuffled_gap_sensitivity, adaptive_weights, weighted_l1,
                                    sensitivity_concentration, past_tune)
from trustbook.privacy.defences import DEFENCES, Defence, train_defended, best_advantage_at_accuracy, area_between_frontiers

torch.set_num_threads(1)

def _sets(seed=0, n=40, d=5, c=3):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, d, generator=g), torch.randint(0, c, (n,), generator=g)), (torch.randn(n, d, generator=g), torch.randint(0, c, (n,), generator=g))

def _mlp(d=5, c=3, hidden=(16,), dropout=0.0, seed=0): return make_classifier('mlp', (d,), c, hidden=hidden, dropout=dropout, seed=seed)

def test_weights_mean_one_per_tensor_and_detached():
    net = make_classifier('dense_cnn', (1, 6, 6), 3, width=4, hidden=8, seed=0)
    m = (torch.rand(20, 36), torch.randint(0, 3, (20,))); n = (torch.rand(20, 36) + 1, torch.randint(0, 3, (20,)))
    w = adaptive_weights(privacy_sensitivity(net, m, n))
    assert set(w) == {k for k, _ in net.named_parameters()}
    for g in w.values(): assert g.mean().item() == pytest.approx(1.0, abs=1e-5) and not g.requires_grad and (g >= 0).all()

def test_penalty_gradient_reaches_every_layer():
    net = _mlp(hidden=(16, 16)); m, n = _sets()
    weighted_l1(net, adaptive_weights(privacy_sensitivity(net, m, n))).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())

def test_loss_gap_sign_on_an_overfit_model():
    m, n = _sets(n=30)
    net = _mlp(hidden=(128,)); train_classifier(net, *m, epochs=150, lr=1e-2, batch_size=30)
    assert loss_gap(net, m, n).item() > 0.5   # members fit, random non-members not

def test_uniform_weights_give_plain_l1():
    net = _mlp(hidden=(8,))
    assert weighted_l1(net).item() == pytest.approx(sum(p.abs().sum().item() for p in net.parameters()), rel=1e-5)

def test_concentration_and_its_controls():
    assert sensitivity_concentration({'a': torch.ones(10)}, 0.2) == pytest.approx(0.2)
    assert sensitivity_concentration({'a': torch.tensor([1.] + [0.] * 9)}, 0.1) == pytest.approx(1.0)
    with pytest.raises(TrustbookError): sensitivity_concentration({'a': torch.ones(3)}, 0)
    with pytest.raises(TrustbookError, match='non-empty dict'): sensitivity_concentration({})
    with pytest.raises(TrustbookError, match='finite and >= 0'): sensitivity_concentration({'a': torch.tensor([1., -1.])})
    m, n = _sets(); net = _mlp()
    s = shuffled_gap_sensitivity(net, m, n, seed=1)
    assert set(s) == {k for k, _ in net.named_parameters()} and all((v >= 0).all() for v in s.values())

def test_past_tuning_lowers_the_gap():
    m, n = _sets(n=40)
    net = _mlp(hidden=(128,)); train_classifier(net, *m, epochs=100, lr=1e-2, batch_size=20)
    g0 = loss_gap(net, m, n).item()
    h = past_tune(net, m, (n[0][:20], n[1][:20]), lam=0.02, epochs=10, batch_size=20, seed=0)
    assert loss_gap(net, m, n).item() < g0 and h['refreshes'] == h['steps'] == 20

def test_gamma_schedules():
    m, n = _sets(n=40); base = _mlp(hidden=(32,)); train_classifier(base, *m, epochs=10, lr=1e-2)
    import copy
    assert past_tune(copy.deepcopy(base), m, n, lam=0.01, epochs=2, batch_size=10, update_every='epoch')['refreshes'] == 2
    assert past_tune(copy.deepcopy(base), m, n, lam=0.01, epochs=2, batch_size=10, update_every=3)['refreshes'] == 3
    a, b = copy.deepcopy(base), copy.deepcopy(base)
    past_tune(a, m, n, lam=0.01, epochs=2, batch_size=10, ema=0.0); past_tune(b, m, n, lam=0.01, epochs=2, batch_size=10)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))   # ema 0 = this batch's estimate
    assert past_tune(copy.deepcopy(base), m, n, lam=0.0, epochs=1, batch_size=10)['refreshes'] == 0   # λ = 0: no γ needed

def test_bad_inputs_are_named():
    m, n = _sets(); net = _mlp(hidden=(8,))
    with pytest.raises(TrustbookError, match='10 of 40'): past_tune(net, m, (torch.cat([m[0][:10], n[0][:30]]), n[1][:40]), lam=0.1)
    with pytest.raises(TrustbookError, match='feature shape'): past_tune(net, m, (n[0][:, :4], n[1]), lam=0.1)
    with pytest.raises(TrustbookError, match='feature shape'): loss_gap(net, m, (n[0][:, :4], n[1]))
    with pytest.raises(TrustbookError, match=r'inference set \(non-members\): labels do not match'): past_tune(net, m, (n[0], n[1][:5]), lam=0.1)
    with pytest.raises(TrustbookError, match='lam must be >= 0'): past_tune(net, m, n, lam=-0.5)
    with pytest.raises(TrustbookError, match='lam must be >= 0'): past_tune(net, m, n, lam=float('nan'))
    with pytest.raises(TrustbookError, match='no trainable'): past_tune(_mlp(hidden=(8,)).requires_grad_(False), m, n, lam=0.1)
    with pytest.raises(TrustbookError, match='update_every'): past_tune(net, m, n, lam=0.1, update_every=0)
    with pytest.raises(TrustbookError, match='ema must'): past_tune(net, m, n, lam=0.1, ema=1.0)
    with pytest.raises(TrustbookError, match='members: X holds non-finite'): past_tune(net, (m[0].clone().fill_(float('nan')), m[1]), n, lam=0.1)
    with pytest.raises(TrustbookError, match='out of range'): past_tune(net, m, (n[0], n[1] + 3), lam=0.1)
    with pytest.raises(TrustbookError, match='same way'): past_tune(net, m, DataLoader(TensorDataset(*n), batch_size=8), lam=0.1)

def test_dict_batches_get_a_clear_error():
    m, n = _sets(); net = _mlp(hidden=(8,))
    dicts = [{'x': m[0][:20], 'y': m[1][:20]}]
    loader = DataLoader(TensorDataset(*n), batch_size=20)
    with pytest.raises(TrustbookError, match=r"members: got a dict batch with keys \['x', 'y'\]"): past_tune(net, dicts, loader, lam=0.1, epochs=1)
    with pytest.raises(TrustbookError, match='non-members: got a dict batch'): past_tune(net, DataLoader(TensorDataset(*m), batch_size=20), dicts, lam=0.1, epochs=1)
    with pytest.raises(TrustbookError, match='not dicts'): past_tune(net, {'x': m[0], 'y': m[1]}, n, lam=0.1)
    with pytest.raises(TrustbookError, match='pair'): past_tune(net, [(m[0], m[1], m[1])], loader, lam=0.1, epochs=1)
    with pytest.raises(TrustbookError, match='yielded no batch'): past_tune(net, DataLoader(TensorDataset(*m), batch_size=20), [], lam=0.1, epochs=1)

def test_every_defence_trains_and_needs_are_checked():
    m, n = _sets(); v = _sets(seed=1)[0]
    for d in DEFENCES.names():
        net = train_defended(lambda p: _mlp(hidden=(16,), dropout=p), d, {'early_stopping': 1, 'relaxloss': 0.5, 'dropout': 0.3, 'label_smoothing': 0.1}.get(d, 1e-3),
                             m, inference=n, validation=v, epochs=1, tune_epochs=1)
        assert net(m[0][:2]).shape == (2, 3)
    with pytest.raises(TrustbookError, match='unknown membership-inference defence'): train_defended(lambda d: _mlp(), 'magic', 0.1, m)
    with pytest.raises(TrustbookError, match="'past' needs an inference set"): train_defended(lambda d: _mlp(), 'past', 0.1, m, epochs=1, tune_epochs=1)
    with pytest.raises(TrustbookError, match="'early_stopping' needs a validation split"): train_defended(lambda d: _mlp(), 'early_stopping', 2, m)
    with pytest.raises(TrustbookError, match='finite number >= 0'): train_defended(lambda d: _mlp(), 'l1', -1, m)

def test_past_defence_is_past_tune_after_plain_training():
    m, n = _sets(n=40)
    a = train_defended(lambda d: _mlp(hidden=(16,), seed=None), 'past', 1e-2, m, inference=n, epochs=3, tune_epochs=2, batch_size=10, seed=4)
    torch.manual_seed(4); b = _mlp(hidden=(16,), seed=None)
    train_classifier(b, *m, epochs=3, batch_size=10, seed=4); past_tune(b, m, n, lam=1e-2, epochs=2, batch_size=10, seed=5)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))

def test_user_defined_defence():
    class Shrink(Defence):
        "Plain training, then every weight scaled by strength."
        def train(self, model, strength, members, s):
            s.plain(model, members, s.epochs)
            with torch.no_grad():
                for p in model.parameters(): p.mul_(strength)
    m, _ = _sets(); net = train_defended(lambda d: _mlp(), Shrink(), 0.0, m, epochs=1)
    assert all((p == 0).all() for p in net.parameters())

def test_trade_off_curves():
    assert best_advantage_at_accuracy([0.9, 0.85, 0.6], [0.3, 0.1, 0.0], 0.84) == 0.1
    with pytest.raises(TrustbookError): best_advantage_at_accuracy([0.9], [0.1, 0.2], 0.5)
    # PAST's curve below L1's over half of the range, equal elsewhere
    assert area_between_frontiers([0.9, 0.85], [0.3, 0.1], [0.9, 0.8], [0.3, 0.1], 0.8, 0.9, n=101) == pytest.approx(0.2*50/101)
    assert area_between_frontiers([0.9, 0.8], [0.3, 0.2], [0.9, 0.8], [0.3, 0.1], 0.79, 0.9) < 0   # A leaks more

def test_your_own_model_and_data():
    "The method page's 'your own model and data' example, verbatim."
    from trustbook.privacy.past import past_tune; from trustbook.privacy.attacks import audit; import numpy as np, torch
    net = torch.nn.Sequential(torch.nn.Linear(20, 64), torch.nn.ReLU(), torch.nn.Linear(64, 2))   # your classifier (trained or not)
    X = np.random.default_rng(0).normal(size=(600, 20)).astype('float32'); y = (X[:, :2].sum(1) > 0).astype(int)   # your data
    past_tune(net, (X[:200], y[:200]), (X[200:400], y[200:400]), lam=1e-3, epochs=10)   # members, and non-members you hold
    rows = audit(net, X[:200], y[:200], X[400:], y[400:], attacks=['loss', 'modified_entropy']); rows[0]
    assert all(0 <= r['adv'] <= 1 and 0 <= r['auc'] <= 1 for r in rows)
