"Fast checks of LC for instruction data: masking restores weights, LC ranks a consistent response as easier, loaders name bad rows, the MMLU evaluator (no network, seconds)."
import json
import numpy as np, pandas as pd, pytest, torch
from trustbook.core import TrustbookError
from trustbook.data import DataFormatError, DataMissingError, get_spec, dataset_dir
from trustbook.llm.tiny import tiny_gpt2, byte_tokenizer
from trustbook.curation.lc_instruct import masked_subnets, lm_prunable_weights, instruction_lc, select_instructions, SELECTIONS
from trustbook.llm.instruct import (instruction_finetune, validate_alpaca, load_alpaca, sample_path, standin_instructions,
    standin_questions)
from trustbook.llm.mmlu import validate_mmlu, read_mmlu, evaluate_mmlu, mmlu_accuracy, MMLU_CATEGORIES, MMLU_CATEGORY_GROUPS, LETTERS
from conftest import fresh_python

torch.set_num_threads(1)
FACTS = dict(banana='yellow', apple='red', grass='green', sky='blue', snow='white')
TRAIN = [dict(instruction='Name its colour.', input=k, output=v) for k, v in FACTS.items()] * 8


@pytest.fixture(scope='module')
def tok(): return byte_tokenizer()


@pytest.fixture(scope='module')
def tuned(tok):
    "A tiny GPT-2 fully tuned on five fixed colour facts."
    m, _ = instruction_finetune(tiny_gpt2(n_layer=2, n_embd=32, n_head=2, seed=0), tok, TRAIN, method='full', epochs=8,
                                lr=1e-2, template='compact', warmup_steps=0)
    return m


def _state(m): return {k: v.clone() for k, v in m.state_dict().items()}
def _same(a, m): return all(torch.equal(a[k], v) for k, v in m.state_dict().items())


def test_mask_and_restore_leaves_weights_identical():
    m = tiny_gpt2(n_layer=2, n_embd=16, n_head=2, seed=3); before = _state(m)
    names = lm_prunable_weights(m)
    assert names and not any('lm_head' in n or 'wte' in n or 'wpe' in n for n in names)
    zeros = []
    for _, f in masked_subnets(m, [0.0, 0.3, 0.6, 0.95]):
        w = torch.cat([m.get_parameter(n).flatten() for n in names]); zeros.append(float((w == 0).float().mean()))
    assert np.allclose(zeros, [0, 0.3, 0.6, 0.95], atol=0.01)
    assert _same(before, m)


def test_restore_after_a_failing_forward(tok):
    m = tiny_gpt2(vocab_size=100, n_layer=1, n_embd=16, n_head=2, seed=0); before = _state(m)  # byte ids > 99 fail
    with pytest.raises(Exception): instruction_lc(m, tok, TRAIN[:2], n_steps=3, template='compact')
    assert _same(before, m)


def test_masks_must_nest():
    with pytest.raises(TrustbookError, match='non-decreasing'): list(masked_subnets(tiny_gpt2(n_layer=1, n_embd=16, n_head=2), [0.5, 0.2]))


def test_consistent_response_is_easier_than_random(tuned, tok):
    before = _state(tuned)
    ex = [dict(instruction='Name its colour.', input='sky', output='blue'),
          dict(instruction='Name its colour.', input='sky', output='kqzv')]
    lc, curve = instruction_lc(tuned, tok, ex, n_steps=5, template='compact', return_curve=True)
    assert lc[0] < lc[1] and curve.shape == (5, 2)
    assert _same(before, tuned)


def test_alpaca_loader_names_bad_row_and_field(tmp_path):
    rows = [dict(instruction='a', input='', output='b'), dict(instruction='c', input='', output='d'),
            dict(instruction='e', input=['x'], output='f')]
    p = tmp_path/'bad.json'; p.write_text(json.dumps(rows))
    with pytest.raises(DataFormatError, match=r"row 2: field 'input' must be a string") as e: load_alpaca(p)
    assert e.value.row == 2 and e.value.path == p
    with pytest.raises(DataFormatError, match="row 1: missing field 'output'"):
        validate_alpaca([rows[0], dict(instruction='c', input='')])
    q = tmp_path/'bad.jsonl'; q.write_text('{"instruction": "a", "input": "", "output": "b"}\n{"instruction": "", "input": "", "output": "b"}\n')
    with pytest.raises(DataFormatError, match="row 1: field 'instruction' is empty"): load_alpaca(q)
    (tmp_path/'broken.json').write_text('[{"instruction": ')
    with pytest.raises(DataFormatError, match='not valid JSON'): load_alpaca(tmp_path/'broken.json')


