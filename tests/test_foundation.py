"The project's own invariants: README from index, CI runs the README's command, notebooks and modules agree."
import re, shutil, subprocess, sys
from pathlib import Path
import pytest
from conftest import ROOT

BIN = Path(sys.executable).parent


def _readme_commands():
    md = (ROOT/'README.md').read_text()
    return re.findall(r'```sh\n(.*?)\n```', md, re.S)


def test_readme_is_rendered_from_index():
    from trustbook.report import render_readme
    assert render_readme(ROOT/'nbs'/'index.ipynb') == (ROOT/'README.md').read_text(), \
        "README.md differs from nbs/index.ipynb: re-render it (trustbook report, or trustbook.report.render_readme)"


def test_ci_runs_the_readme_test_command():
    cmds = _readme_commands()
    test_cmd = [c for c in cmds if 'pytest' in c]
    assert len(test_cmd) == 1, cmds
    ci = (ROOT/'.ci'/'run').read_text().splitlines()
    assert test_cmd[0].strip() in [l.strip() for l in ci], f"{test_cmd[0]!r} is not a line of .ci/run"
    assert any('trustbook reproduce' in c for c in cmds)


def _copy_tree(tmp):
    dst = tmp/'repo'
    shutil.copytree(ROOT, dst, ignore=shutil.ignore_patterns('.venv', '.git', 'runs', '_site', '_docs', '__pycache__', '*.egg-info', 'figures'))
    return dst


def test_modules_match_notebooks(tmp_path):
    dst = _copy_tree(tmp_path)
    r = subprocess.run([str(BIN/'nbdev_export')], cwd=dst, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    diff = subprocess.run(['diff', '-rq', '-x', '__pycache__', str(ROOT/'trustbook'), str(dst/'trustbook')], capture_output=True, text=True)
    assert diff.stdout == '', "nbdev_export would change trustbook/ (edit nbs/, export, commit both):\n" + diff.stdout


def test_notebooks_are_clean(tmp_path):
    dst = _copy_tree(tmp_path)
    r = subprocess.run([str(BIN/'nbdev_clean')], cwd=dst, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    diff = subprocess.run(['diff', '-rq', str(ROOT/'nbs'), str(dst/'nbs')], capture_output=True, text=True)
    assert diff.stdout == '', "nbdev_clean would change notebooks (run nbdev_clean):\n" + diff.stdout


def _method_notebooks():
    return sorted(p.name for p in (ROOT/'nbs').glob('*.ipynb') if p.name != 'index.ipynb')


@pytest.mark.parametrize('nb', _method_notebooks())
def test_notebook_tests_pass(nb):
    """The notebook's own test cells pass, executed as nbdev_test executes them (execnb, a fresh process, `#| notest`
    and `slow` cells skipped). They go through the site's cache of executed notebooks (keyed by the notebook's bytes and
    the library it uses), so each notebook runs once per session: the site build (tests/test_docs.py, earlier in the
    suite) executes it and this test reads the result, or this test executes it when the site test did not run."""
    import json
    from trustbook.docs_notebooks import execute_notebooks
    src = ROOT/'nbs'/nb
    done, rep = execute_notebooks([src], jobs=1, echo=lambda *a: None)
    if rep['errors'] or done[src] is None:
        cells = json.loads(done[src].read_text())['cells'] if done[src] else []
        tbs = ['\n'.join(o.get('traceback', [])) for c in cells for o in c.get('outputs', []) if o.get('output_type') == 'error']
        pytest.fail(f"{nb}: {rep['errors'].get(nb) or 'did not finish executing'}\n" + '\n'.join(tbs)[-4000:])


def test_no_network_in_tests(tmp_path):
    "The suite runs offline, proved: a connection or name lookup off this machine fails loudly, here and in subprocesses."
    import socket
    from no_network_guard import NetworkBlocked
    with pytest.raises(NetworkBlocked, match='tests run without network'): socket.create_connection(('198.51.100.7', 443), timeout=1)
    with pytest.raises(NetworkBlocked): socket.getaddrinfo('pypi.org', 443)
    srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen()  # loopback stays open: kernels and gloo need it
    socket.create_connection(srv.getsockname(), timeout=1).close(); srv.close()
    code = "import urllib.request; urllib.request.urlopen('https://huggingface.co', timeout=5)"
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and 'NetworkBlocked' in r.stderr, r.stderr[-2000:]
