"""Every training entry point of the library resumes exactly after an interruption (issue 20).

The entry points are found, not listed by hand: every function in `trustbook` that calls the one training loop
(`trustbook.train.fit`) is one. Each must name the tests that kill it mid-run and check that the resumed run has the
same bits as one never killed (the `_check_resume` tests in tests/test_train*.py). A new loop without such a test
fails here; so does an optimiser update written outside `fit` (a second training loop would escape the check)."""
import ast, importlib, pathlib, re
import pytest

PKG = pathlib.Path(__file__).resolve().parents[1]/'trustbook'

# entry point -> the exact-resume tests that exercise it (module::test function)
RESUME_TESTS = {
    'trustbook.classify.train_classifier': ['test_train::test_privacy_classifier_with_early_stopping_resumes',
                                            'test_train::test_curation_classifier_resumes',
                                            'test_train_privacy::test_defended_training_resumes'],
    'trustbook.curation.robust.train_coteaching': ['test_train_curation::test_coteaching_resumes'],
    'trustbook.llm.train.train_causal_lm': ['test_train_llm::test_causal_lm_on_texts_resumes_mid_epoch',
                                            'test_train_llm::test_prompt_masked_lora_with_accumulation_resumes',
                                            'test_train_llm::test_instruction_finetune_resumes'],
    'trustbook.privacy.past.past_tune': ['test_train_privacy::test_past_tune_resumes'],
    'trustbook.privacy.shadow.train_stacked': ['test_train_privacy::test_reference_models_resume'],
    'trustbook.recsys.training.train': ['test_train_recsys::test_recsys_train_with_validation_selection_and_hidden_log_resumes',
                                        'test_train_recsys::test_recsys_fit_of_a_users_own_model_resumes'],
    'trustbook.sr.kd.train_sr': ['test_train_sr::test_sr_distillers_with_random_draws_resume'],
}

def _modules():
    for p in sorted(PKG.rglob('*.py')):
        if p.name == '_modidx.py' or p.name == 'train.py' and p.parent == PKG: continue
        yield 'trustbook.' + '.'.join(p.relative_to(PKG).with_suffix('').parts), ast.parse(p.read_text())

def _fit_names(tree):
    "Local names bound to `trustbook.train.fit` in a module (`from ..train import fit as fit_loop`)."
    return {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
            and n.module.split('.')[-1] == 'train' and (n.level == 1 and n.module == 'train' or n.level == 2 or n.module == 'trustbook.train')
            for a in n.names if a.name == 'fit'}

def entry_points()->set:
    "Every function (or method) of trustbook that calls `train.fit` directly."
    found = set()
    for mod, tree in _modules():
        names = _fit_names(tree)
        if not names: continue
        for top in tree.body:
            funcs = [(top.name, top)] if isinstance(top, ast.FunctionDef) else \
                    [(f'{top.name}.{f.name}', f) for f in top.body if isinstance(f, ast.FunctionDef)] if isinstance(top, ast.ClassDef) else []
            for name, f in funcs:
                if any(isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id in names for c in ast.walk(f)):
                    found.add(f'{mod}.{name}')
    return found

def test_every_training_entry_point_has_an_exact_resume_test():
    found = entry_points()
    assert len(found) >= 6, f'expected the areas\' training loops, found {sorted(found)}'
    missing = sorted(found - set(RESUME_TESTS))
    assert not missing, (f"training entry points without an exact-resume test: {missing}; add a `_check_resume` test "
                         "(tests/test_train*.py) and list it in RESUME_TESTS")
    for entry, tests in RESUME_TESTS.items():
        if entry not in found: continue  # an area whose loop is not (yet) on `fit` on this branch
        for t in tests:
            mod, fn = t.split('::')
            assert hasattr(importlib.import_module(mod), fn), f'{entry}: resume test {t} does not exist'

def test_no_optimiser_update_outside_fit():
    "A hand-written loop (`opt.step()` outside `train.fit`) would train without checkpoints or exact resume."
    offenders = [f'{p.relative_to(PKG.parent)}:{i}' for p in PKG.rglob('*.py') if p.name not in ('_modidx.py',) and not (p.name == 'train.py' and p.parent == PKG)
                 for i, line in enumerate(p.read_text().splitlines(), 1) if re.search(r'\bopt\w*\.step\(\)|optimizer\.step\(\)', line)]
    assert not offenders, f'optimiser updates outside train.fit: {offenders}'
