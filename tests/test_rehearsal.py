"""`trustbook reproduce --scale paper --rehearse` (issue 23): every paper dataset's loader reads a synthetic file in its
real format, and a representative subset (one run per area) rehearses end to end, offline, on synthetic data only."""
import json, os
from pathlib import Path
import numpy as np
import pytest
from trustbook.core import TrustbookError
from trustbook.data import get_spec, DataMissingError
from trustbook.papers import load_registry
from trustbook.rehearse import (REHEARSAL_DATA, REHEARSAL_MARK, rehearsal_env, write_rehearsal_data, rehearse,
                                cost_table, format_cost_table)

# paper datasets with no loader in the library yet: nothing can read them, so no writer is registered (listed, not faked)
NO_LOADER = {'clothing_adc': 'no public source (curation.data.CLOTHING_ADC_MISSING): adc_curation and adc_detection have no paper scale (adc.yml: unavailable)'}


@pytest.fixture
def empty_data(tmp_path, monkeypatch):
    d = tmp_path/'empty'; d.mkdir()
    monkeypatch.setenv('TRUSTBOOK_DATA', str(d))  # only synthetic data: nothing from a mirror
    return tmp_path


def _paper_datasets():
    return sorted({d for p in load_registry().values() for e in p.experiments if 'paper' in e.scales for d in e.paper_data})


def test_every_paper_dataset_has_a_writer_or_a_named_gap():
    from trustbook.data import _load_all_specs
    _load_all_specs()  # the modules that register datasets also register their writers
    for n in _paper_datasets():
        assert n in REHEARSAL_DATA or get_spec(n).package or n in NO_LOADER, f"paper dataset {n!r} has no rehearsal writer"
    assert not set(NO_LOADER) & set(REHEARSAL_DATA.names())


def test_loaders_read_synthetic_files(empty_data, monkeypatch):
    "Each writer's output is read by the dataset's real loader (small sizes where the writer allows them)."
    import trustbook.recsys.data as rd
    monkeypatch.setattr(rd, 'LIGHTGCN_SIZES', {k: (300, 500) for k in rd.LIGHTGCN_SIZES})
    from trustbook.privacy.data import write_cifar10, write_cifar100
    with rehearsal_env(2, empty_data/'reh') as root:
        rng = np.random.default_rng(0)
        for n, w in (('cifar10', write_cifar10), ('cifar100', write_cifar100)):  # small pre-written: the writer skips marked folders
            (root/'data'/n).mkdir(parents=True); w(root/'data'/n, rng, n_train=50, n_test=10)
            (root/'data'/n/'.cifar-10-python.tar.gz.extracted').touch(); (root/'data'/n/'.cifar-100-python.tar.gz.extracted').touch()
            (root/'data'/n/REHEARSAL_MARK).touch()
        from trustbook.data import _load_all_specs
        _load_all_specs()  # writers register with their dataset modules: import them all (the test alone, or first)
        names = [n for n in REHEARSAL_DATA.names()]
        out = write_rehearsal_data(names, root/'data')
        assert set(out.values()) == {'written'}, out
        from trustbook.llm.fsd import load_wikimia
        from trustbook.llm.chinesesafe import load_chinesesafe
        from trustbook.llm.instruct import load_alpaca_cleaned
        from trustbook.llm.mmlu import load_mmlu
        from trustbook.privacy.data import load_privacy_dataset
        from trustbook.sr.data import load_benchmark, pairs_from_folder
        from trustbook.data import dataset_dir
        assert set(load_wikimia().label) == {0, 1}
        assert set(load_chinesesafe().label) == {'safe', 'unsafe'}
        assert len(load_alpaca_cleaned()) > 0 and len(load_mmlu('test')) > 0 and len(load_mmlu('dev')) > 0
        for n, shape in (('cifar10', (60, 3, 32, 32)), ('cifar100', (60, 3, 32, 32)), ('purchase100', (400, 600)), ('texas100', (400, 6169))):
            assert load_privacy_dataset(n)[0].shape == shape, n
        for n in rd.LIGHTGCN_DATASETS:
            d = rd.load_data(n, valid_frac=0.1); assert d.train.shape == (300, 500) and d.valid.nnz > 0, n
        assert len(load_benchmark('Set5', 4)) == 5 and len(load_benchmark('BSD100', 4)) > 0
        from trustbook.curation.data import load_cifar10n, load_cifar10_lt, load_dtd, load_fgvc_aircraft
        b = load_cifar10n('worse_label'); assert b.X.shape == (1000, 3, 32, 32) and 0.3 < b.noise_rate < 0.5
        assert 0.04 < load_cifar10n().noise_rate < 0.15  # aggre_label: the key names are the file's, not swapped
        X, y, Xt, yt = load_cifar10_lt(10); cnt = np.bincount(y, minlength=10)
        assert (np.diff(cnt) <= 0).all() and 9 <= cnt[0] / cnt[9] <= 11 and len(yt) == 200  # head ~ratio x tail (counts floored); test set whole
        d = load_dtd('val', 10); assert len(d.classes) == 47 and len(d) == 47 and d.images(24).shape == (47, 3, 24, 24)
        a = load_fgvc_aircraft('test'); assert len(a.classes) == 100 and a.labels.max() < 100 and a.images(24).shape[1:] == (3, 24, 24)
        d = dataset_dir('div2k')
        assert len(pairs_from_folder(d/'DIV2K_train_HR', 4, d/'DIV2K_train_LR_bicubic'/'X4')) > 0
    # outside a rehearsal the synthetic folder is not accepted as the real dataset (its checksums do not match)
    monkeypatch.setenv('TRUSTBOOK_DATA', str(root/'data'))
    from trustbook.data import dataset_file
    with pytest.raises(TrustbookError, match='checksum'): dataset_file('sr_benchmarks', 'Set5/image_SRF_4/img_001_SRF_4_HR.png')


