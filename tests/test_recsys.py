"Fast checks of trustbook.recsys: bad inputs, hand-computed rankings, the PDNS / soft-BPR equivalence, samplers, registries, the user's own model."
import os
os.environ.setdefault('OMP_NUM_THREADS', '1')
import subprocess, sys
import numpy as np, pandas as pd, pytest, torch
from trustbook.core import TrustbookError
from trustbook.data import DataFormatError
from trustbook.recsys.data import (RecData, pairs_to_csr, check_ids, split_per_user, read_lightgcn_file, load_lightgcn,
                                   planted_lowrank, kcore, read_inter, load_data, thin)
from trustbook.recsys.models import make_model, check_recommender
from trustbook.recsys.samplers import NegativeSampler, dns_pick, make_sampler
from trustbook.recsys.losses import get_loss, negative_score_weight, bpr_loss
from trustbook.recsys.evaluation import full_ranking_metrics, target_rank_percentile, uniform_fn_rate, best_epoch
from trustbook.recsys.training import TrainConfig, method_config, fit
from trustbook.recsys.hard_bpr import hard_bpr_from_margin, hard_bpr_loss, scaled_bpr_loss, hard_bpr_weight
from trustbook.recsys.soft_bpr import soft_bpr_loss, pdns_loss, equivalence_gap, mix_negative
from conftest import fresh_python


class Fixed:
    def __init__(self, U, I): self.U, self.I = torch.tensor(U), torch.tensor(I)
    def embeddings(self): return self.U, self.I

def toy():
    return RecData(pairs_to_csr([0, 0, 1], [0, 1, 2], 2, 4), pairs_to_csr([0, 1, 1], [2, 1, 3], 2, 4))

# ---------- bad input ----------
@pytest.mark.parametrize('u,i,msg', [([0, -1], [0, 1], 'user id -1'), ([0, 2], [0, 1], 'user id 2'),
                                     ([0, 1], [0, 4], 'item id 4'), ([0, 1], [-3, 1], 'item id -3')])
def test_ids_out_of_range(u, i, msg):
    with pytest.raises(TrustbookError, match=msg): pairs_to_csr(u, i, 2, 4)

def test_float_ids_rejected():
    with pytest.raises(TrustbookError, match='integers'): check_ids(np.array([0.5]), np.array([1]), 2, 2)

def test_test_user_without_training_items():
    with pytest.raises(TrustbookError, match='no training items'):
        RecData(pairs_to_csr([0], [0], 2, 3), pairs_to_csr([1], [1], 2, 3))

def test_empty_splits():
    with pytest.raises(TrustbookError, match='training split is empty'): RecData(pairs_to_csr([], [], 2, 3), pairs_to_csr([0], [1], 2, 3))
    with pytest.raises(TrustbookError, match='test split is empty'): RecData(pairs_to_csr([0], [0], 2, 3), pairs_to_csr([], [], 2, 3))

def test_overlapping_splits():
    with pytest.raises(TrustbookError, match='train and test share'): RecData(pairs_to_csr([0], [0], 1, 3), pairs_to_csr([0], [0], 1, 3))
    with pytest.raises(TrustbookError, match='train and valid share'):
        RecData(pairs_to_csr([0], [0], 1, 3), pairs_to_csr([0], [1], 1, 3), valid=pairs_to_csr([0], [0], 1, 3))

def test_bad_m():
    with pytest.raises(TrustbookError, match='M'): TrainConfig(m=0).check()
    with pytest.raises(TrustbookError, match='M must be >= 1'): NegativeSampler(toy().train).uniform([0], 0, np.random.default_rng(0))
    with pytest.raises(TrustbookError, match='M .DNS candidates.'): make_sampler('dns', m=-2)

def test_k_larger_than_items():
    with pytest.raises(TrustbookError, match='n_items=4'): full_ranking_metrics(Fixed([[1., 0]] * 2, [[1., 0]] * 4), toy(), ks=(20,))

