"Fast checks of the ADC / curation modules: bad inputs, detector properties on constructed cases, registries by name, a user's own model, and property-based tests of every loader of user files (no network)."
from conftest import fresh_python
import json, subprocess, sys, warnings
import numpy as np, pytest, torch
from hypothesis import given, settings, HealthCheck, strategies as st
from trustbook.core import TrustbookError
from trustbook.curation.noise import (check_transition, flip_labels, make_noisy, symmetric_transition, pair_transition,
    noise_rate, long_tail_indices, instance_noise, lookalike_noise)
from trustbook.curation.detect import (confident_learning, simifeat_vote, simifeat_rank, deep_knn, small_loss, margin,
    detection_scores, run_detector, out_of_fold_proba)
from trustbook.curation.robust import fit_method, backward_loss, forward_loss, gce_loss, ce_loss, drops_offsets
from trustbook.curation.adc import (load_taxonomy, taxonomy_from_dict, ManifestCollector, FolderCollector, collect, curate,
    design_dataset, load_images, Taxonomy)

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

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

def test_non_finite_and_mismatched_inputs():
    with pytest.raises(TrustbookError, match='non-finite'): confident_learning([0, 1], [[0.5, np.nan], [0.5, 0.5]])
    with pytest.raises(TrustbookError, match='non-finite'): simifeat_vote(np.array([[0.], [np.inf], [1.]]), [0, 1, 0], k=1)
    with pytest.raises(TrustbookError, match='differ in length'): instance_noise(np.zeros((3, 2)), [0, 1], 0.1)
    with pytest.raises(TrustbookError, match='must all be'): detection_scores([True, False], [0, 1, 1], [0, 1, 0])
    with pytest.raises(TrustbookError, match='non-finite'): curate(np.array([[0.], [np.nan]]), [0, 1], 2)

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

def test_images_in_0_255_are_refused(tmp_path):
    np.save(tmp_path / 'x.npy', np.full((8, 8), 200, np.uint8))
    with pytest.raises(TrustbookError, match='divide \\[0, 255\\] images by 255'): load_images([tmp_path / 'x.npy'])

def test_noise_generators_hit_their_rates():
    y = np.repeat(np.arange(10), 500)
    for T in (symmetric_transition(10, 0.3), pair_transition(10, 0.3)):
        assert abs(noise_rate(flip_labels(y, T, seed=3), y) - 0.3) < 0.02
    X = np.random.default_rng(0).normal(size=(5000, 8))
    assert abs(noise_rate(instance_noise(X, y, 0.3, 10, seed=1), y) - 0.3) < 0.03
    assert abs(noise_rate(lookalike_noise(X, y, 0.3, 10, seed=1), y) - 0.3) < 1e-9

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
    with pytest.raises(TrustbookError, match="unknown robust training method 'bogus'"): fit_method('bogus', X, [0, 1, 0, 1], 2)
    with pytest.raises(TrustbookError, match='noise_rate'): fit_method('coteaching', X, [0, 1, 0, 1], 2)
    with pytest.raises(TrustbookError, match='validation'): fit_method('drops', X, [0, 1, 0, 1], 2, epochs=1)
    with pytest.raises(TrustbookError): fit_method('ce', X, [0, 1, 0, 5], 2)
    with pytest.raises(TrustbookError, match='must return \\(batch, 2\\) logits'): fit_method('ce', X, [0, 1, 0, 1], 2, model=torch.nn.Linear(2, 3))

def test_training_is_seeded():
    rng = np.random.default_rng(0); X = rng.normal(size=(64, 3)).astype(np.float32); y = (X[:, 0] > 0).astype(int)
    a = fit_method('gce', X, y, 2, epochs=2, seed=1).logits(X); b = fit_method('gce', X, y, 2, epochs=2, seed=1).logits(X)
    assert np.allclose(a, b)

def test_design_needs_taxonomy_or_llm():
    with pytest.raises(TrustbookError, match='taxonomy file'): design_dataset()
    assert design_dataset(llm=lambda p: '{"classes": ["a", "b"]}').names == ['a', 'b']

def test_registries_resolve_in_a_fresh_interpreter():
    code = ("from trustbook.curation.robust import ROBUST_METHODS\nfrom trustbook.curation.detect import DETECTORS\n"
            "from trustbook.curation.noise import LABEL_NOISE\n"
            "import sys\nfrom trustbook.curation.data import cifar_resnet18\ncifar_resnet18(0)\n"  # classify registers it: no privacy area
            "print(ROBUST_METHODS['coteaching'].setting, DETECTORS['simifeat_rank'].needs, LABEL_NOISE['lookalike'].__module__,\n"
            "      any(m.startswith('trustbook.privacy') for m in sys.modules))\n")
    assert fresh_python(code).strip() == 'noise features trustbook.curation.noise False'

