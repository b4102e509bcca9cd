"Fast checks of trustbook.llm (core, tiny) and trustbook.llm.fsd: bad inputs and key properties. No network."
import warnings
import numpy as np, pandas as pd, pytest, torch
from trustbook.core import TrustbookError
from trustbook.llm.core import token_logprobs, load_causal_lm, encode_texts
from trustbook.llm.scores import membership_scores, SCORES
from trustbook.llm.train import train_causal_lm
from trustbook.llm.tiny import byte_tokenizer, tiny_gpt2, chunk_text, membership_splits, topic_chunks, pydoc_topics
from trustbook.llm.fsd import fsd_scores, detection_table, check_overlap, loss_drops, finetune_copy, wikimia_split, load_wikimia

torch.set_num_threads(1)

@pytest.fixture(scope='module')
def tiny():
    return tiny_gpt2(n_layer=1, n_embd=32, seed=0).eval(), byte_tokenizer()

TEXTS = ['The old King ruled the North.', 'a new robot drove to the moon.', 'Hello world, hello World!']

def test_scores_shape_and_orientation(tiny):
    m, tok = tiny
    df = membership_scores(m, tok, TEXTS, batch_size=2)
    assert list(df.columns) == ['nll', *SCORES] and len(df) == 3 and np.isfinite(df.values).all()
    np.testing.assert_allclose(df.perplexity, -np.exp(df.nll))   # the FSD code's perplexity; log-perplexity is a variant
    np.testing.assert_allclose(membership_scores(m, tok, TEXTS, scores=['log_perplexity']).log_perplexity, -df.nll)
    lp = token_logprobs(m, tok, TEXTS)
    assert [len(v) for v in lp] == [len(t.encode()) - 1 for t in TEXTS]   # byte tokens, first one not predicted
    np.testing.assert_allclose(df.nll, [-v.mean() for v in lp], rtol=1e-6)
    # min_k is the mean of the lowest 20% of token log-probs: never above the mean log-prob
    assert (df.min_k <= -df.nll + 1e-9).all()

def test_batching_does_not_change_scores(tiny):
    m, tok = tiny
    a = membership_scores(m, tok, TEXTS, batch_size=3); b = membership_scores(m, tok, TEXTS, batch_size=1)
    np.testing.assert_allclose(a.values, b.values, rtol=1e-3, atol=1e-4)  # float32 sums differ by batch shape

@pytest.mark.parametrize('texts,msg', [([], 'texts is empty'), (['ok text', ''], 'text 1 is empty'), (['ok text', '   '], 'text 1 is empty'),
                                       (['a'], 'at least two'), ('one string', 'one string'), ([3], 'not a string')])
def test_bad_texts(tiny, texts, msg):
    m, tok = tiny
    with pytest.raises(TrustbookError, match=msg): membership_scores(m, tok, texts)

def test_bad_score_name_and_k(tiny):
    m, tok = tiny
    with pytest.raises(TrustbookError, match="unknown membership score 'loss'"): membership_scores(m, tok, TEXTS, scores=['loss'])
    with pytest.raises(TrustbookError, match='k is a fraction'): membership_scores(m, tok, TEXTS, k=0)

def test_model_not_on_disk_offline():
    with pytest.raises(TrustbookError, match='not on disk.*huggingface-cli download'):
        load_causal_lm('trustbook-no-such-org/no-such-model-xyz')

def test_saved_tiny_model_loads_by_path(tiny, tmp_path):
    m, tok = tiny
    m.save_pretrained(tmp_path); tok.save_pretrained(tmp_path)
    m2, tok2 = load_causal_lm(tmp_path, device='cpu')
    np.testing.assert_allclose(membership_scores(m2, tok2, TEXTS).values, membership_scores(m, tok, TEXTS).values, rtol=1e-5)
    (tmp_path/'empty').mkdir()
    with pytest.raises(TrustbookError, match='no config.json'): load_causal_lm(tmp_path/'empty')

def test_fsd_bad_inputs(tiny):
    m, tok = tiny
    with pytest.raises(TrustbookError, match='fine-tuning set is empty'): fsd_scores(m, tok, TEXTS, [])
    with pytest.raises(TrustbookError, match='text 3 is empty'): fsd_scores(m, tok, TEXTS + [''], ['some new text here'])
    df = pd.DataFrame({'nll': [1., 2.], 'nll_ft': [.5, 1.], 'perplexity': [1., 2.], 'fsd_perplexity': [1., 2.]})
    with pytest.raises(TrustbookError, match=r'0 \(non-member\) or 1'): detection_table(df, [0, 2], ['perplexity'])
    with pytest.raises(TrustbookError, match=r'0 \(non-member\) or 1'): loss_drops(df, [1, -1])
    with pytest.raises(TrustbookError, match="unknown tuning method 'ia3'; known: lora, full"): finetune_copy(m, tok, ['abc def'], method='ia3')

def test_overlap_warns_and_names_it():
    with pytest.warns(UserWarning, match=r"1 fine-tuning text.*'shared text'"):
        both = check_overlap(['shared text', 'only test'], ['shared text', 'only ft'])
    assert both == ['shared text']
    with warnings.catch_warnings():
        warnings.simplefilter('error'); assert check_overlap(['a b'], ['c d']) == []

def test_fsd_deviation_and_untouched_model(tiny):
    m, tok = tiny
    before = {n: p.clone() for n, p in m.named_parameters()}
    df = fsd_scores(m, tok, TEXTS, ['a new robot flew to the sun.'] * 8, lr=1e-2, epochs=2, batch_size=4, warmup_steps=0)
    for s in SCORES: np.testing.assert_allclose(df[f'fsd_{s}'], df[s] - df[f'{s}_ft'])
    assert all(torch.equal(p, before[n]) for n, p in m.named_parameters())
    # the fine-tuning text's near-copy gains the most: its loss drops more than the unrelated texts'
    d = df.nll - df.nll_ft
    assert d[1] > d[0] and d[1] > d[2]