def test_unknown_names_list_the_known_ones():
    with pytest.raises(TrustbookError, match='unknown recommender loss .*known: bpr'): get_loss('nope')
    with pytest.raises(TrustbookError, match='unknown recommender method .*RNS-BPR'): method_config('XNS')
    with pytest.raises(TrustbookError, match='known: mf, lightgcn'): make_model('ngcf', toy())
    with pytest.raises(TrustbookError, match='negative sampler .*known: rns, dns'): TrainConfig(sampler='mixgcf').check()
    with pytest.raises(TrustbookError, match='recommender dataset .*ml-100k'): load_data('netflix')

def test_loss_hyperparameters_checked():
    x = torch.zeros(3)
    with pytest.raises(TrustbookError, match='a >= 0'): hard_bpr_from_margin(x, a=-0.1)
    with pytest.raises(TrustbookError, match='c > 0'): hard_bpr_from_margin(x, c=0)
    with pytest.raises(TrustbookError, match='beta'): soft_bpr_loss(torch.ones(1, 2), torch.ones(1, 2), torch.ones(1, 2), beta=1.5)
    with pytest.raises(TrustbookError, match='alpha'): mix_negative(torch.ones(1), torch.ones(1), alpha=1.0)
    # a bad hyperparameter is named before the first batch, not deep inside training
    with pytest.raises(TrustbookError, match='beta'): fit(planted_lowrank(20, 30, per_user=5), 'mf', method_config('DNS-soft-BPR', dict(beta=2.0), epochs=1))

def test_lightgcn_files(tmp_path):
    (tmp_path/'train.txt').write_text('0 0 1\n1 2\n'); (tmp_path/'test.txt').write_text('0 2\n1 1 3\n')
    d = load_lightgcn(tmp_path)
    assert (d.n_users, d.n_items, d.train.nnz, d.test.nnz) == (2, 4, 3, 3)
    (tmp_path/'test.txt').write_text('0 2\n5 1\n')
    with pytest.raises(TrustbookError, match='user 5'): load_lightgcn(tmp_path)
    (tmp_path/'train.txt').write_text('0 0 1\n1 x\n')
    with pytest.raises(DataFormatError, match='row 2'): read_lightgcn_file(tmp_path/'train.txt')

def test_read_inter_threshold_and_bad_rating(tmp_path):
    f = tmp_path/'a.inter'
    f.write_text('user_id:token\titem_id:token\trating:float\n1\t10\t5\n1\t11\t3\n2\t10\t4\n')
    assert len(read_inter(f, 4)) == 2
    f.write_text('user_id:token\titem_id:token\trating:float\n1\t10\tfive\n')
    with pytest.raises(DataFormatError, match='row 2'): read_inter(f, 4)

def test_kcore_iterates():
    df = pd.DataFrame({'user': ['a', 'a', 'b', 'b', 'c'], 'item': ['x', 'y', 'x', 'y', 'z']})
    assert set(kcore(df, 2)['user']) == {'a', 'b'}

# ---------- metrics against hand-computed rankings ----------
def test_recall_ndcg_hand_computed():
    # user 0 scores [9, 0, 2, 3], train {0, 1} masked -> ranking [3, 2]; test {2} at rank 2
    # user 1 scores [0, 3, 0, 1], train {2} masked -> ranking [1, 3, ...]; test {1, 3} at ranks 1, 2
    m = full_ranking_metrics(Fixed([[1., 0.], [0., 1.]], [[9., 0.], [0., 3.], [2., 0.], [3., 1.]]), toy(), ks=(1, 2))
    assert m['recall@1'] == pytest.approx((0 + 1 / 2) / 2)
    assert m['recall@2'] == pytest.approx((1 + 1) / 2)
    assert m['ndcg@1'] == pytest.approx((0 + 1) / 2)
    assert m['ndcg@2'] == pytest.approx(((1 / np.log2(3)) + 1) / 2)

def test_training_items_never_recommended():
    # item 0 has the highest score for user 0 but is a training item: recall must not count it, and it can't be a hit
    d = RecData(pairs_to_csr([0], [0], 1, 3), pairs_to_csr([0], [1], 1, 3))
    m = full_ranking_metrics(Fixed([[1.]], [[100.], [2.], [1.]]), d, ks=(1,))
    assert m['recall@1'] == 1.0

