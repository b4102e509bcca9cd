"Every registered experiment runs end to end at smoke scale through the CLI and reports every claim it declares."
import json
import pytest
from conftest import ROOT, trustbook_cli
from trustbook.papers import load_registry
from trustbook.params import notebook_parameters, RUNNER_PARAMS

REG = load_registry(ROOT)
EXPS = [e for p in REG.values() for e in p.experiments]


def test_registry_is_valid():
    assert EXPS, "no experiment is registered"
    for e in EXPS:
        assert e.notebook.exists(), e.notebook
        params = notebook_parameters(e.notebook)
        for p in RUNNER_PARAMS: assert p in params, f"{e.notebook}: parameters cell lacks {p}"
        assert {'smoke', 'cpu'} <= set(e.scales), f"{e.name}: needs smoke and cpu scales"


def test_papermill_reads_every_parameter():
    "papermill's own parser must see each parameter (a comment holding '=' once hid one: 'Passed unknown parameter')."
    import logging, nbformat
    from papermill.translators import PythonTranslator
    logging.getLogger('papermill').setLevel(logging.CRITICAL)
    for e in EXPS:
        cell = next(c for c in nbformat.read(str(e.notebook), as_version=4).cells if 'parameters' in c.metadata.get('tags', []))
        seen = {p.name for p in PythonTranslator.inspect(cell)}
        hidden = set(notebook_parameters(e.notebook)) - seen
        assert not hidden, f"{e.notebook}: papermill cannot parse the lines of {sorted(hidden)} (reword their comments)"


@pytest.fixture(scope='module')
def smoke_runs(tmp_path_factory):
    """Every experiment at smoke scale in one `reproduce`, as a user runs them (one job per core, longest first), once for
    the module. `--processes 2` runs each experiment marked data_parallel as two gloo processes (what a run on two GPUs
    does; rank 0 does all that one process does, and more) and every other experiment on one."""
    runs = tmp_path_factory.mktemp('smoke_runs')
    r = trustbook_cli('reproduce', *[e.name for e in EXPS], '--scale', 'smoke', '--processes', '2', '--no-report',
                      env=dict(TRUSTBOOK_RUNS=str(runs)), timeout=1800)
    return runs, r


def _smoke_result(exp, smoke_runs)->dict:
    "The smoke run's results.json of `exp`; the test fails with that run's log when it did not finish."
    e = next(x for x in EXPS if x.name == exp)
    runs, r = smoke_runs
    where = runs/e.paper/e.name/'smoke'
    if not (where/'results.json').exists():
        logs = sorted(where.glob('failed-*/run*.log'))
        pytest.fail(f"{exp} failed at smoke scale:\n" + '\n'.join(l.read_text(errors='replace')[-3000:] for l in logs[-2:])
                    if logs else r.stdout[-3000:] + r.stderr[-3000:])
    return json.loads((where/'results.json').read_text())


@pytest.mark.slow
@pytest.mark.parametrize('exp', [e.name for e in EXPS])
def test_experiment_smoke(exp, smoke_runs):
    e = next(x for x in EXPS if x.name == exp)
    res = _smoke_result(exp, smoke_runs)
    missing = [c.id for c in e.claims if c.id not in res['claims']]
    assert not missing, f"{exp} did not report claims {missing}"


@pytest.mark.slow
@pytest.mark.parametrize('exp', [e.name for e in EXPS if e.data_parallel])
def test_data_parallel_experiment_on_two_processes(exp, smoke_runs):
    "Each experiment marked data_parallel ran as two gloo processes in the smoke runs, with every claim reported by rank 0."
    e = next(x for x in EXPS if x.name == exp)
    res = _smoke_result(exp, smoke_runs)
    assert res['processes'] == 2 and all(c.id in res['claims'] for c in e.claims), res['claims'].keys()


def test_other_experiments_ran_on_one_process(smoke_runs):
    "`--processes 2` leaves an experiment not marked data_parallel on one process (its copies would only repeat it)."
    runs, r = smoke_runs
    single = [e for e in EXPS if not e.data_parallel]
    assert single and 'on one process (not data-parallel)' in r.stdout
    for e in single:
        f = runs/e.paper/e.name/'smoke'/'results.json'
        if f.exists(): assert json.loads(f.read_text())['processes'] == 1, e.name
