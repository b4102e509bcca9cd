"""The documentation site, tested as a reader would meet it: built once (method notebooks executed, cached by content),
then every file checked for broken links and machine paths, and pages of every type opened in headless Chromium."""
import os, re, sys, json
from pathlib import Path
import pytest
from conftest import ROOT

pytest.importorskip('playwright')


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    from trustbook.docs import build_docs
    from trustbook.docs_browser import find_chromium
    find_chromium()  # fail with the install hint rather than deep inside playwright
    os.environ['TRUSTBOOK_RUNS'] = str(ROOT/'runs')
    lines = []
    out = build_docs(tmp_path_factory.mktemp('site')/'site', ROOT, echo=lines.append)
    return out, lines


def _forbidden(out):
    "Absolute paths of this machine (and of the machines the runs were made on) that no page may show."
    from trustbook.report import collect_results
    paths = {str(ROOT), str(ROOT.resolve()), sys.prefix, str(out), str(out.parent), str(Path.home())}
    for k in ('TRUSTBOOK_HOME', 'TRUSTBOOK_DATA', 'TRUSTBOOK_RUNS'):
        if os.environ.get(k): paths.add(os.environ[k])
    for r in collect_results():
        d = (r.get('parameters') or {}).get('out_dir')
        if d: paths |= {d, str(Path(d).parents[3])}  # .../<project>/runs/<paper>/<experiment>/<scale>
        paths.add(str(Path(r['_path']).parent))
    return sorted(p for p in paths if p and len(p.rstrip('/')) > 1)


def test_build_reports_its_time_and_every_page_is_there(site):
    out, lines = site
    assert any(re.search(r'built in \d+ s \(\d+ CPU s\)', l) for l in lines), lines
    failed = [l for l in lines if 'raised while executing' in l or 'stopped (' in l]
    assert not failed, f'method notebooks failed while the site executed them: {failed}'
    from trustbook.docs_browser import site_pages
    from trustbook.papers import load_registry
    pages = site_pages(out)
    reg = load_registry(ROOT)
    assert pages['paper'] == sorted(f'papers/{p}.html' for p in reg)
    assert len(pages['notebook']) == len([n for n in (ROOT/'nbs').glob('*.ipynb') if n.name != 'index.ipynb'])
    assert pages['experiment'], 'no experiment run found (runs/ or figures/runs/)'
    assert not (out/'404.html').exists()


def test_no_broken_link_or_anchor_no_machine_path_nothing_fetched(site):
    from trustbook.docs_browser import broken_links, absolute_paths, external_resources
    out, _ = site
    assert broken_links(out) == []
    assert absolute_paths(out, _forbidden(out)) == []
    assert external_resources(out) == []  # no script, style sheet or image from another host, even one never run


def test_navigation_by_paper_and_area_no_orphan_no_empty_page(site):
    from trustbook.docs_browser import site_pages
    from trustbook.docs_pages import AREAS
    out, _ = site
    home = (out/'index.html').read_text()
    nav = set(re.findall(r'class="md-nav__link[^"]*"[^>]*href="([^"#]+)"|href="([^"#]+)" class="md-nav__link', home))
    nav = {a or b for a, b in nav}
    for kind, pages in site_pages(out).items():
        for p in pages:
            assert p in nav or kind == 'home', f'{p} is not in the navigation (an orphan page)'
            text = re.sub(r'<[^>]+>', ' ', re.search(r'<article.*?</article>', (out/p).read_text(), re.S).group(0))
            assert len(text.split()) > 30, f'{p} is (nearly) empty'
    for section in ('Papers', 'Library', 'Infrastructure'):
        assert f'>\n      {section}\n' in home or re.search(rf'>\s*{section}\s*<', home), section
    assert any(re.search(rf'>\s*{a}\s*<', home) for a in AREAS.values())


def test_paper_pages_teach(site):
    "Summary, verdict counts, figures with captions (regime first), claims and checks tables, links, own-data snippet."
    from trustbook.papers import load_registry
    from trustbook.docs_notebooks import notebook_section, reader_cells
    out, _ = site
    for p in load_registry(ROOT).values():
        html = (out/'papers'/f'{p.name}.html').read_text()
        if p.summary: assert 'tb-summary' in html, p.name
        assert 'Verdicts at a glance' in html and 'holds' in html, p.name
        for h in re.findall(r'<table>.*?</table>', html, re.S):  # no column repeats one value in every row
            rows = [re.findall(r'<td[^>]*>(.*?)</td>', r, re.S) for r in re.findall(r'<tr>(.*?)</tr>', h, re.S)[1:]]
            if len(rows) > 1 and 'verdict' in h and 'claim' in h:
                cols = list(zip(*rows))
                assert not any(len(set(c)) == 1 and c[0] in (p.name, 'cpu', 'paper', 'smoke') for c in cols), (p.name, 'repeated column')
        figs = re.findall(r'<figure class="tb-figure">.*?</figure>', html, re.S)
        assert all('<figcaption>' in f and len(re.sub(r'<[^>]+>', '', f).split()) > 4 for f in figs), p.name
        if any('regime' in f for f in figs): assert html.index('Where the claim holds') < html.index('>Figures<')
        assert f'../methods/{p.method_notebook.replace(".ipynb", "").replace(".", "_")}.html' in html, p.name
        assert f'../downloads/{p.method_notebook}' in html
        section = notebook_section(reader_cells(json.loads((ROOT/'nbs'/p.method_notebook).read_text())['cells']), 'Your own model and data')
        assert ('Your own model and data' in html) == bool(section), p.name
    assert any('<figure class="tb-figure">' in (out/'papers'/f).read_text() for f in os.listdir(out/'papers') if f.endswith('.html'))