def test_validation_ranking_never_sees_test_items():
    # user 0: test item 1 scores highest, validation item 2 next. Ranking validation must not mask the test item
    # (choosing an epoch may not use the test set), ranking test masks the known validation item.
    d = RecData(pairs_to_csr([0], [0], 1, 4), pairs_to_csr([0], [1], 1, 4), valid=pairs_to_csr([0], [2], 1, 4))
    f = Fixed([[1.]], [[0.], [9.], [5.], [1.]])
    assert full_ranking_metrics(f, d, ks=(1,), target='valid')['recall@1'] == 0.0
    assert full_ranking_metrics(f, d, ks=(1,), target='test')['recall@1'] == 1.0

def test_rank_percentile():
    d = RecData(pairs_to_csr([0], [0], 1, 4), pairs_to_csr([0], [1], 1, 4), hidden=pairs_to_csr([0], [3], 1, 4))
    pct = target_rank_percentile(Fixed([[1.]], [[9.], [5.], [4.], [1.]]), d)
    assert pct.tolist() == [1.0]      # the lowest of the 3 candidates: 2 above it out of 2

def test_best_epoch_is_chosen_on_validation():
    h = pd.DataFrame({'epoch': [1, 2, 3], 'valid_recall@20': [0.1, 0.3, 0.2], 'test_recall@20': [0.5, 0.1, 0.2]})
    assert best_epoch(h)['epoch'] == 2
    with pytest.raises(TrustbookError, match='valid_ndcg@20'): best_epoch(h, 'valid_ndcg@20')

# ---------- samplers ----------
def test_uniform_never_returns_training_items():
    d = planted_lowrank(40, 60, per_user=20, seed=0)
    for lim in (1e8, 0):
        s = NegativeSampler(d.train, dense_limit=lim)
        u = np.repeat(np.arange(40), 50)
        c = s.uniform(u, 7, np.random.default_rng(1))
        assert not s.is_positive(np.repeat(u, 7), c.ravel()).any()

def test_dns_picks_argmax_and_m1_is_uniform():
    ue = torch.tensor([[1., 0.], [0., 1.]]); ie = torch.tensor([[0., 0.], [3., 0.], [1., 5.], [2., 2.]])
    assert dns_pick(ue, ie, np.array([[0, 1, 3], [1, 2, 3]])).tolist() == [1, 2]
    assert dns_pick(ue, ie, np.array([[3], [0]])).tolist() == [3, 0]
    assert make_sampler('rns').pick(ue, ie, np.array([[3, 1], [0, 2]])).tolist() == [3, 0]

def test_dns_picks_more_false_negatives_than_uniform():
    d = planted_lowrank(80, 120, per_user=20, hidden_frac=0.3, seed=0)
    r = fit(d, 'mf', TrainConfig(sampler='dns', m=32, epochs=8, lr=2e-2, batch_size=128), seed=0, dim=16)
    assert r['history']['fn_pick_rate'].iloc[-3:].mean() > 1.5 * uniform_fn_rate(d)

# ---------- losses ----------
def test_equivalence_pdns_soft_bpr():
    g = torch.Generator().manual_seed(0)
    u, p, n = (torch.randn(128, 16, generator=g) for _ in range(3))
    for a in (0.3, 0.7, 0.8, 0.95):
        assert max(equivalence_gap(u, p, n, a).values()) < 1e-12
        torch.testing.assert_close(pdns_loss(u, p, n, a), soft_bpr_loss(u, p, n, 1 - a), rtol=1e-5, atol=1e-6)

def test_hard_bpr_reduces_to_bpr_and_is_bounded():
    g = torch.Generator().manual_seed(1)
    u, p, n = (torch.randn(64, 8, generator=g) for _ in range(3))
    torch.testing.assert_close(hard_bpr_loss(u, p, n, a=0, b=0, c=1), bpr_loss(u, p, n), rtol=1e-5, atol=1e-5)
    assert hard_bpr_from_margin(torch.tensor([-1e6]), a=1.0).item() == pytest.approx(np.log(2), abs=1e-6)