def test_lora_in_place_is_removed(tiny):
    m, tok = tiny
    import copy
    m2 = copy.deepcopy(m)
    fsd_scores(m2, tok, TEXTS, ['some new text to learn'] * 8, copy_model=False, epochs=1, batch_size=4)
    assert not any('lora' in n for n, _ in m2.named_parameters())

def test_training_lowers_loss():
    tok = byte_tokenizer(); m = tiny_gpt2(n_layer=1, n_embd=32, seed=1)
    texts = ['the cat sat on the mat. ' * 2] * 8
    a = membership_scores(m, tok, texts[:1], scores=['perplexity']).nll[0]
    train_causal_lm(m, tok, texts, epochs=5, lr=5e-3, batch_size=4)
    assert membership_scores(m, tok, texts[:1], scores=['perplexity']).nll[0] < a - 0.5
    with pytest.raises(TrustbookError, match='epochs must be a positive integer'): train_causal_lm(m, tok, texts, epochs=0)

def test_splits_disjoint_and_seeded():
    ch = topic_chunks(pydoc_topics(), 150)
    s = membership_splits(ch, seed=3, n_members=100, n_test=50, n_ft=20, n_val=20)
    mem = set(s['members'])
    for p in ('shared', 'other', 'iid'):
        assert not mem & set(s[p]['test']) and not mem & set(s[p]['ft']) and not set(s[p]['test']) & set(s[p]['ft'])
    assert set(s['test_members']) <= mem
    assert s['shared']['test'] == s['other']['test'] and s['shared']['ft'] != s['other']['ft']
    assert membership_splits(ch, seed=3, n_members=100, n_test=50, n_ft=20, n_val=20)['members'] == s['members']
    with pytest.raises(TrustbookError, match='cannot exceed'): membership_splits(ch, 0, n_members=10, n_test=20)
    with pytest.raises(TrustbookError, match='at least 16'): chunk_text('abc', 4)

def test_wikimia_split_protocol():
    df = pd.DataFrame(dict(text=[f't{i}' for i in range(40)], label=[0, 1] * 20, length=[32] * 20 + [64] * 20))
    ft, test = wikimia_split(df, seed=42)
    assert len(test) == 28 and not set(ft) & set(test.text)
    assert set(df.set_index('text').loc[ft, 'label']) == {0}
    with pytest.raises(TrustbookError, match='no length split'): load_wikimia([100])


def test_your_own_model_and_data():
    "The FSD page's 'your own model and data' example: a GPT-2 built from its config, not by trustbook."
    from transformers import GPT2Config, GPT2LMHeadModel
    texts, labels = ['the old king ruled the north.', 'the old queen ruled the south.', 'a new robot drove to the moon.', 'a new robot flew to the sun.'], [1, 1, 0, 0]
    model = GPT2LMHeadModel(GPT2Config(vocab_size=257, n_layer=1, n_embd=32, n_head=2))   # your causal LM (here an untrained one)
    df = fsd_scores(model, byte_tokenizer(), texts, ['a new robot drove to the sun.', 'a new robot flew to the moon.'] * 4, batch_size=4)
    t = detection_table(df, labels)
    assert list(t.score) == list(SCORES) and t[['auc', 'auc_fsd']].stack().between(0, 1).all()


class GRULM(torch.nn.Module):
    "A user's causal LM in plain torch: a GRU over byte embeddings that returns next-token logits."
    def __init__(self, V=257, d=16):
        super().__init__(); self.emb = torch.nn.Embedding(V, d); self.rnn = torch.nn.GRU(d, d, batch_first=True); self.out = torch.nn.Linear(d, V)
    def forward(self, input_ids, attention_mask=None): return self.out(self.rnn(self.emb(input_ids))[0])


def test_plain_torch_model_with_full_fine_tuning():
    "Any module that returns logits works with full fine-tuning; LoRA needs a model peft can adapt, and says so."
    torch.manual_seed(0)
    df = fsd_scores(GRULM(), byte_tokenizer(), TEXTS, ['a new robot flew to the sun.'] * 8, method='full', lr=1e-2, epochs=2, batch_size=4)
    assert np.isfinite(df.filter(like='fsd_').values).all()
    with pytest.raises(TrustbookError, match='cannot adapt a GRULM'): fsd_scores(GRULM(), byte_tokenizer(), TEXTS, ['new text'] * 4)
    with pytest.raises(TrustbookError, match='must be a torch.nn.Module'): fsd_scores(lambda x: x, byte_tokenizer(), TEXTS, ['new text'])


def test_tables_passed_in_are_checked():
    df = pd.DataFrame({'nll': [1., 2.], 'perplexity': [1., 2.]})
    with pytest.raises(TrustbookError, match=r"df lacks column\(s\) \['fsd_perplexity'\] \(the output of `fsd_scores`\)"):
        detection_table(df, [0, 1], ['perplexity'])
    with pytest.raises(TrustbookError, match=r"lacks column\(s\) \['nll_ft'\]"): loss_drops(df, [0, 1])
    with pytest.raises(TrustbookError, match='3 labels for 2 scored texts'): loss_drops(df.assign(nll_ft=0.), [0, 1, 1])
    with pytest.raises(TrustbookError, match=r"lacks column\(s\) \['length'\]"): wikimia_split(pd.DataFrame(dict(text=['a'], label=[0])))
