"Fast checks of trustbook.privacy.core: the data protocol, the attacks on known cases, and the bad inputs."
import numpy as np, pytest, torch, torch.nn as nn
from trustbook.core import TrustbookError
from trustbook.privacy.core import (six_way_split, check_disjoint, count_overlap, make_mlp, train_classifier, membership_scores,
                                    METRIC_ATTACKS, score_metrics, fit_threshold, p1_score, audit, Shadow, lira_shadows, lira_scores,
                                    train_stacked, predict_logits, model_factory, scaled_confidence)

torch.set_num_threads(1)

def _data(n=200, d=6, c=3, seed=0):
    r = np.random.default_rng(seed)
    return r.normal(size=(n, d)).astype(np.float32), r.integers(0, c, n)

def test_six_way_split_disjoint_and_seeded():
    X, y = _data(300)
    s = six_way_split(X, y, 40, seed=3)
    allidx = np.concatenate(list(s.idx.values()))
    assert len(allidx) == len(set(allidx.tolist())) == 300
    assert (six_way_split(X, y, 40, seed=3).idx['target_train'] == s.idx['target_train']).all()
    assert not (six_way_split(X, y, 40, seed=4).idx['target_train'] == s.idx['target_train']).all()

def test_six_way_split_too_big():
    X, y = _data(100)
    with pytest.raises(TrustbookError, match='lower `size`'): six_way_split(X, y, 30)

def test_overlap_is_named():
    X, _ = _data(50)
    assert count_overlap(X[:20], X[10:40]) == 10
    with pytest.raises(TrustbookError, match='10 of 30'): check_disjoint(X[:20], X[10:40])

class _Memoriser(nn.Module):
    def __init__(self, X, y, C):
        super().__init__(); self.keys = {r.tobytes(): int(c) for r, c in zip(np.asarray(X, np.float32), y)}; self.C = C
        self.w = nn.Parameter(torch.zeros(1))
    def forward(self, x):
        out = torch.zeros(len(x), self.C)
        for i, r in enumerate(x.detach().numpy().astype(np.float32)):
            c = self.keys.get(r.tobytes())
            if c is not None: out[i, c] = 20.
        return out + 0*self.w

def test_memorising_model_gives_advantage_one():
    X, y = _data(200)
    tgt = _Memoriser(X[:50], y[:50], 3)
    sh = Shadow(_Memoriser(X[100:150], y[100:150], 3), X[100:150], y[100:150], X[150:], y[150:])
    rows = {r['attack']: r for r in audit(tgt, X[:50], y[:50], X[50:100], y[50:100], attacks=('loss', 'confidence', 'modified_entropy', 'nn'), shadow=sh)}
    for a in ('loss', 'confidence', 'modified_entropy', 'nn'): assert rows[a]['adv'] == pytest.approx(1.0)
    assert rows['loss']['adv_shadow'] == pytest.approx(1.0)

def test_same_distribution_gives_advantage_near_zero():
    X, y = _data(2000, seed=1)
    m = make_mlp(6, 3, (16,)); train_classifier(m, X[1000:1100], y[1000:1100], epochs=5, seed=0)
    for r in audit(m, X[:500], y[:500], X[500:1000], y[500:1000], attacks=METRIC_ATTACKS):
        assert r['adv'] < 0.15 and abs(r['auc'] - 0.5) < 0.07

def test_attack_without_its_shadows_fails():
    X, y = _data(100); m = make_mlp(6, 3, (8,))
    with pytest.raises(TrustbookError, match='needs a shadow model'): audit(m, X[:50], y[:50], X[50:], y[50:], attacks=['nn'])
    with pytest.raises(TrustbookError, match='needs LiRA shadow'): audit(m, X[:50], y[:50], X[50:], y[50:], attacks=['lira_online'])
    with pytest.raises(TrustbookError, match='needs shadow models'): lira_scores(np.zeros(3), None)
    with pytest.raises(TrustbookError, match='unknown attack'): audit(m, X[:50], y[:50], X[50:], y[50:], attacks=['magic'])

def test_bad_training_inputs():
    X, y = _data(40)
    with pytest.raises(TrustbookError, match='no trainable'): train_classifier(nn.Sequential(nn.Flatten()), X, y)
    frozen = make_mlp(6, 3, (8,)).requires_grad_(False)
    with pytest.raises(TrustbookError, match='no trainable'): train_classifier(frozen, X, y)
    with pytest.raises(TrustbookError, match='l2 must be >= 0'): train_classifier(make_mlp(6, 3, (8,)), X, y, l2=-0.1)
    with pytest.raises(TrustbookError, match='validation set'): train_classifier(make_mlp(6, 3, (8,)), X, y, patience=2)

def test_scores_and_p1():
    z = np.array([[4., 0, 0], [0, 4., 0]]); y = np.array([0, 0])
    for k in METRIC_ATTACKS:
        s = membership_scores(z, y, k)
        assert s[0] > s[1] if k != 'entropy' else s[0] == pytest.approx(s[1])   # entropy ignores the label
    assert fit_threshold([2, 3], [0, 1]) == 2.0
    assert score_metrics([2, 3], [0, 1])['adv'] == 1.0
    assert p1_score(0.8, 0.2) == pytest.approx(0.8)
    with pytest.raises(TrustbookError): p1_score(0.5, 1.5)
    assert scaled_confidence(np.array([[0., 0.]]), np.array([1]))[0] == pytest.approx(0.0)

def test_vectorised_shadows_match_the_loop():
    X, y = _data(40, d=4, c=2); mk = np.random.default_rng(0).random((3, 40)) < 0.5
    a = train_stacked(lambda: make_mlp(4, 2, (8,)), X, y, mk, epochs=2, seed=1)
    b = train_stacked(lambda: make_mlp(4, 2, (8,)), X, y, mk, epochs=2, seed=1, vectorised=False)
    for ma, mb in zip(a, b): np.testing.assert_allclose(predict_logits(ma, X), predict_logits(mb, X), atol=1e-4)

def test_lira_online_needs_online_shadows():
    X, y = _data(80, d=4)
    sh = lira_shadows(lambda: make_mlp(4, 3, (8,)), X[:20], y[:20], X[20:], y[20:], n_shadows=2, epochs=1)
    with pytest.raises(TrustbookError, match='online=True'): lira_scores(np.zeros(20), sh, online=True)
    with pytest.raises(TrustbookError, match='at least 2'): lira_shadows(lambda: make_mlp(4, 3, (8,)), X[:20], y[:20], X[20:], y[20:], n_shadows=1)

def test_model_factory_errors():
    with pytest.raises(TrustbookError, match='unknown arch'): model_factory('resnet', (8, 8), 10)
    assert model_factory('mlp', (8, 8), 10)()(torch.zeros(2, 8, 8)).shape == (2, 10)
