"""Every registered claim can come out for or against its paper: synthetic per-seed numbers for which the claim is true,
false and (with a declared margin) equivalent go through the registry's declared test, the path `save_results` takes."""
import zlib
import numpy as np
import pytest
from conftest import ROOT, FIXTURE
from trustbook.papers import load_registry
from trustbook.metrics import verdict
from trustbook.repro import judge_claim

REAL = [c for p in load_registry(ROOT).values() for e in p.experiments for c in e.claims]
TOY = [c for p in load_registry(FIXTURE).values() for e in p.experiments for c in e.claims if c.has_spec]


def _seeds(cid, n=8):
    return np.random.default_rng(zlib.crc32(cid.encode()))


def synthetic(c, effect):
    "Per-seed numbers whose difference lies `effect` margins on the claimed side (negative: the other side), judged by `c`'s spec."
    rng, s = _seeds(c.id), c.sesoi if c.sesoi is not None else 1.0
    side = 1 if c.direction == 'higher' else -1
    noise = rng.normal(scale=s / 20, size=8)
    if c.kind == 'paired':
        base = rng.normal(loc=10 * s, scale=s, size=8)
        return verdict(base + side * effect * s + noise, base, direction=c.direction)
    assert c.threshold is not None, f"{c.id}: a threshold claim needs its threshold in the registry"
    return verdict(c.threshold + side * effect * s + noise, threshold=c.threshold, direction=c.direction)


def test_every_claim_declares_its_test():
    "Kind, direction and smallest effect of interest (with its source) for every claim, so that each one can fail."
    missing = [c.id for c in REAL if not (c.has_spec and c.sesoi is not None and c.sesoi_source)]
    assert not missing, f"{len(missing)} of {len(REAL)} claims lack a declared test: {missing}"


@pytest.mark.parametrize('claim', REAL + TOY, ids=lambda c: c.id)
def test_claim_can_come_out_either_way(claim):
    "True numbers give 'holds', false numbers 'contradicted', numbers within the margin 'no effect'."
    if not claim.has_spec: pytest.skip('no test declared yet (see test_every_claim_declares_its_test)')
    judged = lambda effect: judge_claim(claim.id, synthetic(claim, effect), claim)['verdict']
    assert judged(+5) == 'holds', claim.id
    assert judged(-5) == 'contradicted', f"{claim.id} cannot come out false"
    if claim.sesoi is not None: assert judged(0) == 'no effect', claim.id


def test_an_undeclared_claim_is_judged_without_a_margin():
    "A claim without a declared test keeps the notebook's verdict but never a margin chosen after the fact."
    c = next(c for p in load_registry(FIXTURE).values() for e in p.experiments for c in e.claims if not c.has_spec)
    v = verdict([1.0, 1.01, 0.99, 1.0, 1.02], [1.0, 1.0, 1.0, 1.01, 1.0], sesoi=0.5)  # the notebook's own margin
    assert v['verdict'] == 'no effect'
    out = judge_claim(c.id, v, c)
    assert out['sesoi'] is None and out['verdict'] == 'inconclusive'