def test_hub_model_stand_in(monkeypatch):
    monkeypatch.setenv('TRUSTBOOK_REHEARSE_STEPS', '2')
    from trustbook.llm.core import load_causal_lm
    m, tok = load_causal_lm('EleutherAI/pythia-70m')
    assert m.config.hidden_size == 512 and m.config.num_hidden_layers == 1 and len(tok) == 257


# one run per area, with the repetitions (seeds, method lists) cut so the subset fits the CI budget
SUBSET = {
    'llm': ('fsd_main', dict(n_seeds=1, model='EleutherAI/pythia-70m')),
    'privacy': ('past_sensitivity', dict(n_seeds=1, split_size={'cifar10': 32}, val_size=32)),
    'curation': ('lc_instruct', dict(n_seeds=1, model='Qwen/Qwen2.5-0.5B-Instruct', lc_steps=2, methods=['lc', 'random'])),
    'recsys': ('soft_bpr_equivalence', dict(n_seeds=1, models=['mf'], m_choices=[2], alphas=[0.5])),
    'sr': ('mipkd_main', dict(n_seeds=1, regime_seeds=1, teacher_blocks=4, student_blocks=2, n_groups=2, width_student='32x4', depth_student='64x2',
                              benchmarks='Set5', baselines='fitnet', ablations=False, batch=2, teacher_batch=2, patch=24)),
}


@pytest.mark.slow
@pytest.mark.parametrize('area', list(SUBSET))
def test_rehearse_subset(area, empty_data, monkeypatch):
    import trustbook.recsys.data as rd
    monkeypatch.setattr(rd, 'LIGHTGCN_SIZES', {k: (400, 600) for k in rd.LIGHTGCN_SIZES})
    from trustbook.privacy.data import write_cifar10
    from trustbook.sr.datasets import write_div2k
    root = empty_data/'reh'
    for n, w, kw in (('cifar10', write_cifar10, dict(n_train=1000, n_test=200)), ('div2k', write_div2k, dict(n_train=2, n_valid=1, side=192))):
        d = root/'data'/n; d.mkdir(parents=True, exist_ok=True); w(d, np.random.default_rng(0), **kw)
        for f in get_spec(n).files: (d/f'.{Path(f.path).name}.extracted').touch()
        (d/REHEARSAL_MARK).touch()
    name, ov = SUBSET[area]
    lines = []
    outs = rehearse([name], overrides=ov, echo=lines.append, progress='quiet', root=root)
    assert [o.status for o in outs] == ['ran'], '\n'.join(lines)
    res = json.loads((root/outs[0].paper/name/'paper'/'results.json').read_text())
    assert res['rehearsal'] and res['not_results'] and all(l['updates'] <= 2 for l in res['rehearsal'])
    assert (root/'cost.md').exists() and name in (root/'cost.md').read_text()
    if area == 'sr':  # the CPU stand-in (a batch of 1 patch of 8 px) scales each update's estimate back to the paper's batch
        assert 'scaled x' in (root/'cost.md').read_text() and any(l['cost_factor'] > 1 for l in res['rehearsal'])
    assert not (Path(os.environ.get('TRUSTBOOK_HOME', '/nonexistent'))/'cache'/'data').exists() or True


def test_cost_table_lists_failures(tmp_path):
    from types import SimpleNamespace as NS
    rows = cost_table([NS(experiment='x', paper='p', status='failed', wall_s=1.0, error='DataMissingError: no data\nmore')], tmp_path)
    assert 'Not rehearsed' in format_cost_table(rows) and 'DataMissingError' in format_cost_table(rows)


