"Fast checks of the privacy area: the data protocol, the user-model protocol, the attacks on known cases, the registries, bad inputs."
from conftest import fresh_python
import subprocess, sys, textwrap
import numpy as np, pytest, torch, torch.nn as nn
from trustbook.core import TrustbookError
from trustbook.classify import make_classifier, train_classifier, predict_logits
from trustbook.privacy.core import six_way_split, check_disjoint, count_overlap, check_target, score_metrics, fit_threshold, p1_score
from trustbook.privacy.shadow import Shadow, train_stacked, reference_models, balanced_masks
from trustbook.privacy.attacks import (ATTACKS, METRIC_ATTACKS, Attack, MetricAttack, audit, audit_summary, membership_scores,
                                       scaled_confidence, lira_scores, rmia_scores, tune_rmia_a)

torch.set_num_threads(1)

def _data(n=200, d=6, c=3, seed=0):
    r = np.random.default_rng(seed)
    return r.normal(size=(n, d)).astype(np.float32), r.integers(0, c, n)

def _mlp(d=6, c=3, hidden=(16,), seed=None): return make_classifier('mlp', (d,), c, hidden=hidden, seed=seed)

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
    m = _mlp(seed=0); train_classifier(m, X[1000:1100], y[1000:1100], epochs=5, seed=0)
    for r in audit(m, X[:500], y[:500], X[500:1000], y[500:1000], attacks=METRIC_ATTACKS):
        assert r['adv'] < 0.15 and abs(r['auc'] - 0.5) < 0.07

def test_attack_without_what_it_needs_fails_by_name():
    X, y = _data(100); m = _mlp()
    with pytest.raises(TrustbookError, match="'nn' needs a shadow model"): audit(m, X[:50], y[:50], X[50:], y[50:], attacks=['nn'])
    with pytest.raises(TrustbookError, match="'lira_online' needs reference models"): audit(m, X[:50], y[:50], X[50:], y[50:], attacks=['lira_online'])
    with pytest.raises(TrustbookError, match="'rmia_offline' needs reference models"): audit(m, X[:50], y[:50], X[50:], y[50:], attacks=['rmia_offline'])
    with pytest.raises(TrustbookError, match='unknown membership attack'): audit(m, X[:50], y[:50], X[50:], y[50:], attacks=['magic'])
    off = reference_models(lambda: _mlp(), X[:40], y[:40], n_models=2, epochs=1)
    with pytest.raises(TrustbookError, match='half of the audited samples'): audit(m, X[50:70], y[50:70], X[70:], y[70:], attacks=['lira_online'], reference=off)
    assert ATTACKS['lira_online'].needs == ('online_reference',) and ATTACKS['nn'].needs == ('shadow',)

def test_audit_bad_inputs_are_named():
    X, y = _data(100); m = _mlp()
    with pytest.raises(TrustbookError, match='labels do not match'): audit(m, X[:50], y[:40], X[50:], y[50:])
    with pytest.raises(TrustbookError, match='out of range'): audit(m, X[:50], y[:50] + 3, X[50:], y[50:])
    Xn = X.copy(); Xn[60, 2] = np.inf
    with pytest.raises(TrustbookError, match='non-finite'): audit(m, X[:50], y[:50], Xn[50:], y[50:])
    with pytest.raises(TrustbookError, match='torch.nn.Module'): audit(lambda x: x, X[:50], y[:50], X[50:], y[50:])
    with pytest.raises(TrustbookError, match='failed on a batch'): audit(_mlp(d=5), X[:50], y[:50], X[50:], y[50:])
    with pytest.raises(TrustbookError, match='20 of 50'): audit(m, X[:50], y[:50], X[30:80], y[30:80])

def test_score_inputs_are_named():
    z = np.zeros((3, 2)); y = np.array([0, 1, 2])
    with pytest.raises(TrustbookError, match=r'labels must lie in \[0, 2\)'): membership_scores(z, y, 'loss')
    with pytest.raises(TrustbookError, match=r'labels must lie in \[0, 2\)'): scaled_confidence(z, y)
    with pytest.raises(TrustbookError, match='non-finite'): membership_scores(np.full((2, 2), np.nan), [0, 1], 'loss')
    with pytest.raises(TrustbookError, match='non-empty'): fit_threshold([], [1.0])
    with pytest.raises(TrustbookError, match='non-finite scores'): fit_threshold([np.inf], [1.0])
    with pytest.raises(TrustbookError, match='must be finite'): lira_scores(np.array([np.nan]), np.zeros((2, 1)), np.zeros((2, 1), bool))
    with pytest.raises(TrustbookError, match=r'must be \(n,\), \(K, n\), \(K, n\)'):
        rmia_scores(np.ones(2), np.ones((2, 3)), np.zeros((2, 3), bool), np.ones(1), np.ones((2, 1)), np.zeros((2, 1), bool))
    with pytest.raises(TrustbookError, match='one label per row'): six_way_split(np.zeros((10, 2)), np.zeros(9), 1)
    with pytest.raises(TrustbookError, match='size must be an int'): six_way_split(np.zeros((10, 2)), np.zeros(10), 1.5)
    X, yy = _data(40)
    with pytest.raises(TrustbookError, match='pass y_audit'): reference_models(lambda: _mlp(), X, yy, 2, X_audit=X[:5])
    m = _mlp()
    assert len(audit(m, X[:20], yy[:20], X[20:], yy[20:], attacks='loss')) == 1   # one name is one attack, not its letters
    with pytest.raises(TrustbookError, match='no attack to run'): audit(m, X[:20], yy[:20], X[20:], yy[20:], attacks=[])

