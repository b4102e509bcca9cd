"The documentation site, tested as a reader would: built, served on localhost, opened in headless Chromium."
import os, threading, urllib.request, urllib.error
from functools import partial
from http.server import ThreadingHTTPServer, SimpleHTTPRequestHandler
from urllib.parse import urldefrag
import pytest
from conftest import ROOT

pytest.importorskip('playwright')


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *a): pass


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address): pass  # a browser closing a connection early is not a failure


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    from trustbook.docs import build_docs, find_chromium
    find_chromium()  # fail with the install hint rather than deep inside playwright
    os.environ['TRUSTBOOK_RUNS'] = str(ROOT/'runs')
    out = build_docs(tmp_path_factory.mktemp('site')/'site', ROOT)
    srv = _Server(('127.0.0.1', 0), partial(_Quiet, directory=str(out)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield out, f'http://127.0.0.1:{srv.server_address[1]}/'
    srv.shutdown()


def _status(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r: return r.status
    except urllib.error.HTTPError as e: return e.code


def test_pages_links_figures_and_results_table(site):
    from playwright.sync_api import sync_playwright
    from trustbook.docs import find_chromium, CHROMIUM_ARGS
    from trustbook.papers import load_registry
    from trustbook.report import results_table
    out, base = site
    reg = load_registry(ROOT)
    n_rows = len(results_table(reg))
    pages = ['index.html', 'results.html'] + [f'papers/{p}.html' for p in reg]
    checked, broken, bad_imgs = {}, [], []
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
        pg = b.new_page()
        for p in pages:
            r = pg.goto(base + p, wait_until='load')
            assert r is not None and r.ok, f'{p}: HTTP {r.status if r else None}'
            for src, w in pg.eval_on_selector_all('img', 'els => els.map(e => [e.currentSrc || e.src, e.naturalWidth])'):
                if not w: bad_imgs.append((p, src))
            for href in pg.eval_on_selector_all('a[href]', 'els => els.map(e => e.href)'):
                u = urldefrag(href)[0]
                if not u.startswith(base): continue
                if u not in checked: checked[u] = _status(u)
                if checked[u] != 200: broken.append((p, u, checked[u]))
            if p in ('index.html', 'results.html'):
                rows = pg.eval_on_selector_all('table', """ts => ts.filter(t => [...t.querySelectorAll('th')].some(h => h.textContent.trim() === 'verdict'))
                                                             .map(t => t.querySelectorAll('tbody tr').length)""")
                assert rows == [n_rows], f'{p}: results table rows {rows}, claims {n_rows}'
        b.close()
    assert not broken, f'broken internal links: {broken[:10]}'
    assert not bad_imgs, f'images that did not load: {bad_imgs[:10]}'
    assert len(checked) > len(pages)
