"Fast checks of trustbook.privacy.past: loss gap, sensitivity, adaptive weights, the penalty, tuning, bad inputs."
import numpy as np, pytest, torch, torch.nn as nn
from trustbook.core import TrustbookError
from trustbook.privacy.core import make_mlp, make_cnn, train_classifier
from trustbook.privacy.past import (loss_gap, privacy_sensitivity, adaptive_weights, weighted_l1, sensitivity_concentration,
                                    past_tune, train_defended, DEFENCES, best_advantage_at_accuracy)

torch.set_num_threads(1)

def _sets(seed=0, n=40, d=5, c=3):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, d, generator=g), torch.randint(0, c, (n,), generator=g)), (torch.randn(n, d, generator=g), torch.randint(0, c, (n,), generator=g))

def test_weights_mean_one_per_tensor_and_detached():
    torch.manual_seed(0); net = make_cnn((1, 6, 6), 3, width=4, hidden=8)
    m = (torch.rand(20, 36), torch.randint(0, 3, (20,))); n = (torch.rand(20, 36) + 1, torch.randint(0, 3, (20,)))
    w = adaptive_weights(privacy_sensitivity(net, m, n))
    assert set(w) == {k for k, _ in net.named_parameters()}
    for g in w.values(): assert g.mean().item() == pytest.approx(1.0, abs=1e-5) and not g.requires_grad and (g >= 0).all()

def test_penalty_gradient_reaches_every_layer():
    torch.manual_seed(0); net = make_mlp(5, 3, (16, 16)); m, n = _sets()
    weighted_l1(net, adaptive_weights(privacy_sensitivity(net, m, n))).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())

def test_loss_gap_sign_on_an_overfit_model():
    torch.manual_seed(0); m, n = _sets(n=30)
    net = make_mlp(5, 3, (128,)); train_classifier(net, *m, epochs=150, lr=1e-2, batch_size=30)
    assert loss_gap(net, m, n).item() > 0.5   # members fit, random non-members not

def test_uniform_weights_give_plain_l1():
    torch.manual_seed(0); net = make_mlp(5, 3, (8,))
    assert weighted_l1(net).item() == pytest.approx(sum(p.abs().sum().item() for p in net.parameters()), rel=1e-5)

def test_concentration():
    assert sensitivity_concentration({'a': torch.ones(10)}, 0.2) == pytest.approx(0.2)
    assert sensitivity_concentration({'a': torch.tensor([1.] + [0.] * 9)}, 0.1) == pytest.approx(1.0)
    with pytest.raises(TrustbookError): sensitivity_concentration({'a': torch.ones(3)}, 0)

def test_past_tuning_lowers_the_gap():
    torch.manual_seed(0); m, n = _sets(n=40)
    net = make_mlp(5, 3, (128,)); train_classifier(net, *m, epochs=100, lr=1e-2, batch_size=20)
    g0 = loss_gap(net, m, n).item()
    past_tune(net, m, (n[0][:20], n[1][:20]), lam=0.02, epochs=10, batch_size=20, seed=0)
    assert loss_gap(net, m, n).item() < g0

def test_bad_inputs():
    m, n = _sets(); net = make_mlp(5, 3, (8,))
    with pytest.raises(TrustbookError, match='10 of 40'): past_tune(net, m, (torch.cat([m[0][:10], n[0][:30]]), n[1][:40]), lam=0.1)
    with pytest.raises(TrustbookError, match='feature shape'): past_tune(net, m, (n[0][:, :4], n[1]), lam=0.1)
    with pytest.raises(TrustbookError, match='feature shape'): loss_gap(net, m, (n[0][:, :4], n[1]))
    with pytest.raises(TrustbookError, match='inputs but'): past_tune(net, m, (n[0], n[1][:5]), lam=0.1)
    with pytest.raises(TrustbookError, match='lam must be >= 0'): past_tune(net, m, n, lam=-0.5)
    with pytest.raises(TrustbookError, match='no trainable'): past_tune(make_mlp(5, 3, (8,)).requires_grad_(False), m, n, lam=0.1)
    with pytest.raises(TrustbookError, match='update_every'): past_tune(net, m, n, lam=0.1, update_every=0)
    with pytest.raises(TrustbookError, match='unknown defence'): train_defended(lambda d: make_mlp(5, 3, (8,)), 'magic', 0.1, m)
    with pytest.raises(TrustbookError, match='inference set'): train_defended(lambda d: make_mlp(5, 3, (8,)), 'past', 0.1, m, epochs=1, tune_epochs=1)

def test_every_defence_trains():
    m, n = _sets(); v = _sets(seed=1)[0]
    for d in DEFENCES:
        net = train_defended(lambda p: make_mlp(5, 3, (16,), dropout=p), d, {'early_stopping': 1, 'relaxloss': 0.5, 'dropout': 0.3, 'label_smoothing': 0.1}.get(d, 1e-3),
                             m, inference=n, validation=v, epochs=1, tune_epochs=1)
        assert net(m[0][:2]).shape == (2, 3)

def test_matched_accuracy():
    assert best_advantage_at_accuracy([0.9, 0.85, 0.6], [0.3, 0.1, 0.0], 0.84) == 0.1
    with pytest.raises(TrustbookError): best_advantage_at_accuracy([0.9], [0.1, 0.2], 0.5)