def test_gradient_weight_on_very_hard_negatives():
    # a negative scored far above the positive: BPR weight -> 1, soft BPR -> beta, Hard-BPR -> 0
    u, p, n = torch.tensor([[1., 0.]]), torch.tensor([[0., 0.]]), torch.tensor([[100., 0.]])
    assert negative_score_weight(bpr_loss, u, p, n).item() == pytest.approx(1.0, abs=1e-6)
    assert negative_score_weight(lambda *a: soft_bpr_loss(*a, beta=0.2), u, p, n).item() == pytest.approx(0.2, abs=1e-3)
    assert negative_score_weight(lambda *a: pdns_loss(*a, alpha=0.8), u, p, n).item() == pytest.approx(0.2, abs=1e-3)
    assert negative_score_weight(hard_bpr_loss, u, p, n).item() < 1e-3

def test_scaled_bpr_matches_hard_bpr_level_with_bpr_shape():
    g = torch.Generator().manual_seed(2)
    u, p, n = (torch.randn(512, 8, generator=g) for _ in range(3))
    wh, ws, wb = (negative_score_weight(f, u, p, n) for f in (hard_bpr_loss, scaled_bpr_loss, bpr_loss))
    assert ws.sum().item() == pytest.approx(wh.sum().item(), rel=1e-4)            # the same total weight on the batch
    torch.testing.assert_close(ws / ws.max(), wb / wb.max(), rtol=1e-4, atol=1e-6)  # BPR's shape
    x = torch.linspace(-6, 6, 7)
    torch.testing.assert_close(hard_bpr_weight(x), torch.autograd.functional.jacobian(lambda t: hard_bpr_from_margin(t).sum(), x).abs())

def test_losses_reject_mismatched_batches():
    a, b = torch.ones(4, 3), torch.ones(5, 3)
    for loss in (bpr_loss, hard_bpr_loss, scaled_bpr_loss, soft_bpr_loss, pdns_loss):
        with pytest.raises(TrustbookError, match='same shape'): loss(a, a, b)
    with pytest.raises(TrustbookError, match='float'): bpr_loss(a.long(), a.long(), a.long())

# ---------- determinism and splits ----------
def test_split_is_seeded_and_disjoint():
    u = np.repeat(np.arange(20), 10); i = np.tile(np.arange(10), 20)
    a = split_per_user(u, i, 20, 15, 0.2, 0.2, seed=3); b = split_per_user(u, i, 20, 15, 0.2, 0.2, seed=3)
    c = split_per_user(u, i, 20, 15, 0.2, 0.2, seed=4)
    assert (a.test != b.test).nnz == 0 and (a.test != c.test).nnz > 0
    assert a.train.multiply(a.hidden).nnz == 0 and a.test.multiply(a.hidden).nnz == 0
    assert a.train.nnz + a.test.nnz + a.hidden.nnz == 200
    v = split_per_user(u, i, 20, 15, 0.2, 0.2, seed=3, valid_frac=0.2)
    assert (v.test != a.test).nnz == 0 and (v.hidden != a.hidden).nnz == 0 and v.valid.nnz == 40 and v.train.nnz + 40 == a.train.nnz

def test_fit_is_repeatable_and_lightgcn_sparse():
    d = planted_lowrank(30, 40, per_user=6, seed=0)
    cfg = TrainConfig(sampler="dns", m=4, epochs=2, lr=1e-2, batch_size=64, ks=(5, 10))
    r1, r2 = fit(d, 'lightgcn', cfg, seed=2, dim=8, n_layers=2), fit(d, 'lightgcn', cfg, seed=2, dim=8, n_layers=2)
    assert r1['final'] == r2['final']
    assert r1['model'].adj.layout == torch.sparse_csr

def test_thinning_is_the_sparser_regime():
    df = pd.DataFrame({'user': np.arange(1000) % 50, 'item': np.arange(1000)})
    assert len(thin(df, 0.3, seed=0)) == 300 and thin(df, 0.3, seed=0).equals(thin(df, 0.3, seed=0))
    with pytest.raises(TrustbookError, match='keep_frac'): thin(df, 0)

