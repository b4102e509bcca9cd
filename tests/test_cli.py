"End-to-end tests of the runner and CLI on the fixture project (tests/fixtures/toy_project)."
import json, os, re, signal, subprocess, sys, time
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
    row = next(l for l in md.splitlines() if l.startswith('| the shifted method beats the baseline |'))
    assert row.endswith('| **not run** |') and '0.10' in row, row


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
    (['reproduce', 'toy_main', '--scale', 'smoke', '--seed', '-5'], '--seed must be a whole number 0 or more'),
    (['reproduce', 'toy_main', '--scale', 'smoke', '--seed', '-5', '--dry-run'], '--seed must be'),
    (['reproduce', 'toy_main', '--scale', 'smoke', '-p', 'n_seeds=0'], "'n_seeds' must be at least 1, got 0 (-p n_seeds"),
    (['reproduce', 'toy_main', '--scale', 'smoke', '-p', 'n_seeds=0', '--dry-run'], "'n_seeds' must be at least 1"),
    (['reproduce', 'toy_main', '--scale', 'smoke', '--progress', 'loud'], "invalid choice: 'loud'"),
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
    out, att = runs/'toy'/'toy_main'/'smoke', runs/'toy'/'toy_main'/'.smoke.attempt'
    t0 = time.time()
    while not (att/'out.ipynb').exists() and time.time() - t0 < 120: time.sleep(0.5)
    time.sleep(2)
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    assert not (out/'results.json').exists()
    r = trustbook_cli('reproduce', 'toy_main', '--scale', 'smoke', env=env)
    assert r.returncode == 0 and '1 ran' in r.stdout and (out/'results.json').exists()