def test_mmlu_validation_and_categories():
    assert len(MMLU_CATEGORIES) == 57 and set(MMLU_CATEGORIES.values()) == set(MMLU_CATEGORY_GROUPS)
    q = pd.DataFrame([dict(question='q', subject='virology', choices=list('abcd'), answer=4)])
    with pytest.raises(DataFormatError, match="row 0: field 'answer'"): validate_mmlu(q)
    with pytest.raises(DataFormatError, match="row 0: subject 'astrology'"): validate_mmlu(q.assign(subject='astrology', answer=1))


def test_mmlu_evaluator_one_prediction_per_question(tuned, tok):
    mq = read_mmlu(sample_path('mmlu'))
    for kw in (dict(mode='letter', max_length=128), dict(mode='letter', dev=mq, n_shots=1, max_length=128),
               dict(mode='choice', template='compact', eos=True, max_length=128)):
        pr = evaluate_mmlu(tuned, tok, mq, **kw)
        assert len(pr) == len(mq) and pr.pred.between(0, len(LETTERS) - 1).all()
        acc = mmlu_accuracy(pr)
        assert set(acc.index) == set(MMLU_CATEGORY_GROUPS) | {'average'} and acc.between(0, 1).all()
        assert np.isclose(acc['average'], pr.correct.mean())


def test_evaluator_choice_mode_prefers_the_learnt_answer(tuned, tok):
    qs = pd.DataFrame([dict(question='Name its colour.', input=k, subject='colours', category='colours',
                            choices=[v] + [c for c in ('purple', 'orange', 'black') if c != v][:3], answer=0) for k, v in FACTS.items()])
    pr = evaluate_mmlu(tuned, tok, qs, mode='choice', template='compact', eos=True)
    assert pr.correct.mean() >= 0.8


def test_registry_entries_resolve():
    a, m = get_spec('alpaca_cleaned'), get_spec('mmlu')
    assert a.source == 'yahma/alpaca-cleaned' and a.files[0].url.endswith('/alpaca_data_cleaned.json')
    assert m.source == 'cais/mmlu' and {f.path for f in m.files} == {'all/test-00000-of-00001.parquet', 'all/dev-00000-of-00001.parquet'}
    assert 'lc' in a.papers and a.files[0].sha256 is None


def test_missing_data_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv('TRUSTBOOK_HOME', str(tmp_path)); monkeypatch.delenv('TRUSTBOOK_DATA', raising=False)
    monkeypatch.delenv('TRUSTBOOK_DOWNLOAD', raising=False)
    with pytest.raises(DataMissingError, match="trustbook data get alpaca_cleaned"): dataset_dir('alpaca_cleaned')


def test_selection_sizes_and_noise():
    pool = standin_instructions(80, noise=0.25, seed=0)
    lc = np.where(pool.noisy, 5.0, 1.0) + np.linspace(0, 0.1, len(pool))  # an oracle score: wrong responses are hard
    for m in ['lc', 'lc_category', 'lc_easy', 'random']: assert len(select_instructions(m, lc, 0.1, pool.category)) == 8
    assert pool.noisy.values[select_instructions('lc_easy', lc, 0.1)].sum() == 0
    assert len(select_instructions('full', lc, 0.1)) == 80
    with pytest.raises(TrustbookError, match='keep must be'): select_instructions('lc', lc, 1.5)


def test_standin_questions_are_well_formed():
    qs = validate_mmlu(standin_questions(9, seed=2), categories={})
    assert len(qs) == 36 and all(len(set(c)) == 4 for c in qs.choices)
    assert sorted(qs.category.unique()) == ['arithmetic', 'capitalisation', 'copying', 'reversal']


