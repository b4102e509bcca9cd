"Fast checks of the curation area and LC: bad inputs, key properties, registries by name, and LC on a user's own model (no network, seconds)."
import subprocess, sys, warnings
import numpy as np, pytest, torch
from torch import nn
from trustbook.core import TrustbookError
from trustbook.classify import make_classifier, train_classifier, predict_proba, extract_features
from trustbook.curation.core import (check_backbone, class_prototypes, per_class_budget, stratified_subset, stratified_split,
                                     downstream_finetune, FINETUNE_RECIPE)
from trustbook.curation.lc import (masking_fractions, prunable_weights, masked_features, learning_complexity,
                                   flexrand_shares, flexrand_select, topk_select)
from trustbook.curation.pruning import score, select_topk, ccs_select, prune_indices, pruning_scores
from conftest import fresh_python

torch.set_num_threads(1)

@pytest.fixture(scope='module')
def blobs():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(-2, 1, (40, 2)), rng.normal(2, 1, (40, 2))]).astype(np.float32)
    return X, np.repeat([0, 1], 40)

@pytest.fixture(scope='module')
def pre(blobs):
    X, y = blobs
    m = make_classifier('mlp', (2,), 2, hidden=(8,), seed=0)
    train_classifier(m, X, y, epochs=3, **{**FINETUNE_RECIPE, 'lr': 0.05})
    return m

@pytest.mark.parametrize('ratio', [0, 1, 1.5, -0.2])
def test_bad_pruning_ratio(ratio):
    y = np.repeat([0, 1], 10)
    with pytest.raises(TrustbookError, match='strictly between 0 and 1'): prune_indices('lc', {'lc': np.arange(20.)}, y, ratio)

def test_labels_must_match_data(pre, blobs):
    X, y = blobs
    with pytest.raises(TrustbookError, match='labels for 80 samples'): learning_complexity(pre, X, y[:10])
    with pytest.raises(TrustbookError, match='labels for'): downstream_finetune(pre, X, y[:3])
    with pytest.raises(TrustbookError, match='labels for'): flexrand_select(np.zeros(80), y[:5], 0.5)

def test_non_finite_scores_and_features(pre, blobs):
    X, y = blobs
    with pytest.raises(TrustbookError, match='non-finite'): flexrand_select(np.r_[np.inf, np.zeros(79)], y, 0.5)
    with pytest.raises(TrustbookError, match='non-finite'): learning_complexity(pre, np.r_[X[:-1], [[np.nan, 0]]], y)

def test_no_prunable_layer():
    with pytest.raises(TrustbookError, match="no prunable layer of kind 'conv'"): prunable_weights(make_classifier('mlp', (4,), 2), 'conv')
    with pytest.raises(TrustbookError, match='unknown prunable kind'): prunable_weights(make_classifier('mlp', (4,), 2), 'attention')

def test_backbone_protocol_names_what_is_missing():
    with pytest.raises(TrustbookError, match='must be a torch.nn.Module'): check_backbone(lambda x: x)
    with pytest.raises(TrustbookError, match='fails on samples of shape'): learning_complexity(nn.Linear(3, 2), np.zeros((6, 5), np.float32), np.arange(6) % 2)
    with pytest.raises(TrustbookError, match='has no parameters'): check_backbone(nn.ReLU())

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
    with pytest.raises(TrustbookError, match='known: linear, geometric'): masking_fractions(5, 'cosine')

def test_masked_features_batched_equals_loop_and_restores():
    m = make_classifier('small_cnn', (8, 8), 10, seed=0).eval(); X = torch.rand(16, 8, 8)
    before = m.features(X).detach()
    a = masked_features(m, X, [0, .3, .8], chunk=3); b = masked_features(m, X, [0, .3, .8], chunk=1)
    assert torch.allclose(a, b, atol=1e-4) and torch.allclose(a[0], before, atol=1e-4)
    assert torch.allclose(m.features(X), before, atol=1e-6)

def test_lc_seeded_and_random_masking(pre, blobs):
    X, y = blobs
    a = learning_complexity(pre, X, y, n_steps=4, method='random', seed=1)
    assert np.allclose(a, learning_complexity(pre, X, y, n_steps=4, method='random', seed=1))
    with pytest.raises(TrustbookError, match="unknown lc weight masking 'snip'"): learning_complexity(pre, X, y, n_steps=4, method='snip')

def test_baselines_interface(pre, blobs):
    X, y = blobs
    for m in ['random', 'kcenter', 'moderate', 'grand']:
        s = score(m, pre, X, y); assert s.shape == (80,) and np.isfinite(s).all()
    with pytest.raises(TrustbookError, match="unknown pruning score 'el3n'"): score('el3n', pre, X, y)
    sel = select_topk(np.arange(80.), y, 0.25); assert np.bincount(y[sel]).tolist() == [10, 10]
    sel = ccs_select(np.arange(80.), y, 0.25); assert np.bincount(y[sel]).tolist() == [10, 10]

