import os, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).resolve().parent/'fixtures'/'toy_project'
NO_NETWORK = Path(__file__).resolve().parent/'fixtures'/'no_network'

# Tests never touch the network and never write into the user's cache or the repo's runs/.
_home = Path(os.environ.get('PYTEST_TRUSTBOOK_HOME') or (Path('/tmp')/f'trustbook-test-home-{os.getpid()}'))
os.environ['TRUSTBOOK_HOME'] = str(_home)
os.environ.setdefault('TRUSTBOOK_PROGRESS', '0')
os.environ.setdefault('HF_HUB_OFFLINE', '1'); os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
os.environ.setdefault('HF_DATASETS_OFFLINE', '1')
os.environ.setdefault('MPLBACKEND', 'Agg')
if 'TRUSTBOOK_DATA' not in os.environ and (ROOT.parent/'shared'/'data').is_dir():
    os.environ['TRUSTBOOK_DATA'] = str((ROOT.parent/'shared'/'data').resolve())
# Every Python subprocess (papermill, kernels, the CLI) installs the same guard at start-up (sitecustomize.py).
os.environ['TRUSTBOOK_NO_NETWORK'] = '1'
os.environ['PYTHONPATH'] = os.pathsep.join([str(NO_NETWORK)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p])
sys.path.insert(0, str(NO_NETWORK))
import no_network_guard  # noqa: E402


@pytest.fixture(scope='session', autouse=True)
def no_network():
    "The whole suite runs with sockets blocked except to this machine: a test that would download fails loudly."
    no_network_guard.install()
    yield no_network_guard
    no_network_guard.uninstall()


def trustbook_cli(*args, env=None, cwd=None, timeout=600, **kw):
    "Run the `trustbook` CLI in a subprocess, as a user would; returns the CompletedProcess."
    e = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, '-m', 'trustbook', *args], capture_output=True, text=True,
                          env=e, cwd=cwd or ROOT, timeout=timeout, **kw)


def fresh_python(code:str, timeout:int=120)->str:
    "Run `code` in a fresh interpreter (nothing imported yet, as a user's script starts) and return its stdout; fail with its stderr."
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


@pytest.fixture
def toy_project(tmp_path):
    "A copy of the fixture project and an empty runs folder; returns (project, runs, env)."
    proj = tmp_path/'proj'; shutil.copytree(FIXTURE, proj)
    runs = tmp_path/'runs'
    env = dict(TRUSTBOOK_PROJECT=str(proj), TRUSTBOOK_RUNS=str(runs))
    return proj, runs, env