# ---------- registries: names resolve in a fresh interpreter ----------
def test_registry_names_resolve_in_a_fresh_interpreter():
    code = ("from trustbook.recsys.losses import LOSSES; from trustbook.recsys.training import METHODS, method_config; "
            "from trustbook.recsys.samplers import SAMPLERS; from trustbook.recsys.models import MODELS; "
            "from trustbook.recsys.data import DATASETS; "
            "print(LOSSES['hard_bpr'].__module__, LOSSES['pdns'].__module__, method_config('DNS-Hard-BPR').loss, "
            "sorted(SAMPLERS.names()), sorted(MODELS.names()), 'ml-100k' in DATASETS)")
    out = fresh_python(code)
    assert out.split() == ['trustbook.recsys.hard_bpr', 'trustbook.recsys.soft_bpr', 'hard_bpr', "['dns',", "'rns']",
                                  "['lightgcn',", "'mf']", 'True'], out

# ---------- the user's own recommender ----------
class MyRec(torch.nn.Module):
    "A user's model: no trustbook base class, no ego()."
    def __init__(self, n_u, n_i): super().__init__(); self.u, self.i = torch.nn.Embedding(n_u, 16), torch.nn.Embedding(n_i, 16)
    def embeddings(self): return self.u.weight, self.i.weight

def test_your_own_model_and_data_hard_bpr_and_pdns():
    "The 'your own model and data' snippet of the Hard-BPR and Soft-BPR pages."
    users, items = np.repeat(np.arange(40), 8), (np.arange(320) * 7) % 60
    data = split_per_user(users, items, 40, 60, test_frac=0.2, valid_frac=0.2)
    for meth, lp in (('DNS-Hard-BPR', None), ('DNS-PDNS', dict(alpha=0.8))):
        torch.manual_seed(0)
        r = fit(data, MyRec(40, 60), method_config(meth, lp, m=8, epochs=5, lr=0.05, eval_every=1, select='recall@20'))
        assert set(r['final']) == {'recall@20', 'ndcg@20', 'recall@50', 'ndcg@50'} and 1 <= r['best_epoch'] <= 5

def test_a_model_that_breaks_the_protocol_is_named():
    d = planted_lowrank(20, 30, per_user=5)
    class NoEmb(torch.nn.Module):
        def __init__(self): super().__init__(); self.w = torch.nn.Parameter(torch.zeros(3))
    with pytest.raises(TrustbookError, match=r'NoEmb has no embeddings\(\) method'): fit(d, NoEmb(), TrainConfig(epochs=1))
    with pytest.raises(TrustbookError, match='19 users x 30 items but the data has 20 users'): check_recommender(MyRec(19, 30), 20, 30)
    class Detached(MyRec):
        def embeddings(self): return self.u.weight.detach(), self.i.weight.detach()
    with pytest.raises(TrustbookError, match='no trainable parameter reaches'): check_recommender(Detached(20, 30), 20, 30)
    class One(MyRec):
        def embeddings(self): return self.u.weight
    with pytest.raises(TrustbookError, match=r'must return a pair of tensors'): check_recommender(One(20, 30), 20, 30)
    with pytest.raises(TrustbookError, match='has no embeddings'): full_ranking_metrics(torch.nn.Linear(2, 2), d, ks=(5,))

# ---------- property-based: loaders of user files give a valid dataset or a TrustbookError, never a partial load ----------
from hypothesis import given, settings, HealthCheck, strategies as st