def test_registries_resolve_by_name_in_a_fresh_interpreter():
    "Each registry of the LLM area (and LC's instruction selections) resolves its names in a fresh interpreter that imported only the registry."
    import subprocess, sys
    cases = [('trustbook.llm.core', 'TUNINGS', ['lora', 'full']),
             ('trustbook.llm.scores', 'MEMBERSHIP_SCORES', ['perplexity', 'zlib', 'lowercase', 'min_k', 'min_k_pp']),
             ('trustbook.llm.mmlu', 'MMLU_PROTOCOLS', ['letter', 'choice']),
             ('trustbook.llm.chinesesafe', 'EVALUATIONS', ['generation', 'perplexity']),
             ('trustbook.llm.chinesesafe_perturb', 'REWRITES', ['homophone', 'variant', 'pinyin', 'insert']),
             ('trustbook.curation.lc_instruct', 'SELECTIONS', ['lc', 'lc_category', 'lc_easy', 'random', 'full'])]
    for mod, attr, names in cases:
        code = f"import importlib; r = getattr(importlib.import_module({mod!r}), {attr!r}); assert all(callable(r[n]) for n in {names!r}), r.names(); print('ok')"
        assert fresh_python(code).strip() == 'ok', mod
    from trustbook.registry import registry
    assert 'min_k_pp' in registry('membership score')   # and by kind, through `trustbook list`'s lookup


# --- the loaders under arbitrary input (issue 19) --------------------------------------------------------------

from hypothesis import given, settings, strategies as st, HealthCheck
from trustbook.llm.mmlu import read_mmlu

_CELL = st.one_of(st.none(), st.booleans(), st.integers(-2, 6), st.floats(allow_nan=True), st.text(max_size=5),
                  st.sampled_from(['', '  ', 'A', 'virology', 'philosophy']), st.lists(st.text(max_size=3), min_size=3, max_size=5))
_ROW = st.dictionaries(st.sampled_from(['instruction', 'input', 'output', 'question', 'subject', 'choices', 'answer', 'category', 'x']),
                       _CELL, max_size=7)
_FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


@_FUZZ
@given(rows=st.lists(_ROW, max_size=4), suffix=st.sampled_from(['.jsonl', '.json']))
def test_instruction_and_mmlu_loaders_load_all_rows_or_name_the_problem(tmp_path_factory, rows, suffix):
    p = tmp_path_factory.mktemp('rows')/f'rows{suffix}'
    p.write_text(json.dumps(rows) if suffix == '.json' else '\n'.join(json.dumps(r) for r in rows), encoding='utf-8')
    try: df = load_alpaca(p)
    except TrustbookError: pass
    else: assert len(df) == len(rows) and all(isinstance(v, str) for v in df.instruction) and df.output.str.strip().astype(bool).all()
    try: q = read_mmlu(p)
    except TrustbookError: pass
    else: assert len(q) == len(rows) and q.answer.between(0, 3).all() and all(len(c) == 4 for c in q.choices)


@_FUZZ
@given(data=st.binary(max_size=300), suffix=st.sampled_from(['.jsonl', '.json', '.parquet', '.csv']))
def test_instruction_and_mmlu_loaders_on_arbitrary_bytes(tmp_path_factory, data, suffix):
    p = tmp_path_factory.mktemp('bytes')/f'f{suffix}'; p.write_bytes(data)
    for load in (load_alpaca, read_mmlu):
        try: load(p)
        except TrustbookError: pass


def test_tables_passed_in_are_checked(tok):
    with pytest.raises(TrustbookError, match=r"preds lacks column\(s\) \['correct'\]"): mmlu_accuracy(pd.DataFrame({'category': ['x']}))
    with pytest.raises(TrustbookError, match='3 categories for 4 scores'): select_instructions('lc', [1., 2., 3., 4.], 2, ['a'] * 3)
    with pytest.raises(DataFormatError, match="row 1: missing field 'output'"):
        instruction_finetune(tiny_gpt2(n_layer=1, n_embd=16, n_head=2), tok, [TRAIN[0], dict(instruction='x', input='')], template='compact')