def test_your_own_model_and_data():
    "The snippet of the ADC page's 'Your own model and data' section."
    from sklearn.datasets import load_digits
    from trustbook.curation.detect import model_fit_predict
    X, y = load_digits(return_X_y=True); X = (X / 16).astype(np.float32); rng = np.random.default_rng(0)
    noisy = np.where(rng.random(len(y)) < 0.2, rng.integers(0, 10, len(y)), y)  # your labels, some of them wrong
    net = lambda: torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    cu = curate(X, noisy, 10, fit_predict=model_fit_predict(net, 10, epochs=10, lr=0.01), n_folds=3)
    robust = fit_method('gce', X[cu.keep], noisy[cu.keep], 10, model=net(), epochs=10, lr=0.01)
    assert (noisy[cu.keep] != y[cu.keep]).mean() < (noisy != y).mean() and (robust.predict(X) == y).mean() > 0.85

# ---- property-based tests of the loaders of user files: a valid dataset or a TrustbookError, nothing else ----

@FUZZ
@given(data=st.binary(max_size=300), suffix=st.sampled_from(['.json', '.yml']))
def test_taxonomy_file_from_arbitrary_bytes(tmp_path, data, suffix):
    p = tmp_path / f't{suffix}'; p.write_bytes(data)
    try: tx = load_taxonomy(p)
    except TrustbookError: return
    assert isinstance(tx, Taxonomy) and len(tx.classes) >= 2 and len(tx.queries()) >= 2

_json = st.recursive(st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=True) | st.text(max_size=6),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=20)
_class = st.one_of(_json, st.fixed_dictionaries({'name': _json}, optional={'attributes': st.dictionaries(st.text(max_size=5), _json, max_size=3)}))

@FUZZ
@given(d=st.one_of(_json, st.fixed_dictionaries({'classes': st.lists(_class, max_size=5)})))
def test_taxonomy_from_arbitrary_structures(d):
    try: tx = taxonomy_from_dict(d)
    except TrustbookError: return
    names = [c.name for c in tx.classes]
    assert all(isinstance(n, str) and n for n in names) and len({n.casefold() for n in names}) == len(names)
    qs = [q for q, _ in tx.queries()]
    assert len({q.casefold() for q in qs}) == len(qs)  # every query labels exactly one class

@FUZZ
@given(data=st.binary(max_size=400))
def test_manifest_from_arbitrary_bytes(tmp_path, data):
    p = tmp_path / 'm.csv'; p.write_bytes(data)
    try: mc = ManifestCollector(p)
    except TrustbookError: return
    assert all(it.path and (tmp_path / it.path).is_file() for it in mc.items)

_cell = st.text(alphabet=st.characters(blacklist_categories=('Cs',)), max_size=12)

@FUZZ
@given(rows=st.lists(st.lists(_cell, min_size=0, max_size=3), max_size=6), existing=st.sets(st.integers(0, 5), max_size=6))
def test_manifest_rows_all_or_error(tmp_path, rows, existing):
    "Rows naming files that exist, do not exist, or are not file names: every row loads, or an error says why."
    import csv, io
    d = tmp_path / 'rows'; d.mkdir(exist_ok=True)
    for i in existing: np.save(d / f'{i}.npy', np.zeros(2, np.float32))
    rows = [[f'{int(r[0]) % 6}.npy' if r and r[0].isdigit() else (r[0] if r else ''), *r[1:]] for r in rows]
    buf = io.StringIO(); w = csv.writer(buf); w.writerow(['path', 'query']); w.writerows(rows)
    (d / 'm.csv').write_text(buf.getvalue())
    try: mc = ManifestCollector(d / 'm.csv')
    except TrustbookError: return
    assert len(mc.items) == len(rows)  # never a silent partial load
    X = load_images(mc.items)
    assert len(X) == len(rows)

@FUZZ
@given(data=st.binary(max_size=300), suffix=st.sampled_from(['.npy', '.png', '.jpg']))
def test_image_from_arbitrary_bytes(tmp_path, data, suffix):
    p = tmp_path / f'x{suffix}'; p.write_bytes(data)
    try: X = load_images([p])
    except TrustbookError: return
    assert X.dtype == np.float32 and len(X) == 1 and np.isfinite(X).all()

@FUZZ
@given(arr=st.one_of(
    st.builds(lambda a: np.asarray(a, np.float64), st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=0, max_size=8)),
    st.builds(lambda a: np.asarray(a, np.uint8), st.lists(st.integers(0, 255), min_size=1, max_size=8)),
    st.builds(lambda a: np.asarray(a, np.int64), st.lists(st.integers(-3, 3), min_size=1, max_size=8))))