def _kill_when_checkpointed(env, out, *params):
    "Start a smoke run of toy_main, kill it (SIGKILL, whole process group) once its training loop has checkpointed in its attempt folder."
    out = out.parent/f'.{out.name}.attempt'
    e = dict(os.environ, **env, TRUSTBOOK_CHECKPOINT_EVERY='0')
    p = subprocess.Popen([sys.executable, '-m', 'trustbook', 'reproduce', 'toy_main', '--scale', 'smoke', *params],
                         env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    t0 = time.time()
    while not list((out/'checkpoints').glob('toy-*.pt')) and time.time() - t0 < 120: time.sleep(0.2)
    time.sleep(1.5)
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    assert list((out/'checkpoints').glob('toy-*.pt')) and not (out/'results.json').exists()
    # the kernel, in a session of its own, dies with papermill: none trains on into the next attempt's folder
    import psutil
    def kernels():
        for k in psutil.process_iter(['cmdline', 'status']):
            try:
                if k.info['status'] != psutil.STATUS_ZOMBIE and 'ipykernel' in ' '.join(k.info['cmdline'] or []) and k.environ().get('TRUSTBOOK_RUNS') == env['TRUSTBOOK_RUNS']: yield k
            except (psutil.NoSuchProcess, psutil.AccessDenied): pass
    t0 = time.time()
    while list(kernels()) and time.time() - t0 < 0.5: time.sleep(0.05)  # ipykernel's own parent poll takes up to 1 s
    assert not list(kernels()), 'the killed run left its kernel running'


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
    assert not (out/'checkpoints').exists() and not (out.parent/'.smoke.attempt').exists()  # a finished run keeps its results, not its weights


def test_slurm_executor_through_submitit(toy_project, tmp_path, monkeypatch):
    "`--executor slurm` submits each run as a submitit job; submitit's local cluster runs the same code path here."
    pytest.importorskip('submitit', reason='submitit is part of the dev install (bash install.sh --dev)')
    import shutil
    from trustbook.executors import reproduce_with_executor
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
    assert time.time() - t0 < 120
    # the good run stays; the failed attempt's notebooks and logs sit beside it
    assert json.loads((out/'results.json').read_text())['inputs_hash'] == b['inputs_hash']
    assert [p.name for p in out.glob('failed-*/run.rank1.log')] == ['run.rank1.log']


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


# ---- issue 19: nothing lost, nothing stale, every bad input named -------------------------------------------------

def test_failed_run_keeps_the_last_good_run(toy_project):
    "A good run, then a failing one: the good results stay; the failure's notebook and log sit beside them, named."
    proj, runs, env = toy_project
    out = runs/'toy'/'toy_main'/'smoke'
    assert trustbook_cli('reproduce', 'toy_main', '--scale', 'smoke', env=env).returncode == 0
    good = (out/'results.json').read_text()
    r = trustbook_cli('reproduce', 'toy_main', '--scale', 'smoke', '-p', 'n_seeds=-1', env=env)  # refused before a kernel starts
    assert r.returncode == 2 and "'n_seeds' must be at least 1" in r.stderr and sorted(p.name for p in out.parent.iterdir()) == ['smoke']
    r = trustbook_cli('reproduce', 'toy_main', '--scale', 'smoke', '-p', 'fail=true', env=env)
    assert r.returncode == 1 and 'boom' in r.stdout, r.stdout + r.stderr
    assert (out/'results.json').read_text() == good  # the last good run, whole
    (failed,) = out.glob('failed-*')
    assert sorted(p.name for p in failed.iterdir()) == ['out.ipynb', 'run.log'] and (failed/'run.log').stat().st_size > 0
    assert str(failed/'run.log') in r.stdout and str(failed/'out.ipynb') in r.stdout
    assert not (out/'checkpoints').exists() and not (out.parent/'.smoke.attempt').exists()  # nothing to resume: no stray folder
    assert 'rerun the failed: trustbook reproduce toy_main --scale smoke -p fail=true' in r.stdout
    # the report reads the good run, never the failed attempt
    assert trustbook_cli('reproduce', 'toy_main', '--scale', 'smoke', env=env).stdout.startswith('0 ran, 1 up to date')


def test_a_bad_parameter_is_refused_before_any_kernel_starts(tmp_path):
    "The registry's declarations are checked by --dry-run and by the run alike, naming the argument (real registry)."
    env = dict(TRUSTBOOK_RUNS=str(tmp_path/'runs'))
    for extra in ([], ['--dry-run']):
        r = trustbook_cli('reproduce', 'soft_bpr_equivalence', '--scale', 'smoke', '-p', 'n_seeds=-1', *extra, env=env)
        assert r.returncode == 2 and "'n_seeds' must be at least 1, got -1 (-p n_seeds" in r.stderr, r.stderr
        for scale in ('smoke', 'cpu'):  # a parameter the scale does not use: refused, naming the scales that use it
            r = trustbook_cli('reproduce', 'fsd_main', '--scale', scale, '-p', 'model=gpt2x', *extra, env=env)
            assert r.returncode == 2 and f"'model' of 'fsd_main' is not used at scale '{scale}'" in r.stderr, r.stderr
            assert 'can be set at scale paper' in r.stderr
    assert not (tmp_path/'runs').exists()


def test_every_registered_value_obeys_its_declaration():
    "Each experiment's values at each scale resolve: the registry's params sections agree with its scales sections."
    from conftest import ROOT
    from trustbook.papers import load_registry
    from trustbook.params import resolve_params
    reg = load_registry(ROOT)
    for e in (e for p in reg.values() for e in p.experiments):
        assert e.params, f"{e.name}: no params section"
        for s in e.scales: resolve_params(e, s)


def test_list_shows_what_each_parameter_accepts(toy_project):
    proj, runs, env = toy_project
    r = trustbook_cli('list', '-v', 'toy_main', env=env)
    assert r.returncode == 0 and 'n_seeds=5: an integer, >= 1' in r.stdout and 'shift=0.5: a number' in r.stdout, r.stdout


def test_a_method_reached_by_name_makes_its_runs_stale(tmp_path, monkeypatch):
    "hard_bpr_main imports recsys.core only and gets the Hard-BPR loss by name: editing hard_bpr.py still makes it stale."
    import shutil, trustbook, trustbook.inputs as inputs
    from conftest import ROOT
    from trustbook.papers import load_registry
    from trustbook.params import resolve_params
    exp = next(e for p in load_registry(ROOT).values() for e in p.experiments if e.name == 'hard_bpr_main')
    assert 'hard_bpr' not in ''.join(l for l in exp.notebook.read_text().splitlines() if 'import' in l)
    pkg = tmp_path/'trustbook'; shutil.copytree(Path(trustbook.__file__).parent, pkg, ignore=shutil.ignore_patterns('__pycache__'))
    monkeypatch.setattr(inputs, '_package_dir', lambda: pkg)
    params = resolve_params(exp, 'cpu')
    before = inputs.run_inputs(exp, params)
    (pkg/'recsys'/'hard_bpr.py').write_text((pkg/'recsys'/'hard_bpr.py').read_text() + '\n# a changed loss\n')
    after = inputs.run_inputs(exp, params)
    assert inputs.inputs_key(before) != inputs.inputs_key(after)
    assert inputs.stale_reasons(before, after) == ['code (trustbook/recsys/hard_bpr.py)']
    (pkg/'report.py').write_text((pkg/'report.py').read_text() + '\n# the report changed\n')  # not in any run's inputs
    (pkg/'executors.py').write_text((pkg/'executors.py').read_text() + '\n# so did an executor\n')
    assert inputs.inputs_key(inputs.run_inputs(exp, params)) == inputs.inputs_key(after)


def test_ctrl_c_stops_its_kernel_prints_one_line_and_resumes(toy_project):
    "SIGINT to the terminal's process group: exit 130, one line, no traceback, no kernel left; the rerun resumes."
    import psutil
    proj, runs, env = toy_project
    att = runs/'toy'/'toy_main'/'.smoke.attempt'
    # 80 steps of 0.3 s: Ctrl-C lands mid-training even when the first checkpoint shows up late on a loaded machine
    # (with 25 steps a CI run once finished before the signal arrived and exited 0)
    slow = ('-p', 'train_steps=80', '-p', 'step_sleep=0.3')
    p = subprocess.Popen([sys.executable, '-m', 'trustbook', 'reproduce', 'toy_main', '--scale', 'smoke', *slow],
                         env=dict(os.environ, **env, TRUSTBOOK_CHECKPOINT_EVERY='0'), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)  # its own group: Ctrl-C reaches it alone
    t0 = time.time()
    while not list((att/'checkpoints').glob('toy-*.pt')) and time.time() - t0 < 120: time.sleep(0.2)
    time.sleep(1)
    family = psutil.Process(p.pid).children(recursive=True)
    assert any('ipykernel' in ' '.join(c.cmdline()) for c in family), [c.cmdline() for c in family]
    os.killpg(p.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, (out, err)
    assert [l for l in err.splitlines() if l.strip()] == [l for l in err.splitlines() if l.startswith('trustbook: interrupted')] != [], err
    assert len([l for l in err.splitlines() if l.strip()]) == 1 and 'Traceback' not in out + err and 'ZMQ' not in out + err
    time.sleep(1)
    alive = [c for c in family if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert not alive, [c.cmdline() for c in alive]
    r = trustbook_cli('reproduce', 'toy_main', '--scale', 'smoke', *slow, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    got = json.loads((runs/'toy'/'toy_main'/'smoke'/'results.json').read_text())['metrics']['trained']
    assert 0 < got['resumed_from'] < 80, got


def test_docs_refuses_a_folder_it_does_not_own(tmp_path):
    "`trustbook docs --out DIR` on a folder with a user's file: refused before anything is built or deleted."
    d = tmp_path/'mine'; d.mkdir(); (d/'thesis.tex').write_text('years of work')
    r = trustbook_cli('docs', '--out', str(d))
    assert r.returncode == 2 and 'holds no site built by trustbook' in r.stderr, r.stderr
    assert [p.name for p in d.iterdir()] == ['thesis.tex'] and (d/'thesis.tex').read_text() == 'years of work'


def test_docs_out_dot_in_a_clone_deletes_nothing(tmp_path):
    "`trustbook docs --out .` in a copy of the repository is refused and every file stays."
    import shutil
    from conftest import ROOT
    clone = tmp_path/'clone'
    shutil.copytree(ROOT, clone, ignore=shutil.ignore_patterns('.venv', '.git', 'runs', '_site', '_docs', '__pycache__', '*.egg-info', 'figures'))
    files = sorted(str(p.relative_to(clone)) for p in clone.rglob('*'))
    r = trustbook_cli('docs', '--out', '.', cwd=clone, env=dict(TRUSTBOOK_PROJECT=str(clone)))
    assert r.returncode == 2 and 'not empty' in r.stderr, r.stderr
    assert sorted(str(p.relative_to(clone)) for p in clone.rglob('*')) == files


def test_docs_rebuild_replaces_only_its_own_files(tmp_path):
    "A site folder trustbook built: a rebuild replaces the files its marker lists and keeps a file a user added."
    from trustbook.docs import install_site, SITE_MARKER
    built, out = tmp_path/'built', tmp_path/'site'
    (built/'papers').mkdir(parents=True); (built/'index.html').write_text('v1'); (built/'papers'/'gone.html').write_text('x')
    install_site(built, out)
    (out/'papers'/'my_notes.md').write_text('mine')
    (built/'papers'/'gone.html').unlink(); (built/'index.html').write_text('v2')
    install_site(built, out)
    assert sorted(str(p.relative_to(out)) for p in out.rglob('*') if p.is_file()) == [SITE_MARKER, 'index.html', 'papers/my_notes.md']
    (built/'papers'/'my_notes.md').write_text('the site')  # the site would overwrite the user's file: nothing is written
    with pytest.raises(Exception, match='did not write'): install_site(built, out)
    assert (out/'papers'/'my_notes.md').read_text() == 'mine'


# ---- issue 24: what `trustbook reproduce` shows while it works and when it ends ------------------------------------

def test_end_summary(toy_project):
    "Per paper the verdict counts, changed verdicts, the wall time, where RESULTS.md is, failures with their rerun command."
    proj, runs, env = toy_project
    r = trustbook_cli('reproduce', 'toy', '--scale', 'smoke', env=env)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert lines[0].startswith('1 ran, 0 up to date, 1 failed in 0:') and lines[0].endswith('[smoke]'), lines
    assert '  toy: holds 1, not run 1' in lines and 'smoke runs are never reported' in r.stdout
    assert 'FAILED toy/toy_fail [smoke]: cell' in r.stdout and 'rerun the failed: trustbook reproduce toy_fail --scale smoke' in lines
    r = trustbook_cli('reproduce', 'toy_main', '--scale', 'smoke', '-p', 'shift=-0.5', env=env)
    assert r.returncode == 0 and 'changed: toy_method_beats_baseline: holds -> ' in r.stdout, r.stdout
    r = trustbook_cli('reproduce', 'toy_main', '--scale', 'cpu', env=env)  # a reported scale: RESULTS.md and figures named
    assert r.returncode == 0 and f"results: {proj/'figures'/'RESULTS.md'}; figures: {proj/'figures'}/<paper>/" in r.stdout, r.stdout
    assert (proj/'figures'/'RESULTS.md').exists()


def test_dry_run_plan_up_to_date_vs_stale(toy_project):
    "--dry-run: never run, then up to date with the last run's time, then stale and why after each kind of edit."
    proj, runs, env = toy_project
    plan = lambda: trustbook_cli('reproduce', 'toy_main', '--scale', 'smoke', '--dry-run', env=env).stdout
    assert 'toy/toy_main [smoke]  never run; estimate unknown' in plan()
    assert trustbook_cli('reproduce', 'toy_main', '--scale', 'smoke', env=env).returncode == 0
    p = plan()
    assert 'toy/toy_main [smoke]  up to date' in p and 'plan at scale smoke: 0 to run, 1 up to date' in p and not runs.joinpath('x').exists()
    yml = proj/'nbs'/'experiments'/'toy.yml'
    yml.write_text(yml.read_text().replace('smoke: {n: 50, n_seeds: 3}', 'smoke: {n: 60, n_seeds: 3}'))
    p = plan()
    assert 'stale: parameters (n: 50 -> 60); estimate 0:' in p and 'total: 1 run(s), about 0:' in p, p
    yml.write_text(yml.read_text().replace('sesoi: 0.05', 'sesoi: 0.1'))  # a declared margin changed
    assert 'claim specs (toy_method_beats_baseline)' in plan()
    nb = proj/'nbs'/'experiments'/'toy_main.ipynb'
    nb.write_text(nb.read_text().replace('time.sleep(sleep)', 'time.sleep(sleep)  # edited'))
    assert 'code (the notebook)' in plan()


def test_status(toy_project):
    "`trustbook status`: what has run, at which commit, what is stale now, what failed."
    proj, runs, env = toy_project
    trustbook_cli('reproduce', 'toy', '--scale', 'smoke', env=env)
    r = trustbook_cli('status', env=env)
    assert r.returncode == 0, r.stderr
    main = next(l for l in r.stdout.splitlines() if l.startswith('toy/toy_main [smoke]'))
    assert 'up to date (last run: ' in main and 'commit ' in main, main
    fail = next(l for l in r.stdout.splitlines() if l.startswith('toy/toy_fail [smoke]'))
    assert 'never run' in fail and 'last attempt failed' in fail and 'run.log' in fail, fail
    yml = proj/'nbs'/'experiments'/'toy.yml'
    yml.write_text(yml.read_text().replace('smoke: {n: 50, n_seeds: 3}', 'smoke: {n: 60, n_seeds: 3}'))
    assert 'stale: parameters (n: 50 -> 60)' in trustbook_cli('status', 'toy_main', env=env).stdout


def test_progress_in_the_terminal_no_kernel_chatter(toy_project):
    "Log mode: the notebook's own bars reach the terminal as whole lines; the kernel's TCP warning stays in run.log."
    proj, runs, env = toy_project
    r = trustbook_cli('reproduce', 'toy_main', '--scale', 'smoke', '--progress', 'log', '-p', 'train_steps=8', '-p', 'step_sleep=0.4',
                      env=dict(env, TRUSTBOOK_LOG_EVERY='0.3'))
    assert r.returncode == 0, r.stderr
    err = r.stderr.splitlines()
    assert err[0] == '[1/1] toy/toy_main [smoke]: started' and err[-1].startswith('[1/1] toy/toy_main [smoke]: done in'), err
    assert any(re.search(r'toy fit [1-7]/8$', l) for l in err), err
    terminal = r.stdout + r.stderr
    assert 'without encryption' not in terminal and 'IPKernelApp' not in terminal and 'Traceback' not in terminal
    log = (runs/'toy'/'toy_main'/'smoke'/'run.log').read_text()
    assert 'Executing notebook' in log or 'Executing' in log, log[:500]
    assert len(log.splitlines()) < 200  # the bars reach the log at most every ten seconds
    q = trustbook_cli('reproduce', 'toy_main', '--scale', 'smoke', '--force', '-q', env=env)
    assert q.returncode == 0 and q.stderr.strip() == '' and q.stdout.startswith('1 ran'), q.stderr


# ---- issue 18: RESULTS.md in the verdict vocabulary -----------------------------------------------------------------

def test_results_md_claims_checks_and_how_to_read(toy_project):
    "A reported run: claim rows with the difference, its 95% CI, n, Holm p, the margin and the verdict; checks apart."
    proj, runs, env = toy_project
    r = trustbook_cli('reproduce', 'toy_main', '--scale', 'cpu', env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    res = json.loads((runs/'toy'/'toy_main'/'cpu'/'results.json').read_text())
    v = res['claims']['toy_method_beats_baseline']
    assert (v['verdict'], v['sesoi'], v['n']) == ('holds', 0.05, 5) and len(v['values']['method']) == 5  # judged by the registry's spec
    assert res['claims']['toy_values_finite']['verdict'] == 'passes'
    md = (proj/'figures'/'RESULTS.md').read_text()
    assert '## How to read a verdict' in md and '**inconclusive**' in md and 'not* evidence against' in md
    assert 'Holm-adjusted within each paper' in md
    assert "| claim | paper's number | ours: difference [95% CI] | n | p (Holm) | smallest effect | scale | verdict |" in md, md
    row = next(l for l in md.splitlines() if l.startswith('| the shifted method beats the baseline |'))
    assert re.search(r'\| 0\.10 \| -?[\d.]+ vs -?[\d.]+: \+0\.\d+ \[\+0\.\d+, \+0\.\d+\] \| 5 \| [<\d.]+ \| ±0\.05 \| cpu \| \*\*holds\*\* \|$', row), row
    never = next(l for l in md.splitlines() if l.startswith('| a claim the notebook does not compute |'))
    assert 'no margin declared' in never and never.endswith('**not run** |'), never
    checks = md[md.index('Checks ('):]
    assert '| every drawn mean is finite | 10 finite values | cpu | passes |' in checks, checks
    assert 'toy_values_finite' not in md.split('Checks (')[0]  # never counted among the claims