def test_method_pages_executed_without_plumbing(site):
    out, _ = site
    pages = sorted((out/'methods').glob('*.html'))
    outputs = 0
    for f in pages:
        html = f.read_text()
        assert not re.search(r'class="c1">#\|', html), f'{f.name}: an nbdev directive (a `#|` comment) is shown'
        assert 'download' in html and f'../downloads/' in html, f.name
        outputs += html.count('jp-OutputArea-output')
    assert outputs > len(pages), 'the method pages show (almost) no outputs: were they executed?'
    assert '<h4 id="verdict"' in (out/'methods'/'02_metrics.html').read_text()  # the API reference after the export cell


def test_experiment_pages_clean(site):
    out, _ = site
    for f in sorted((out/'experiments').glob('*.html')):
        text = re.sub(r'<[^>]+>', ' ', f.read_text())
        assert not re.search(r'\w+Warning: ', text), f'{f.name}: a library warning is shown'
        assert 'trustbook reproduce' in text and 'Download this executed notebook' in text, f.name


def _browse_sample(out):
    from trustbook.docs_browser import site_pages, math_source_pages
    from trustbook.papers import load_registry
    pages = site_pages(out)
    maths = math_source_pages(out)
    reg = load_registry(ROOT)
    exps = [next((e for e in pages['experiment'] if Path(e).stem in {x.name for x in p.experiments}), None) for p in reg.values()]
    notebooks = maths + [p for p in pages['notebook'] if p not in maths][:3]
    return pages['home'] + pages['results'] + pages['paper'] + notebooks + [e for e in exps if e], maths


def test_pages_in_the_browser(site):
    "Every page type: no console error, no request off the machine, every image loaded, nothing cut off, math typeset on method pages."
    from trustbook.docs_browser import site_server, browse_pages
    out, _ = site
    sample, maths = _browse_sample(out)
    assert maths, 'no method page holds an equation: the math check would check nothing'
    with site_server(out) as base:
        probs = browse_pages(base, sample, tuple(maths))
    assert probs == {k: [] for k in probs}, {k: v[:5] for k, v in probs.items() if v}


def test_figures_enlarge_and_search_from_disk(site):
    "Tables and figures that fit are checked on every page browsed above (`overflow`); here the zoom and the search."
    from playwright.sync_api import sync_playwright
    from trustbook.docs_browser import find_chromium, CHROMIUM_ARGS, site_pages
    out, _ = site
    pages = site_pages(out)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
        pg = b.new_page(viewport=dict(width=1280, height=900))
        # a notebook figure opens at full size on a click; a paper figure links to its full-size file
        exp = next(p for p in pages['experiment'] if '<img' in (out/p).read_text())
        pg.goto((out/exp).as_uri(), wait_until='load')
        pg.click('.jupyter-wrapper img')
        assert pg.eval_on_selector('.tb-zoom img', 'e => e.naturalWidth') > 0
        # search, opened from disk: no network, no web worker of its own (iframe-worker.js stands in)
        pg.goto((out/'index.html').as_uri(), wait_until='load')
        pg.click('label[for="__search"]') if pg.is_visible('label[for="__search"]') else None
        pg.fill('input[data-md-component="search-query"]', 'verdict')
        pg.wait_for_selector('.md-search-result__item', timeout=20000)
        assert pg.eval_on_selector_all('.md-search-result__item', 'els => els.length') > 0
        b.close()


def test_screenshots(site, tmp_path):
    "The machinery that takes the README's picture and the site's screenshots (never into figures/ from a test)."
    from trustbook.docs_browser import take_screenshots
    out, _ = site
    shots = take_screenshots(out, tmp_path/'shots')
    assert [s.name for s in shots] == ['front_page.png', 'site_paper.png', 'site_method.png', 'site_experiment.png']
    assert all(s.stat().st_size > 20_000 for s in shots)
    assert take_screenshots(out, tmp_path/'front.png') == [tmp_path/'front.png']