def test_npy_values(tmp_path, arr):
    p = tmp_path / 'x.npy'; np.save(p, arr)
    try: X = load_images([p])
    except TrustbookError: return
    assert np.isfinite(X).all() and X.size and (arr.dtype.kind == 'f' or (0 <= X.min() and X.max() <= 1))

@FUZZ
@given(names=st.lists(st.text(max_size=8), max_size=4))
def test_folder_collector_queries(tmp_path, names):
    fc = FolderCollector(tmp_path)
    for q in names:
        try: items = fc.collect(q)
        except TrustbookError: continue
        assert all(str(it.path).startswith(str(tmp_path)) for it in items)


def _synthetic_cifar(tmp_path, monkeypatch):
    "The rehearsal writers' CIFAR-10N and CIFAR-10 files (small) as the data root, and a rehearsal's step cap of one update."
    from trustbook.curation.data import write_cifar10n, write_cifar10_lt
    for n, w in (('cifar10n', write_cifar10n), ('cifar10_lt', write_cifar10_lt)):
        d = tmp_path/n; d.mkdir(); w(d, np.random.default_rng(0), n_train=300, n_test=40); (d/'.cifar-10-python.tar.gz.extracted').touch()
    monkeypatch.setenv('TRUSTBOOK_DATA', str(tmp_path)); monkeypatch.setenv('TRUSTBOOK_REHEARSE_STEPS', '1')


PAPER_NET = dict(epochs=200, lr=0.1, optimizer='sgd', weight_decay=5e-4, cosine=True, batch_size=32)  # adc.yml's recipe, a smaller batch


def test_adc_noisy_paper_path(tmp_path, monkeypatch):
    "adc_noisy's paper path on the synthetic CIFAR-10N files: human noise, anchor-point T, the CIFAR ResNet-18 through `fit` (capped)."
    from trustbook.curation.data import noisy_benchmark, adc_network, CifarInput
    from trustbook.curation.detect import out_of_fold_proba
    from trustbook.curation.robust import estimate_transition
    from trustbook.train import rehearsal_loops, stand_ins
    _synthetic_cifar(tmp_path, monkeypatch)
    nb = noisy_benchmark('cifar10n', 0, None, 'human', 0.4, label='worse_label')
    assert nb.X.shape == (160, 3, 32, 32) and len(nb.y_test) == 40 and 0.3 < nb.noise_rate < 0.5 and any('CIFAR-10N cut' in s for s in stand_ins())
    T = estimate_transition(out_of_fold_proba(nb.X, nb.y_noisy, 5, 0, 10))
    for m in ('backward',):  # backward inverts T: the synthetic images carry a class signal, so T is invertible
        f = fit_method(m, nb.X, nb.y_noisy, 10, seed=0, T=T, **adc_network('resnet18', hidden=(256, 256), **PAPER_NET))
        assert isinstance(f.model.body[0], CifarInput) and f.predict(nb.X_test).shape == (40,)
        loop = rehearsal_loops()[-1]
        assert loop['updates'] == 1 and loop['planned_updates'] == 200 * 5  # 200 epochs x ceil(160 / 32) batches
        assert loop['cost_factor'] == 50_000 / 160  # the estimate counts epochs of CIFAR-10N's 50,000 training images
    with pytest.raises(TrustbookError, match="kind='human'"): noisy_benchmark('cifar10n', 0, None, 'symmetric', 0.4)


def test_adc_imbalance_paper_path(tmp_path, monkeypatch):
    "adc_imbalance's paper path on the synthetic CIFAR-10 files: published split, long tail cut by the experiment, LDAM's head swap and DROPS."
    from trustbook.curation.data import benchmark_data, adc_network
    from trustbook.curation.noise import long_tail_indices
    from trustbook.curation.core import stratified_split
    _synthetic_cifar(tmp_path, monkeypatch)
    X, y, Xt, yt = benchmark_data('cifar10_lt', 0)
    assert X.shape == (300, 3, 32, 32) and len(yt) == 40
    lt = long_tail_indices(y, 10, seed=0); tr, va = stratified_split(y[lt], 0.2, 0)
    for m in ('ldam_drw', 'drops'):
        f = fit_method(m, X[lt][tr], y[lt][tr], 10, seed=0, val=(X[lt][va], y[lt][va]), **adc_network('resnet18', **PAPER_NET))
        assert f.predict(Xt).shape == (40,)


def test_clothing_adc_error_says_what_to_do():
    from trustbook.curation.data import benchmark_data, noisy_benchmark
    for call in (lambda: benchmark_data('clothing_adc', experiment='adc_detection'), lambda: noisy_benchmark('clothing_adc', experiment='adc_detection')):
        with pytest.raises(TrustbookError, match='no public source') as e: call()
        assert 'trustbook reproduce adc_detection --scale cpu' in str(e.value)