def test_bad_shadow_is_named():
    X, y = _data(100)
    with pytest.raises(TrustbookError, match='shadow members and non-members overlap'): Shadow(_mlp(), X[:50], y[:50], X[40:], y[40:])
    with pytest.raises(TrustbookError, match='50 inputs but 40 labels'): Shadow(_mlp(), X[:50], y[:40], X[50:], y[50:])

def test_check_target_protocol():
    X, y = _data(10)
    assert check_target(_mlp(), X, y) == 3
    class Dict(nn.Module):
        def __init__(self): super().__init__(); self.l = nn.Linear(6, 3)
        def forward(self, x): return {'logits': self.l(x)}
    with pytest.raises(TrustbookError, match='not a tensor of logits'): check_target(Dict(), X)
    with pytest.raises(TrustbookError, match='classes >= 2'): check_target(nn.Linear(6, 1), X)
    with pytest.raises(TrustbookError, match='no trainable'): check_target(_mlp().requires_grad_(False), X, trainable=True)

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

def test_vectorised_reference_models_match_the_loop():
    X, y = _data(40, d=4, c=2); mk = np.random.default_rng(0).random((3, 40)) < 0.5
    a = train_stacked(lambda: _mlp(4, 2, (8,)), X, y, mk, epochs=2, seed=1)
    b = train_stacked(lambda: _mlp(4, 2, (8,)), X, y, mk, epochs=2, seed=1, vectorised=False)
    for ma, mb in zip(a, b): np.testing.assert_allclose(predict_logits(ma, X), predict_logits(mb, X), atol=1e-4)

def test_balanced_masks():
    m = balanced_masks(8, 30, 0.25, seed=0)
    assert (m.sum(0) == 2).all()
    with pytest.raises(TrustbookError, match='no IN or no OUT'): balanced_masks(2, 10, 0.9)

def test_lira_and_rmia_separate_memorised_members():
    r = np.random.default_rng(3); X = r.normal(size=(160, 8)).astype(np.float32); y = r.integers(0, 4, 160)
    mk = lambda: _mlp(8, 4, (64,))
    tgt = _mlp(8, 4, (64,), seed=0); train_classifier(tgt, X[:30], y[:30], epochs=60, lr=3e-3, batch_size=30)
    ref = reference_models(mk, X[60:], y[60:], n_models=8, X_audit=X[:60], y_audit=y[:60], epochs=60, lr=3e-3, batch_size=64)
    rows = {x['attack']: x for x in audit(tgt, X[:30], y[:30], X[30:60], y[30:60], attacks=['lira_offline', 'lira_online', 'rmia_offline'], reference=ref)}
    assert min(x['auc'] for x in rows.values()) > 0.8, rows
    assert 0 <= tune_rmia_a(ref) <= 1

def test_rmia_formula_by_hand():
    # x's ratio 0.8/0.5 against population ratios 0.3/0.5, 0.9/0.5 (a = 1: Pr(x) = Pr_OUT(x))
    s = rmia_scores(np.array([0.8]), np.array([[0.5], [0.5]]), np.zeros((2, 1), bool), np.array([0.3, 0.9]),
                    np.full((2, 2), 0.5), np.zeros((2, 2), bool), a=1.0)
    assert s[0] == pytest.approx(0.5)
    # a = 0: Pr(x) = (Pr_OUT(x) + 1) / 2
    s0 = rmia_scores(np.array([0.8]), np.array([[0.6]]), np.zeros((1, 1), bool), np.array([0.8]), np.array([[0.2]]), np.zeros((1, 1), bool), a=0.0)
    assert s0[0] == 0.0   # 0.8/0.8 = 1 vs 0.8/0.6: x does not dominate
    with pytest.raises(TrustbookError, match=r'\[0, 1\]'): rmia_scores(np.ones(1), np.ones((1, 1)), np.zeros((1, 1), bool), np.ones(1), np.ones((1, 1)), np.zeros((1, 1), bool), a=2)