FUZZ = settings(max_examples=int(os.environ.get("FUZZ_N", 60)), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TOKEN = st.text(alphabet='abcXYZ0123456789._-', min_size=0, max_size=5)
RATING = st.sampled_from(['5', '4', '3.5', '1', '0', '-2', 'nan', 'inf', '1e400', 'x', ''])
HEADER = 'user_id:token\titem_id:token\trating:float\n'

def _expected_inter(lines, thr):
    "An independent reading of the rows: the (user, item) set kept, or None where the file must be refused."
    keep = set()
    for line in lines:
        if line == '': continue
        f = line.split('\t')
        if len(f) != 3 or not f[0].strip() or not f[1].strip(): return None
        try: r = float(f[2])
        except ValueError: return None
        if not np.isfinite(r): return None
        if r >= thr: keep.add((f[0], f[1]))
    return keep or None

@FUZZ
@given(raw=st.binary(max_size=300))
def test_read_inter_on_arbitrary_bytes(tmp_path, raw):
    f = tmp_path/'x.inter'; f.write_bytes(raw)
    for thr in (4.0, None):
        try: df = read_inter(f, thr)
        except TrustbookError: continue
        assert list(df.columns) == ['user', 'item'] and len(df) and not df.isna().any(axis=None)

@FUZZ
@given(rows=st.lists(st.one_of(st.tuples(TOKEN, TOKEN, RATING).map('\t'.join),
                               st.lists(TOKEN, max_size=4).map('\t'.join)), max_size=8))
def test_read_inter_reads_every_row_or_refuses(tmp_path, rows):
    f = tmp_path/'x.inter'; f.write_text(HEADER + '\n'.join(rows) + '\n')
    want = _expected_inter(rows, 4.0)
    try: got = read_inter(f, 4.0)
    except TrustbookError:
        assert want is None, f"refused a readable file: {rows}"
        return
    assert want is not None, f"read a file that should be refused: {rows}"
    assert set(zip(got['user'], got['item'])) == want and len(got) == len(want)

@FUZZ
@given(raw=st.binary(max_size=300))
def test_read_lightgcn_file_on_arbitrary_bytes(tmp_path, raw):
    f = tmp_path/'train.txt'; f.write_bytes(raw)
    try: u, i = read_lightgcn_file(f)
    except TrustbookError: return
    assert len(u) == len(i) and (len(u) == 0 or (u.min() >= 0 and i.min() >= 0))

LINE = st.lists(st.integers(0, 30), min_size=1, max_size=5)

@FUZZ
@given(lines=st.lists(st.one_of(LINE.map(lambda l: ' '.join(map(str, l))), st.sampled_from(['', '1 x', '-1 2', '1_0 2', '+3 4', '٣ 1'])),
                      max_size=6))
def test_read_lightgcn_file_reads_every_pair_or_refuses(tmp_path, lines):
    f = tmp_path/'train.txt'; f.write_text('\n'.join(lines) + '\n')
    ok = all(l == '' or all(p.isascii() and p.isdigit() for p in l.split()) for l in lines)
    try: u, i = read_lightgcn_file(f)
    except TrustbookError:
        assert not ok, lines
        return
    assert ok, lines
    want = [(int(l.split()[0]), int(p)) for l in lines if l for p in l.split()[1:]]
    assert list(zip(u.tolist(), i.tolist())) == want

@FUZZ
@given(train=st.lists(LINE, max_size=5), test=st.lists(LINE, max_size=5), far=st.booleans())
def test_load_lightgcn_gives_data_or_a_named_error(tmp_path, train, test, far):
    fmt = lambda ls: '\n'.join(' '.join(map(str, l)) for l in ls) + '\n'
    if far and train: train = train + [[10**9, 1]]   # a stray huge id must be refused, not allocated
    (tmp_path/'train.txt').write_text(fmt(train)); (tmp_path/'test.txt').write_text(fmt(test))
    try: d = load_lightgcn(tmp_path)
    except TrustbookError: return
    assert isinstance(d, RecData) and d.train.nnz and d.test.nnz and d.train.multiply(d.test).nnz == 0
    assert d.n_users < 10**6

@FUZZ
@given(pairs=st.lists(st.tuples(st.integers(-2, 12), st.integers(-2, 12)), max_size=40),
       test_frac=st.one_of(st.floats(-0.5, 1.5), st.just(float('nan'))), valid_frac=st.sampled_from([0.0, 0.1, 0.5, float('nan')]))
def test_split_per_user_gives_data_or_a_named_error(pairs, test_frac, valid_frac):
    u = np.array([p[0] for p in pairs], dtype=np.int64); i = np.array([p[1] for p in pairs], dtype=np.int64)
    try: d = split_per_user(u, i, 10, 10, test_frac=test_frac, valid_frac=valid_frac, seed=0)
    except TrustbookError: return
    assert d.train.nnz + d.test.nnz + (d.valid.nnz if d.valid is not None else 0) == len(set(pairs))