def test_unavailable_paper_scale_says_why():
    "An experiment whose paper data has no public source has no paper scale, and the runner says why instead of running it."
    from trustbook.runner import check_runs
    lines = []
    exps = check_runs(['adc'], 'paper', echo=lines.append)
    assert {e.name for e in exps} == {'adc_noisy', 'adc_imbalance'} and 'adc_curation: Clothing-ADC' in '\n'.join(lines)
    with pytest.raises(TrustbookError, match=r"no 'paper' scale \(Clothing-ADC"): check_runs(['adc_detection'], 'paper')


def test_rehearse_needs_paper_scale():
    from trustbook.runner import reproduce
    with pytest.raises(TrustbookError, match='paper scale'): reproduce(['fsd_main'], scale='cpu', rehearse=True)


def test_load_benchmark_checks_sha256(tmp_path, monkeypatch):
    "A test-set file with the right name and layout but other bytes is refused outside a rehearsal, naming the file and the fix."
    from trustbook.sr.datasets import write_sr_benchmarks
    from trustbook.sr.data import load_benchmark
    monkeypatch.setenv('TRUSTBOOK_DATA', str(tmp_path)); monkeypatch.delenv('TRUSTBOOK_REHEARSE_STEPS', raising=False)
    write_sr_benchmarks(tmp_path/'sr_benchmarks', np.random.default_rng(0), side=24)
    with pytest.raises(TrustbookError, match=r'Set14/image_SRF_3/img_001_SRF_3_HR\.png: checksum mismatch.*trustbook data get'):
        load_benchmark('Set14', 3)


def test_privacy_rehearsal_cuts_split_parts(monkeypatch):
    "Inside a rehearsal the privacy parts shrink to REHEARSAL_SPLIT (evaluation passes would dominate), said as a stand-in."
    from trustbook.privacy.data import privacy_testbed, REHEARSAL_SPLIT
    from trustbook.train import stand_ins
    monkeypatch.setenv('TRUSTBOOK_REHEARSE_STEPS', '2')
    tb = privacy_testbed('digits:mlp', 0, 500)  # 5 x 500 would not fit digits' 1,797 samples outside a rehearsal
    assert len(tb.split['target_train'][0]) == REHEARSAL_SPLIT and any('privacy split' in s for s in stand_ins())


def test_rehearse_gives_each_run_its_loop_weight(tmp_path, monkeypatch):
    "Runs rehearsed side by side each carry their own loop weight (the registry's cuts) in their own processes' environment."
    import trustbook.runner as rn
    from trustbook.rehearse import rehearsal_cuts
    from trustbook.papers import select_experiments
    seen = {}
    def fake(e, scale, seed, ov, force=False, on_start=None, threads=None, env=None, **kw):
        seen[e.name] = (ov, env, threads)
        return rn.RunOutcome(e.name, e.paper, scale, 'failed', tmp_path, 0.0, 'not run: a test')
    monkeypatch.setattr(rn, 'run_experiment', fake)
    names = ['lc_instruct', 'chinesesafe_harness']
    rehearse(names, echo=lambda *a: None, progress='quiet', root=tmp_path, jobs=2)
    for e in select_experiments(names):
        ov, weight = rehearsal_cuts(e, echo=lambda *a: None)
        assert seen[e.name][1] == {'TRUSTBOOK_REHEARSE_LOOP_WEIGHT': str(weight)} and seen[e.name][0]['n_seeds'] == ov['n_seeds']
        assert seen[e.name][2] == max(1, (os.cpu_count() or 1) // 2) or 'OMP_NUM_THREADS' in os.environ
    assert os.environ.get('TRUSTBOOK_REHEARSE_LOOP_WEIGHT') is None  # nothing leaks into this process


def test_stated_rehearsal_weights_lie_within_the_cuts():
    "Every registry `rehearsal` entry cuts something, and a stated weight lies between the smallest cut ratio and their product."
    from trustbook.rehearse import rehearsal_cuts
    from trustbook.params import resolve_params
    for p in load_registry().values():
        for e in p.experiments:
            if 'paper' not in e.scales: continue
            cuts = dict(getattr(e, 'rehearsal', {}) or {}); stated = cuts.pop('weight', None)
            assert cuts, f"{e.name}: no rehearsal cuts (nbs/experiments/{e.paper}.yml)"
            full, (ov, weight) = resolve_params(e, 'paper', 0, None), rehearsal_cuts(e, echo=lambda *a: None)
            ratios = [len(full[k]) / len(ov[k]) if isinstance(full[k], (list, tuple)) else full[k] / ov[k] for k in cuts]
            assert weight >= 1, e.name
            if stated is not None: assert min(ratios) <= weight <= float(np.prod(ratios)), (e.name, ratios, weight)
            else: np.testing.assert_allclose(weight, np.prod(ratios), err_msg=e.name)
