"Fast checks of the ADC / curation modules: bad inputs and detector properties on constructed cases (no network)."
import warnings
import numpy as np, pytest, torch
from trustbook.core import TrustbookError
from trustbook.curation.noise import (check_transition, flip_labels, make_noisy, symmetric_transition, pair_transition,
    noise_rate, long_tail_indices, confident_learning, simifeat_vote, simifeat_rank, deep_knn, small_loss, margin,
    detection_scores, instance_noise)
from trustbook.curation.robust import fit_method, backward_loss, forward_loss, gce_loss, ce_loss, drops_offsets
from trustbook.curation.adc import (load_taxonomy, taxonomy_from_dict, ManifestCollector, collect, curate, design_dataset,
    run_detector)

@pytest.mark.parametrize('rate', [-0.1, 1.0, 1.5])
def test_bad_noise_rate(rate):
    with pytest.raises(TrustbookError, match=r'\[0, 1\)'): symmetric_transition(10, rate)
    with pytest.raises(TrustbookError, match=r'\[0, 1\)'): make_noisy(np.zeros(5, int), 'pair', rate, 3)

def test_transition_rows_must_sum_to_one():
    with pytest.raises(TrustbookError, match='row 1'): check_transition([[1, 0], [0.3, 0.6]])
    with pytest.raises(TrustbookError, match='row 1'): flip_labels([0, 1], [[1, 0], [0.3, 0.6]])
    with pytest.raises(TrustbookError, match='row'): forward_loss([[1, 0], [0.3, 0.6]])

def test_labels_outside_class_list():
    with pytest.raises(TrustbookError, match='outside the class list'): flip_labels([0, 5], symmetric_transition(3, 0.1))
    P = np.full((3, 2), 0.5)
    with pytest.raises(TrustbookError, match='outside the class list'): confident_learning([0, 1, 2], P)
    with pytest.raises(TrustbookError, match='outside the class list'): confident_learning([0, 1, -1], P)

def test_duplicate_taxonomy_classes(tmp_path):
    p = tmp_path / 't.json'; p.write_text('{"classes": [{"name": "Shirt"}, {"name": "shirt "}]}')
    with pytest.raises(TrustbookError, match='duplicate class'): load_taxonomy(p)

def test_manifest_missing_files(tmp_path):
    np.save(tmp_path / 'a.npy', np.zeros((2, 2)))
    (tmp_path / 'm.csv').write_text('path,query\na.npy,x\nmissing1.npy,y\nmissing2.npy,x\n')
    with pytest.raises(TrustbookError, match='missing1.npy.*missing2.npy'): ManifestCollector(tmp_path / 'm.csv')
    with pytest.warns(UserWarning, match='missing1.npy'): mc = ManifestCollector(tmp_path / 'm.csv', on_missing='skip')
    assert [it.query for it in mc.items] == ['x']
    (tmp_path / 'h.csv').write_text('file,label\na.npy,x\n')
    with pytest.raises(TrustbookError, match="'path' and 'query'"): ManifestCollector(tmp_path / 'h.csv')

def test_noise_generators_hit_their_rates():
    y = np.repeat(np.arange(10), 500)
    for T in (symmetric_transition(10, 0.3), pair_transition(10, 0.3)):
        assert abs(noise_rate(flip_labels(y, T, seed=3), y) - 0.3) < 0.02
    X = np.random.default_rng(0).normal(size=(5000, 8))
    assert abs(noise_rate(instance_noise(X, y, 0.3, 10, seed=1), y) - 0.3) < 0.03

def test_long_tail_profile():
    y = np.repeat(np.arange(10), 100)
    c = np.bincount(y[long_tail_indices(y, 50, seed=0)])
    assert c[0] == 100 and c[-1] == 2 and np.all(np.diff(c) <= 0)

def _blobs(seed=0, n=60, flip=6):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(0, .2, (n, 2)) + m for m in ([4, 0], [0, 4], [-4, 0])])
    y = np.repeat([0, 1, 2], n); yn = y.copy(); f = rng.permutation(len(y))[:flip]; yn[f] = (y[f] + 1) % 3
    P = np.full((len(y), 3), 0.05); P[np.arange(len(y)), y] = 0.9
    return X, y, yn, P, set(f.tolist())

@pytest.mark.parametrize('name', ['confident_learning', 'simifeat_vote', 'deep_knn', 'small_loss', 'margin'])
def test_detectors_find_known_flips(name):
    X, y, yn, P, flipped = _blobs()
    d = run_detector(name, yn, 3, pred_probs=P, features=X, deep_features=X)
    assert set(np.flatnonzero(d.flagged)) == flipped
    assert detection_scores(d.flagged, yn, y)['f1'] == 1.0
    # suspicion ranks every flipped sample above every clean one
    assert d.score[list(flipped)].min() > np.delete(d.score, list(flipped)).max()

def test_simifeat_rank_finds_the_flips():
    # rank flags by the (approximate) k-NN noise estimate: here every flip, plus at most one clean sample whose
    # neighbourhood holds two of the flipped ones
    X, y, yn, P, flipped = _blobs()
    s = detection_scores(simifeat_rank(X, yn, k=10).flagged, yn, y)
    assert s['recall'] == 1.0 and s['precision'] >= 6 / 7

def test_clean_data_flags_nothing_under_cl():
    X, y, yn, P, _ = _blobs()
    assert confident_learning(y, P).flagged.sum() == 0 and confident_learning(y, P).noise_rate == 0

def test_curation_lowers_true_noise():
    X, y, yn, _, _ = _blobs(flip=20)
    cu = curate(X, yn, 3, clean=y)
    assert cu.true_after < cu.true_before

def test_backward_loss_unbiased_and_gce_limits():
    T = np.array([[0.6, 0.4], [0.2, 0.8]]); z = torch.tensor([[0.3, -0.2]])
    lb = backward_loss(T)
    e = sum(T[0, j] * lb(z, torch.tensor([j])).item() for j in range(2))
    assert abs(e - ce_loss(z, torch.tensor([0])).item()) < 1e-5
    with pytest.raises(TrustbookError, match='q in'): gce_loss(0)

def test_method_errors():
    X = np.zeros((4, 2), np.float32)
    with pytest.raises(TrustbookError, match='unknown method'): fit_method('bogus', X, [0, 1, 0, 1], 2)
    with pytest.raises(TrustbookError, match='noise_rate'): fit_method('coteaching', X, [0, 1, 0, 1], 2)
    with pytest.raises(TrustbookError, match='validation'): fit_method('drops', X, [0, 1, 0, 1], 2, epochs=1)
    with pytest.raises(TrustbookError): fit_method('ce', X, [0, 1, 0, 5], 2)

def test_training_is_seeded():
    rng = np.random.default_rng(0); X = rng.normal(size=(64, 3)).astype(np.float32); y = (X[:, 0] > 0).astype(int)
    a = fit_method('gce', X, y, 2, epochs=2, seed=1).logits(X); b = fit_method('gce', X, y, 2, epochs=2, seed=1).logits(X)
    assert np.allclose(a, b)

def test_design_needs_taxonomy_or_llm():
    with pytest.raises(TrustbookError, match='taxonomy file'): design_dataset()
    assert design_dataset(llm=lambda p: '{"classes": ["a", "b"]}').names == ['a', 'b']
