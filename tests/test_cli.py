"End-to-end tests of the runner and CLI on the fixture project (tests/fixtures/toy_project)."
import json, os, signal, subprocess, sys, time
from pathlib import Path
import pytest
from conftest import trustbook_cli


def test_list(toy_project):
    proj, runs, env = toy_project
    r = trustbook_cli('list', '-v', env=env)
    assert r.returncode == 0, r.stderr
    assert 'toy_main' in r.stdout and 'toy_method_beats_baseline' in r.stdout and 'shift=0.5' in r.stdout


def test_reproduce_then_skip_then_report(toy_project, tmp_path):
    proj, runs, env = toy_project
    r = trustbook_cli('reproduce', 'toy_main', '--scale', 'smoke', env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    res = json.loads((runs/'toy'/'toy_main'/'smoke'/'results.json').read_text())
    assert res['claims']['toy_method_beats_baseline']['verdict'] == 'holds'
    for k in ('parameters', 'trustbook_version', 'git_commit', 'wall_time_s', 'peak_memory_mb', 'inputs_hash'): assert k in res
    assert res['parameters']['n'] == 50  # the registry's smoke value, over the notebook's default
    assert (runs/'toy'/'toy_main'/'smoke'/'out.ipynb').exists() and (runs/'toy'/'toy_main'/'smoke'/'toy_curve.svg').exists()
    r2 = trustbook_cli('reproduce', 'toy_main', '--scale', 'smoke', env=env)
    assert r2.returncode == 0 and 'nothing to run' in r2.stdout
    # a changed parameter is a new run
    r3 = trustbook_cli('reproduce', 'toy_main', '--scale', 'smoke', '-p', 'shift=0.25', env=env)
    assert r3.returncode == 0 and '1 ran' in r3.stdout
    figs = tmp_path/'figs'
    r4 = trustbook_cli('report', '--figures', str(figs), env=env)
    assert r4.returncode == 0, r4.stderr
    md = (figs/'RESULTS.md').read_text()
    assert 'not run' in md and 'a claim the notebook does not compute' in md
    # smoke runs never count as results
    assert '| toy | the shifted method beats the baseline | 0.10 | — | — | **not run** |' in md


def test_same_seed_same_numbers(toy_project):
    proj, runs, env = toy_project
    nums = []
    for _ in range(2):
        r = trustbook_cli('reproduce', 'toy_main', '--scale', 'smoke', '--seed', '3', '--force', env=env)
        assert r.returncode == 0, r.stderr
        nums.append(json.loads((runs/'toy'/'toy_main'/'smoke'/'results.json').read_text())['metrics'])
    assert nums[0] == nums[1]


def test_failing_notebook_reported_others_run(toy_project):
    proj, runs, env = toy_project
    r = trustbook_cli('reproduce', 'toy', '--scale', 'smoke', env=env)
    assert r.returncode == 1
    assert 'FAILED toy/toy_fail' in r.stdout and 'ValueError' in r.stdout and 'boom' in r.stdout and 'run.log' in r.stdout
    assert (runs/'toy'/'toy_main'/'smoke'/'results.json').exists()
    assert not (runs/'toy'/'toy_fail'/'smoke'/'results.json').exists()


@pytest.mark.parametrize('args,msg', [
    (['reproduce', 'no_such_paper', '--scale', 'smoke'], 'unknown paper or experiment'),
    (['reproduce', 'toy_main', '--scale', 'smoke', '-p', 'nope=1'], "unknown parameter 'nope'"),
    (['reproduce', 'toy_main', '--scale', 'smoke', '-p', 'n=abc'], "must be an integer"),
    (['reproduce', 'toy_main', '--scale', 'smoke', '-p', 'shift=[1]'], "must be a number"),
    (['reproduce', 'toy_main', '--scale', 'paper'], "has no 'paper' scale"),
    (['reproduce', 'toy_main', '--scale', 'smoke', '--processes', '0'], "must be at least 1"),
    (['list', 'no_such_paper'], 'unknown paper or experiment'),
])
def test_bad_input_exit_2_nothing_written(toy_project, args, msg):
    proj, runs, env = toy_project
    r = trustbook_cli(*args, env=env)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert msg in r.stderr and 'Traceback' not in r.stderr
    assert not runs.exists()


def test_unknown_scale_exit_2(toy_project):
    proj, runs, env = toy_project
    r = trustbook_cli('reproduce', 'toy_main', '--scale', 'huge', env=env)
    assert r.returncode == 2 and 'smoke' in r.stderr and not runs.exists()


def test_bad_data_mirror_exit_2(toy_project, tmp_path):
    proj, runs, env = toy_project
    r = trustbook_cli('reproduce', 'toy_main', '--scale', 'smoke', env=dict(env, TRUSTBOOK_DATA=str(tmp_path/'nowhere')))
    assert r.returncode == 2 and 'TRUSTBOOK_DATA' in r.stderr and not runs.exists()
    r = trustbook_cli('data', 'list', env=dict(env, TRUSTBOOK_DATA=str(tmp_path/'nowhere')))
    assert r.returncode == 2 and 'TRUSTBOOK_DATA' in r.stderr


def test_killed_run_leaves_no_results_and_is_redone(toy_project):
    proj, runs, env = toy_project
    e = dict(os.environ, **env)
    p = subprocess.Popen([sys.executable, '-m', 'trustbook', 'reproduce', 'toy_main', '--scale', 'smoke', '-p', 'sleep=60'],
                         env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    out = runs/'toy'/'toy_main'/'smoke'
    t0 = time.time()
    while not (out/'out.ipynb').exists() and time.time() - t0 < 120: time.sleep(0.5)
    time.sleep(2)
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    assert not (out/'results.json').exists()
    r = trustbook_cli('reproduce', 'toy_main', '--scale', 'smoke', env=env)
    assert r.returncode == 0 and '1 ran' in r.stdout and (out/'results.json').exists()


def _kill_when_checkpointed(env, out, *params):
    "Start a smoke run of toy_main, kill it (SIGKILL, whole process group) once its training loop has checkpointed."
    e = dict(os.environ, **env, TRUSTBOOK_CHECKPOINT_EVERY='0')
    p = subprocess.Popen([sys.executable, '-m', 'trustbook', 'reproduce', 'toy_main', '--scale', 'smoke', *params],
                         env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    t0 = time.time()
    while not list((out/'checkpoints').glob('toy-*.pt')) and time.time() - t0 < 120: time.sleep(0.2)
    time.sleep(1.5)
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    assert list((out/'checkpoints').glob('toy-*.pt')) and not (out/'results.json').exists()


def test_killed_run_resumes_from_its_last_checkpoint(toy_project, tmp_path):
    "A run killed mid-training resumes from its checkpoint and ends with the weights of a run never killed."
    proj, runs, env = toy_project
    out = runs/'toy'/'toy_main'/'smoke'
    ref = trustbook_cli('reproduce', 'toy_main', '--scale', 'smoke', '-p', 'train_steps=25', env=dict(env, TRUSTBOOK_RUNS=str(tmp_path/'ref')))
    assert ref.returncode == 0, ref.stderr
    want = json.loads((tmp_path/'ref'/'toy'/'toy_main'/'smoke'/'results.json').read_text())['metrics']['trained']
    assert want['resumed_from'] == 0
    slow = ('-p', 'train_steps=25', '-p', 'step_sleep=0.3')
    # a checkpoint of other inputs is discarded, not resumed
    _kill_when_checkpointed(env, out, *slow)
    r = trustbook_cli('reproduce', 'toy_main', '--scale', 'smoke', *slow, '-p', 'shift=0.7', env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads((out/'results.json').read_text())['metrics']['trained']['resumed_from'] == 0
    # the same inputs resume where the killed run stopped
    _kill_when_checkpointed(env, out, *slow)
    r = trustbook_cli('reproduce', 'toy_main', '--scale', 'smoke', *slow, env=env)
    assert r.returncode == 0, r.stderr
    got = json.loads((out/'results.json').read_text())['metrics']['trained']
    assert 0 < got['resumed_from'] < 25 and got['weight'] == want['weight'], got
    assert not (out/'checkpoints').exists()  # a finished run keeps its results, not its weights


def test_slurm_executor_through_submitit(toy_project, tmp_path, monkeypatch):
    "`--executor slurm` submits each run as a submitit job; submitit's local cluster runs the same code path here."
    pytest.importorskip('submitit', reason='submitit is part of the dev install (bash install.sh --dev)')
    import shutil
    from trustbook.repro import reproduce_with_executor
    proj, runs, env = toy_project
    local = trustbook_cli('reproduce', 'toy_main', '--scale', 'smoke', env=env)
    assert local.returncode == 0, local.stderr
    for k, v in env.items(): monkeypatch.setenv(k, v)
    sub_runs = tmp_path/'runs_submitit'; monkeypatch.setenv('TRUSTBOOK_RUNS', str(sub_runs))
    outs = reproduce_with_executor('slurm', ['toy_main'], 'smoke', cluster='local')
    assert [o.status for o in outs] == ['ran'], outs
    a = json.loads((runs/'toy'/'toy_main'/'smoke'/'results.json').read_text())
    b = json.loads((sub_runs/'toy'/'toy_main'/'smoke'/'results.json').read_text())
    for k in ('metrics', 'claims', 'tables', 'inputs_hash'): assert a[k] == b[k], k
    if shutil.which('sbatch') is None:  # no Slurm on this machine: the CLI says so instead of silently running locally
        r = trustbook_cli('reproduce', 'toy_main', '--scale', 'smoke', '--executor', 'slurm', env=env)
        assert r.returncode == 2 and 'sbatch' in r.stderr, r.stderr


def test_dry_run_and_jobs(toy_project):
    proj, runs, env = toy_project
    r = trustbook_cli('reproduce', 'toy_main', '--scale', 'smoke', '--dry-run', env=env)
    assert r.returncode == 0 and 'toy/toy_main [smoke]' in r.stdout and 'n=50' in r.stdout and not runs.exists()


def test_corrupt_cached_file_exit_2(tmp_path):
    "A cached dataset file whose checksum is wrong is refused with the file named (via a registered dataset)."
    import hashlib
    from trustbook.data import DatasetSpec, RemoteFile, register_dataset, dataset_file, DATASETS
    from trustbook.core import TrustbookError
    good = b'user_id:token\titem_id:token\n1\t2\n'
    home = tmp_path/'home'; d = home/'cache'/'data'/'toyset'; d.mkdir(parents=True)
    (d/'toy.inter').write_bytes(b'tampered')
    old = os.environ.get('TRUSTBOOK_HOME'); os.environ['TRUSTBOOK_HOME'] = str(home)
    try:
        register_dataset(DatasetSpec('toyset', 'test', 'CC0', [RemoteFile('toy.inter', 'https://example.invalid/toy.inter', hashlib.sha256(good).hexdigest())]))
        with pytest.raises(TrustbookError, match='checksum mismatch'): dataset_file('toyset', 'toy.inter')
    finally:
        DATASETS.pop('toyset', None)
        if old is None: os.environ.pop('TRUSTBOOK_HOME')
        else: os.environ['TRUSTBOOK_HOME'] = old


def test_processes_share_a_run_like_torchrun(toy_project, tmp_path):
    "`--processes 2`: two gloo processes run the notebook and share each batch; rank 0 records what one process computes."
    proj, runs, env = toy_project
    train = ('-p', 'train_steps=20')
    one = trustbook_cli('reproduce', 'toy_main', '--scale', 'smoke', *train, env=dict(env, TRUSTBOOK_RUNS=str(tmp_path/'one')))
    assert one.returncode == 0, one.stdout + one.stderr
    two = trustbook_cli('reproduce', 'toy_main', '--scale', 'smoke', *train, '--processes', '2', env=env)
    assert two.returncode == 0, two.stdout + two.stderr
    out = runs/'toy'/'toy_main'/'smoke'
    a = json.loads((tmp_path/'one'/'toy'/'toy_main'/'smoke'/'results.json').read_text())
    b = json.loads((out/'results.json').read_text())
    assert (a['processes'], b['processes']) == (1, 2) and b['metrics']['trained']['processes'] == 2
    wa, wb = a['metrics']['trained']['weight'][0], b['metrics']['trained']['weight'][0]
    assert max(abs(x - y) for x, y in zip(wa, wb)) < 1e-5, (wa, wb)
    assert a['metrics']['method'] == b['metrics']['method'] and a['inputs_hash'] != b['inputs_hash']
    # rank 1 wrote nothing of its own, and its notebook and log are gone once the run succeeded
    assert not list(out.glob('*rank*')) and not (out/'parameters.yaml').exists() and (out/'toy_curve.png').exists()
    # a rank that fails stops the other at once (it would wait for its peer for 30 minutes) and is named
    t0 = time.time()
    r = trustbook_cli('reproduce', 'toy_main', '--scale', 'smoke', *train, '-p', 'fail_rank=1', '--processes', '2', env=env)
    assert r.returncode == 1 and 'rank 1 of 2' in r.stdout and 'boom' in r.stdout and 'run.rank1.log' in r.stdout, r.stdout
    assert time.time() - t0 < 120 and not (out/'results.json').exists()


def test_missing_dataset_names_the_fix(tmp_path):
    r = trustbook_cli('data', 'path', 'no_such_dataset')
    assert r.returncode == 2 and 'unknown dataset' in r.stderr


def test_ray_executor_matches_local(toy_project, tmp_path):
    "`--executor ray` (a local Ray instance) runs the smoke grid into the same layout, with the same numbers as the local executor."
    pytest.importorskip('ray', reason='Ray is part of the dev install (bash install.sh --dev)')
    proj, runs, env = toy_project
    ray_runs = tmp_path/'runs_ray'
    local = trustbook_cli('reproduce', 'toy', '--scale', 'smoke', env=env)
    viaray = trustbook_cli('reproduce', 'toy', '--scale', 'smoke', '--executor', 'ray', env=dict(env, TRUSTBOOK_RUNS=str(ray_runs)))
    # the toy project has a notebook that fails on purpose: both executors report it and exit 1
    assert local.returncode == viaray.returncode == 1, viaray.stdout + viaray.stderr
    assert 'FAILED toy/toy_fail' in viaray.stdout and '(executor: ray)' in viaray.stdout
    a = json.loads((runs/'toy'/'toy_main'/'smoke'/'results.json').read_text())
    b = json.loads((ray_runs/'toy'/'toy_main'/'smoke'/'results.json').read_text())
    for k in ('metrics', 'claims', 'tables', 'inputs_hash'): assert a[k] == b[k], k
    assert not (ray_runs/'toy'/'toy_fail'/'smoke'/'results.json').exists()
    # and a second ray run finds nothing to do
    again = trustbook_cli('reproduce', 'toy_main', '--scale', 'smoke', '--executor', 'ray', env=dict(env, TRUSTBOOK_RUNS=str(ray_runs)))
    assert again.returncode == 0 and '0 ran, 1 up to date' in again.stdout, again.stdout + again.stderr