def test_stratified_helpers():
    y = np.repeat([0, 1, 2], [10, 20, 30])
    assert per_class_budget(y, 0.5) == {0: 5, 1: 10, 2: 15}
    assert (stratified_subset(y, .5, 1) == stratified_subset(y, .5, 1)).all()
    tr, te = stratified_split(y, .4); assert len(np.intersect1d(tr, te)) == 0
    with pytest.raises(TrustbookError, match='no samples'): class_prototypes(np.zeros((2, 2)), [0, 2])

def test_finetune_seeded(pre, blobs):
    X, y = blobs
    m1 = downstream_finetune(pre, X, 1 - y, epochs=2, seed=4); m2 = downstream_finetune(pre, X, 1 - y, epochs=2, seed=4)
    assert np.allclose(predict_proba(m1, X), predict_proba(m2, X)) and extract_features(m1, X).shape == (80, 8)

def test_pruning_scores_unknown(pre, blobs):
    X, y = blobs
    with pytest.raises(TrustbookError, match="unknown method or score 'dlc'"): pruning_scores(pre, X, y, ['dlc'])

def test_registries_resolve_in_a_fresh_interpreter():
    "LC's entries live in curation.lc; the pruning registries find them without the user importing it."
    code = ("from trustbook.curation.pruning import PRUNING_SCORES, PRUNING_METHODS, prune_indices\n"
            "import numpy as np, sys\n"
            "assert 'trustbook.curation.lc' not in sys.modules\n"
            "print(PRUNING_METHODS['lc'].score, PRUNING_SCORES['lc'].__module__, len(prune_indices('lc_easy', {'lc': np.arange(10.)}, np.zeros(10, int), 0.5)))\n"
            "print(PRUNING_METHODS['ccs'].score, PRUNING_METHODS['lc_geometric'].score)\n")
    out = fresh_python(code)
    assert out.split('\n')[0] == 'lc trustbook.curation.lc 5' and 'el2n lc_geometric' in out

def test_your_own_model_and_data():
    "The snippet of the LC page's 'Your own model and data' section."
    from trustbook.curation.lc import learning_complexity, flexrand_select
    backbone = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 16))
    X, y = np.random.default_rng(0).random((200, 8, 8), dtype=np.float32), np.arange(200) % 4  # your images and labels
    keep = flexrand_select(learning_complexity(backbone, X, y, n_steps=10), y, keep=0.3)  # 30% of every class
    assert len(keep) == 60 and np.bincount(y[keep]).tolist() == [15] * 4

# --- paper scale: the ImageNet ResNet testbed, offline
def _synthetic_dtd(root, monkeypatch):
    from trustbook.curation.data import write_dtd
    (root/'dtd').mkdir(); write_dtd(root/'dtd', np.random.default_rng(0)); (root/'dtd'/'.dtd-r1.0.1.tar.gz.extracted').touch()
    monkeypatch.setenv('TRUSTBOOK_DATA', str(root)); monkeypatch.setenv('HF_HOME', str(root/'hf'))  # an empty HF cache
    monkeypatch.setenv('HF_HUB_OFFLINE', '1'); monkeypatch.delenv('TRUSTBOOK_DOWNLOAD', raising=False)

def test_paper_testbed_needs_download_for_weights(tmp_path, monkeypatch):
    from trustbook.curation.data import lc_testbed
    _synthetic_dtd(tmp_path, monkeypatch); monkeypatch.delenv('TRUSTBOOK_REHEARSE_STEPS', raising=False)
    with pytest.raises(TrustbookError, match=r"microsoft/resnet-50.*download=True"): lc_testbed('paper', dataset='dtd', backbone='resnet50')
    with pytest.raises(TrustbookError, match='dtd or fgvc_aircraft'): lc_testbed('paper', dataset='digits')

def test_paper_testbed_rehearsal_stand_in(tmp_path, monkeypatch):
    "The rehearsal's path on the synthetic DTD files: ResNet-18 at random init, the published split, LC and a capped fine-tune."
    from trustbook.curation.data import lc_testbed, PretrainedResNet
    from trustbook.train import stand_ins
    from trustbook.classify import predict_labels
    _synthetic_dtd(tmp_path, monkeypatch); monkeypatch.setenv('TRUSTBOOK_REHEARSE_STEPS', '1')
    tb = lc_testbed('paper', dataset='dtd', backbone='resnet18', finetune_epochs=50, lr=1e-3, batch_size=128)
    assert isinstance(tb.pretrained, PretrainedResNet) and any('microsoft/resnet-18: random init' in s for s in stand_ins())
    X, y, Xt, yt = tb.split(0)
    assert (len(y), len(yt)) == (94, 47) and np.array_equal(tb.split(3)[3], yt) and len(np.unique(y)) == 47
    lc = learning_complexity(tb.pretrained, X, y, n_steps=2)
    assert lc.shape == (94,) and np.isfinite(lc).all()
    m = downstream_finetune(tb.pretrained, X[:20], y[:20], n_classes=47, seed=0, **tb.finetune_kw)  # capped at one update
    assert m.head.out_features == 47 and predict_labels(m, Xt[:4]).shape == (4,)
    assert not torch.equal(m.body.embedder.embedder.convolution.weight, tb.pretrained.body.embedder.embedder.convolution.weight)
