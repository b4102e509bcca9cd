"Fast checks of trustbook.recsys: bad inputs, hand-computed rankings, the PDNS / soft-BPR equivalence, sampler properties."
import os
os.environ.setdefault('OMP_NUM_THREADS', '1')
import numpy as np, pytest, torch
from trustbook.core import TrustbookError
from trustbook.recsys.core import (RecData, pairs_to_csr, check_ids, split_per_user, read_lightgcn_file, load_lightgcn,
                                   NegativeSampler, dns_pick, full_ranking_metrics, target_rank_percentile, make_model,
                                   TrainConfig, method_config, fit, planted_lowrank, uniform_fn_rate, get_loss, kcore, read_inter,
                                   negative_score_weight, bpr_loss)
from trustbook.recsys.hard_bpr import hard_bpr_from_margin, hard_bpr_loss
from trustbook.recsys.soft_bpr import soft_bpr_loss, pdns_loss, equivalence_gap, mix_negative
from trustbook.data import DataFormatError
import pandas as pd

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

def test_overlapping_train_test():
    with pytest.raises(TrustbookError, match='share interactions'): RecData(pairs_to_csr([0], [0], 1, 3), pairs_to_csr([0], [0], 1, 3))

def test_bad_m():
    with pytest.raises(TrustbookError, match='M'): TrainConfig(m=0).check()
    with pytest.raises(TrustbookError, match='M must be >= 1'): NegativeSampler(toy().train).uniform([0], 0, np.random.default_rng(0))

def test_k_larger_than_items():
    with pytest.raises(TrustbookError, match='n_items=4'): full_ranking_metrics(Fixed([[1., 0]] * 2, [[1., 0]] * 4), toy(), ks=(20,))

def test_unknown_names():
    with pytest.raises(TrustbookError, match='unknown loss'): get_loss('nope')
    with pytest.raises(TrustbookError, match='unknown method'): method_config('XNS')
    with pytest.raises(TrustbookError, match="'mf' or 'lightgcn'"): make_model('ngcf', toy())
    with pytest.raises(TrustbookError, match='sampler'): TrainConfig(sampler='mixgcf').check()

def test_loss_hyperparameters_checked():
    x = torch.zeros(3)
    with pytest.raises(TrustbookError, match='a >= 0'): hard_bpr_from_margin(x, a=-0.1)
    with pytest.raises(TrustbookError, match='c > 0'): hard_bpr_from_margin(x, c=0)
    with pytest.raises(TrustbookError, match='beta'): soft_bpr_loss(torch.ones(1, 2), torch.ones(1, 2), torch.ones(1, 2), beta=1.5)
    with pytest.raises(TrustbookError, match='alpha'): mix_negative(torch.ones(1), torch.ones(1), alpha=1.0)

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

def test_rank_percentile():
    d = RecData(pairs_to_csr([0], [0], 1, 4), pairs_to_csr([0], [1], 1, 4), hidden=pairs_to_csr([0], [3], 1, 4))
    pct = target_rank_percentile(Fixed([[1.]], [[9.], [5.], [4.], [1.]]), d)
    assert pct.tolist() == [1.0]      # the lowest of the 3 candidates: 2 above it out of 2

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

# ---------- determinism and splits ----------
def test_split_is_seeded_and_disjoint():
    u = np.repeat(np.arange(20), 10); i = np.tile(np.arange(10), 20)
    a = split_per_user(u, i, 20, 15, 0.2, 0.2, seed=3); b = split_per_user(u, i, 20, 15, 0.2, 0.2, seed=3)
    c = split_per_user(u, i, 20, 15, 0.2, 0.2, seed=4)
    assert (a.test != b.test).nnz == 0 and (a.test != c.test).nnz > 0
    assert a.train.multiply(a.hidden).nnz == 0 and a.test.multiply(a.hidden).nnz == 0
    assert a.train.nnz + a.test.nnz + a.hidden.nnz == 200

def test_fit_is_repeatable_and_lightgcn_sparse():
    d = planted_lowrank(30, 40, per_user=6, seed=0)
    cfg = TrainConfig(sampler="dns", m=4, epochs=2, lr=1e-2, batch_size=64, ks=(5, 10))
    r1, r2 = fit(d, 'lightgcn', cfg, seed=2, dim=8, n_layers=2), fit(d, 'lightgcn', cfg, seed=2, dim=8, n_layers=2)
    assert r1['final'] == r2['final']
    assert r1['model'].adj.layout == torch.sparse_csr
