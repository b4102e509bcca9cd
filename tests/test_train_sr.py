"The SR training loops resume exactly: a run killed right after a checkpoint ends with the same bits as one never killed."
import numpy as np, pytest, torch
from test_train import run_ckpts, _check_resume  # the fixture and the kill/resume/restore check of every loop

from trustbook.sr.models import edsr
from trustbook.sr.kd import make_distiller, train_sr
from trustbook.sr.data import SRPair
from trustbook.sr.images import make_lr


def _pairs():
    hr = np.random.default_rng(0).integers(0, 256, (32, 32, 3)).astype(np.uint8)
    return [SRPair('x', *make_lr(hr, 2), 2)]


@pytest.mark.parametrize('method,kw', [('dukd', {}), ('mipkd', {})])
def test_sr_distillers_with_random_draws_resume(run_ckpts, capfd, method, kw):
    "DUKD (two updates per iteration, random tiles and augmentations) and MiPKD (random masks and routes) resume bit-exactly."
    pairs = _pairs()
    torch.manual_seed(0); teacher = edsr(2, 8, 2, 2)
    def train():
        torch.manual_seed(1); s = edsr(2, 4, 2, 2); d = make_distiller(method, s, teacher, **kw)
        h = train_sr(d, pairs, iters=6, batch=2, patch=8, seed=4)
        return d, h['losses']
    _check_resume(run_ckpts, capfd, train, 3)


def test_sr_training_to_convergence_with_milestones_on_a_pool_resumes(run_ckpts, capfd):
    "The experiments' loop: a fixed patch pool with precomputed teacher targets, validation curve, plateau halvings, milestones."
    from trustbook.sr.kd import PatchPool
    from trustbook.sr.training import ValidationCurve
    pairs = _pairs()
    torch.manual_seed(0); teacher = edsr(2, 8, 2, 2)
    pool = PatchPool(pairs, 16, 8, seed=1)
    def train():
        torch.manual_seed(1); s = edsr(2, 4, 2, 2); d = make_distiller('dukd', s, teacher)
        vc = ValidationCurve(pairs, every=2, patience=1, min_delta=0.0, max_decays=3, milestones={'m': ('updates', 6)})
        h = train_sr(d, pool, iters=8, batch=2, seed=4, sched=None, callbacks=(vc,))
        return d, (h['losses'], [c['val_psnr'] for c in h['curve']], h['best_step'], h['milestones']['m']['best_step'],
                   [t.sum().item() for t in h['milestone_states']['m'].values()])
    _check_resume(run_ckpts, capfd, train, 3)