def test_lira_offline_by_hand():
    s = lira_scores(np.array([2.0, 0.0]), np.array([[0., 0.], [2., 0.]]), np.zeros((2, 2), bool))
    assert s[0] > s[1]
    with pytest.raises(TrustbookError, match='no OUT reference'): lira_scores(np.zeros(1), np.zeros((2, 1)), np.ones((2, 1), bool))

def test_user_defined_attack_runs_through_audit():
    class Margin(MetricAttack):
        "Margin between the label's logit and the best other."
        def from_logits(self, z, y):
            other = z.scatter(1, y[:, None], -1e9).max(1).values
            return z.gather(1, y[:, None])[:, 0] - other
    X, y = _data(100); tgt = _Memoriser(X[:50], y[:50], 3)
    row = audit(tgt, X[:50], y[:50], X[50:], y[50:], attacks=[Margin()])[0]
    assert row['attack'] == 'Margin' and row['adv'] == pytest.approx(1.0)

def test_audit_summary_strongest_and_scores():
    X, y = _data(300); sp = six_way_split(X, y, 40, seed=0)
    m = _mlp(seed=0); train_classifier(m, *sp['target_train'], epochs=30, lr=1e-2)
    sc = {}; s = audit_summary(m, sp, attacks=['loss', 'correctness'], scores=sc)
    assert s['max_adv'] == max(s['adv_loss'], s['adv_correctness']) and s['strongest'] in ('loss', 'correctness')
    assert set(sc) == {'loss', 'correctness'} and len(sc['loss'][0]) == 40 and 0 <= s['p1'] <= 1

def test_registries_resolve_in_a_fresh_interpreter():
    code = textwrap.dedent("""
        from trustbook.registry import registry
        a = registry('membership attack'); d = registry('membership-inference defence')
        assert {'loss', 'lira_offline', 'lira_online', 'rmia_offline', 'nn', 'augmentation'} <= set(a.names()), a.names()
        assert {'none', 'l1', 'l2', 'past', 'dropout', 'relaxloss', 'early_stopping', 'label_smoothing'} <= set(d.names()), d.names()
        from trustbook.privacy.attacks import ATTACKS; ATTACKS['rmia_offline']
        from trustbook.privacy.defences import DEFENCES; DEFENCES['past']
        from trustbook.classify import make_classifier
        assert make_classifier('resnet18', (3, 32, 32), 10) is not None
        print('ok')""")
    assert 'ok' in fresh_python(code, timeout=300)


# --- the Purchase100 / Texas100 readers under arbitrary files (property-based) ---------------------------------------
from hypothesis import given, settings, strategies as st, HealthCheck
from trustbook.privacy.data import read_purchase, read_texas

_FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

def _records(raw:bytes)->int:
    return len([l for l in raw.replace(b'\r', b'').split(b'\n') if l])

def _valid(X, y, n):
    assert X.dtype == np.float32 and X.ndim == 2 and len(X) == len(y) == n   # every record, never part of the file
    assert set(np.unique(X)) <= {0.0, 1.0} and y.dtype == np.int64 and (y >= 0).all()

# bytes near the format (digits, commas, newlines) reach the parser; any byte at all tests the front door
_near = st.lists(st.sampled_from([b'0', b'1', b'2', b'9', b',', b'\n', b'\r', b'00', b'12345678901234567890']), max_size=60).map(b''.join)
_any = st.binary(max_size=200)

@_FUZZ
@given(raw=st.one_of(_near, _any))
def test_read_purchase_gives_a_dataset_or_a_named_error(tmp_path, raw):
    f = tmp_path/'dataset_purchase'; f.write_bytes(raw)
    try: X, y = read_purchase(f)
    except TrustbookError as e: assert str(f) in str(e); return
    first = next(l for l in raw.replace(b'\r', b'').split(b'\n') if l)
    _valid(X, y, _records(raw)); assert X.shape[1] == first.count(b',')

@_FUZZ
@given(feats=st.one_of(_near, _any), labels=st.one_of(_near, _any))
def test_read_texas_gives_a_dataset_or_a_named_error(tmp_path, feats, labels):
    fx, fy = tmp_path/'feats', tmp_path/'labels'; fx.write_bytes(feats); fy.write_bytes(labels)
    try: X, y = read_texas(fx, fy)
    except TrustbookError as e: assert str(fx) in str(e) or str(fy) in str(e); return
    _valid(X, y, _records(feats))

@_FUZZ
@given(rows=st.lists(st.lists(st.integers(0, 1), min_size=3, max_size=3), min_size=1, max_size=20), labels=st.lists(st.integers(1, 100), min_size=20, max_size=20))
def test_read_purchase_reads_well_formed_files_exactly(tmp_path, rows, labels):
    f = tmp_path/'p'; f.write_text(''.join(f"{l},{','.join(map(str, r))}\n" for l, r in zip(labels, rows)))
    X, y = read_purchase(f)
    assert X.tolist() == rows and y.tolist() == [l - 1 for l in labels[:len(rows)]]
