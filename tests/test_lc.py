"Fast checks of the curation area and LC: bad inputs and key properties (no network, seconds)."
import warnings
import numpy as np, pytest, torch
from torch import nn
from trustbook.core import TrustbookError
from trustbook.curation.core import (check_xy, make_classifier, train_classifier, predict_proba, extract_features,
                                     class_prototypes, per_class_budget, stratified_subset, stratified_split, finetune)
from trustbook.curation.lc import (masking_fractions, prunable_weights, masked_features, learning_complexity,
                                   flexrand_shares, flexrand_select, topk_select, prune_indices, pruning_scores)
from trustbook.curation.pruning import score, select_topk, ccs_select

torch.set_num_threads(1)

@pytest.fixture(scope='module')
def blobs():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(-2, 1, (40, 2)), rng.normal(2, 1, (40, 2))]).astype(np.float32)
    return X, np.repeat([0, 1], 40)

@pytest.fixture(scope='module')
def pre(blobs):
    X, y = blobs
    return train_classifier(make_classifier('mlp', (2,), 2, hidden=(8,)), X, y, epochs=3, lr=0.05, device='cpu')

@pytest.mark.parametrize('ratio', [0, 1, 1.5, -0.2])
def test_bad_pruning_ratio(ratio):
    y = np.repeat([0, 1], 10)
    with pytest.raises(TrustbookError, match='strictly between 0 and 1'): prune_indices('lc', {'lc': np.arange(20.)}, y, ratio)

def test_labels_must_match_data(pre, blobs):
    X, y = blobs
    with pytest.raises(TrustbookError, match='labels for 80 samples'): learning_complexity(pre, X, y[:10])
    with pytest.raises(TrustbookError, match='labels for'): train_classifier(pre, X, y[:3])
    with pytest.raises(TrustbookError, match='labels for'): flexrand_select(np.zeros(80), y[:5], 0.5)

def test_no_prunable_layer():
    with pytest.raises(TrustbookError, match="no prunable layer of kind 'conv'"): prunable_weights(make_classifier('mlp', (4,), 2), 'conv')
    with pytest.raises(TrustbookError, match='unknown prunable kind'): prunable_weights(make_classifier('mlp', (4,), 2), 'attention')

def test_small_class_warns_and_keeps_what_exists():
    y = np.repeat([0, 1], [3, 20])
    with pytest.warns(UserWarning, match='class 0 has only 3'): sel = flexrand_select(np.arange(23.), y, 10)
    assert np.bincount(y[sel]).tolist() == [3, 10]

def test_flexrand_shares_known_split():
    assert flexrand_shares(100, 30, 0.5) == (15, 15)
    assert flexrand_shares(100, 60, 0.2) == (20, 40)
    assert flexrand_shares(100, 60, 0.9) == (50, 10)
    sel = flexrand_select(np.arange(100.), np.zeros(100, int), 0.4, split=0.5, seed=3)
    assert len(sel) == 40 and (sel < 50).sum() == 20

def test_lc_easy_below_ambiguous():
    class Ident(nn.Module):
        def __init__(self):
            super().__init__(); self.a = nn.Linear(2, 2, bias=False); self.b = nn.Linear(2, 2, bias=False)
            with torch.no_grad(): self.a.weight.copy_(torch.eye(2)); self.b.weight.copy_(1.001 * torch.eye(2))
        def forward(self, x): return self.b(self.a(x))
    rng = np.random.default_rng(1)
    X = np.concatenate([rng.normal((-3, 0), .3, (20, 2)), rng.normal((3, 0), .3, (20, 2))]).astype(np.float32); y = np.repeat([0, 1], 20)
    X[0], X[1] = (-4, 0), (-0.1, 0)
    lc = learning_complexity(Ident(), X, y, n_steps=6)
    assert lc[1] > lc[0]

def test_masking_schedules():
    assert np.allclose(masking_fractions(50)[[0, 1, -1]], [0, .02, .98])
    assert abs(masking_fractions(50, 'geometric')[-1] - (1 - .98 ** 49)) < 1e-12
    with pytest.raises(TrustbookError): masking_fractions(0)

def test_masked_features_batched_equals_loop_and_restores():
    m = make_classifier('cnn', (8, 8), 10).eval(); X = torch.rand(16, 8, 8)
    before = m.features(X[:, None]).detach()
    a = masked_features(m, X, [0, .3, .8], chunk=3); b = masked_features(m, X, [0, .3, .8], chunk=1)
    assert torch.allclose(a, b, atol=1e-4) and torch.allclose(a[0], before, atol=1e-4)
    assert torch.allclose(m.features(X[:, None]), before, atol=1e-6)

def test_lc_seeded_and_random_masking(pre, blobs):
    X, y = blobs
    a = learning_complexity(pre, X, y, n_steps=4, method='random', seed=1)
    assert np.allclose(a, learning_complexity(pre, X, y, n_steps=4, method='random', seed=1))
    with pytest.raises(TrustbookError, match="'magnitude' or 'random'"): learning_complexity(pre, X, y, n_steps=4, method='snip')

def test_baselines_interface(pre, blobs):
    X, y = blobs
    for m in ['random', 'kcenter', 'moderate', 'grand']:
        s = score(m, pre, X, y); assert s.shape == (80,) and np.isfinite(s).all()
    with pytest.raises(TrustbookError, match='choose one of'): score('el3n', pre, X, y)
    sel = select_topk(np.arange(80.), y, 0.25); assert np.bincount(y[sel]).tolist() == [10, 10]
    sel = ccs_select(np.arange(80.), y, 0.25); assert np.bincount(y[sel]).tolist() == [10, 10]

def test_stratified_helpers():
    y = np.repeat([0, 1, 2], [10, 20, 30])
    assert per_class_budget(y, 0.5) == {0: 5, 1: 10, 2: 15}
    assert (stratified_subset(y, .5, 1) == stratified_subset(y, .5, 1)).all()
    tr, te = stratified_split(y, .4); assert len(np.intersect1d(tr, te)) == 0
    with pytest.raises(TrustbookError, match='no samples'): class_prototypes(np.zeros((2, 2)), [0, 2])

def test_training_seeded(blobs):
    X, y = blobs
    m1 = train_classifier(make_classifier('mlp', (2,), 2, seed=4), X, y, epochs=2, seed=4, device='cpu')
    m2 = train_classifier(make_classifier('mlp', (2,), 2, seed=4), X, y, epochs=2, seed=4, device='cpu')
    assert np.allclose(predict_proba(m1, X), predict_proba(m2, X))
    f = finetune(m1, X, 1 - y, epochs=1, device='cpu'); assert extract_features(f, X).shape[0] == 80

def test_pruning_scores_unknown(pre, blobs):
    X, y = blobs
    with pytest.raises(TrustbookError, match='unknown method'): pruning_scores(pre, X, y, ['dlc'])
