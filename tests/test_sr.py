"Fast checks of trustbook.sr: metric conventions against published anchors, bad inputs, KD/MiPKD/DUKD properties."
import os
from pathlib import Path
import numpy as np
import pytest
import torch
from PIL import Image

from trustbook.core import TrustbookError
from trustbook.sr.images import imresize, imresize_torch, psnr_y, ssim_y, read_image, make_lr, mod_crop
from trustbook.sr.data import SRPair, pairs_from_folder, load_benchmark, random_patches, skimage_pairs
from trustbook.sr.models import edsr, rcan, Bicubic, super_resolve, n_params
from trustbook.sr.kd import make_distiller, DISTILLERS, train_sr
from trustbook.sr.mipkd import MiPKD
from trustbook.sr.dukd import augment, invert_augment, draw_augment, zoom_in_tiles, zoom_out, AUG_OPS

MIRROR = Path(__file__).resolve().parents[1].parent/'shared'/'data'

def _mirror():
    m = os.environ.get('TRUSTBOOK_DATA') or (str(MIRROR) if MIRROR.is_dir() else None)
    if not m or not (Path(m)/'sr_benchmarks').is_dir():
        pytest.skip("SR benchmark mirror absent: set TRUSTBOOK_DATA to a folder holding sr_benchmarks/ (../shared/data)")
    return m

# the literature's bicubic PSNR-Y (border = scale), ../shared/data/README.md
ANCHORS = {('Set5', 2): 33.66, ('Set5', 3): 30.39, ('Set5', 4): 28.42, ('Set14', 2): 30.24, ('Set14', 3): 27.55,
           ('Set14', 4): 26.00, ('BSD100', 4): 25.96,
           ('BSD100', 2): 29.56}  # x2 LR made from the x4 HR files (sr.data.DERIVED_SCALES): the literature's 29.56 dB

@pytest.mark.parametrize('name,scale', list(ANCHORS))
def test_bicubic_anchors(name, scale, monkeypatch):
    monkeypatch.setenv('TRUSTBOOK_DATA', _mirror())
    pairs = load_benchmark(name, scale)
    got = np.mean([psnr_y(imresize(p.lr, scale), p.hr, scale) for p in pairs])
    assert abs(got - ANCHORS[name, scale]) < 0.05, (name, scale, got)

def test_lr_files_reproduced_bit_exactly(monkeypatch):
    monkeypatch.setenv('TRUSTBOOK_DATA', _mirror())
    for name, scale in [('Set5', 2), ('Set14', 3), ('Set5', 4)]:
        for p in load_benchmark(name, scale)[:3]:
            assert np.array_equal(imresize(p.hr, 1 / scale), p.lr), (name, scale, p.name)

def test_registered_checksums_match_mirror(monkeypatch, tmp_path):
    monkeypatch.setenv('TRUSTBOOK_DATA', _mirror()); monkeypatch.setenv('TRUSTBOOK_HOME', str(tmp_path))
    from trustbook.data import dataset_file, get_spec
    spec = get_spec('sr_benchmarks')
    assert len(spec.files) == 314 and all(f.sha256 and len(f.sha256) == 64 for f in spec.files)
    for f in spec.files[::50]: assert dataset_file('sr_benchmarks', f.path).exists()

def test_grayscale_scored_on_one_channel():
    g = np.random.default_rng(0).integers(0, 256, (20, 20, 1)).astype(np.uint8)
    h = np.clip(g.astype(int) + 3, 0, 255).astype(np.uint8)
    assert psnr_y(h, g) == pytest.approx(10 * np.log10(255**2 / np.mean((h.astype(float) - g) ** 2)))
    assert ssim_y(g, g, 2) == pytest.approx(1.0)

def test_imresize_torch_matches_numpy():
    x = np.random.default_rng(1).random((10, 14, 3))
    t = imresize_torch(torch.tensor(x).permute(2, 0, 1)[None], 0.5)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(t, imresize(x, 0.5), atol=1e-10)

def _save(path, arr): Image.fromarray(arr).save(path)

def test_bad_inputs_name_the_file(tmp_path):
    (tmp_path/'hr').mkdir(); (tmp_path/'lr').mkdir(); (tmp_path/'empty').mkdir()
    _save(tmp_path/'hr'/'pic.png', np.zeros((10, 10, 3), np.uint8)); _save(tmp_path/'lr'/'pic.png', np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(TrustbookError, match='pic.png'): pairs_from_folder(tmp_path/'hr', 2, tmp_path/'lr')
    with pytest.raises(TrustbookError, match='no HR images'): pairs_from_folder(tmp_path/'empty', 2)
    _save(tmp_path/'gray.png', np.zeros((4, 4), np.uint8)); _save(tmp_path/'rgba.png', np.zeros((4, 4, 4), np.uint8))
    with pytest.raises(TrustbookError, match='gray.png'): read_image(tmp_path/'gray.png', gray='refuse')
    with pytest.raises(TrustbookError, match='rgba.png.*alpha'): read_image(tmp_path/'rgba.png')
    assert read_image(tmp_path/'gray.png', gray='rgb').shape == (4, 4, 3)
    with pytest.raises(TrustbookError, match='2, 3, 4 or 8'): make_lr(np.zeros((8, 8, 3), np.uint8), 5)

def test_model_refuses_other_scale():
    m = edsr(2, 8, 2, 2)
    with pytest.raises(TrustbookError, match='built for x2'): m(torch.rand(1, 3, 4, 4), scale=3)
    with pytest.raises(TrustbookError, match='x2'): super_resolve(m, np.zeros((4, 4, 3), np.uint8), scale=4)
    with pytest.raises(TrustbookError, match='x4'): make_distiller('logits', m, edsr(4, 8, 2, 2))
    assert super_resolve(Bicubic(3), np.zeros((4, 5, 1), np.uint8)).shape == (12, 15, 1)

def test_rcan_pair_is_67_percent_smaller():
    assert 0.6 < 1 - n_params(rcan(4, 64, 10, 6)) / n_params(rcan(4, 64, 10, 20)) < 0.7

def test_every_kd_method_trains_and_keeps_teacher_frozen():
    torch.manual_seed(0)
    T, hr = edsr(2, 8, 4, 2), np.random.default_rng(0).integers(0, 256, (32, 32, 3)).astype(np.uint8)
    h, l = make_lr(hr, 2); pairs = [SRPair('x', h, l, 2)]
    t0 = [p.clone() for p in T.parameters()]
    for m in DISTILLERS:
        S = edsr(2, 4, 2, 2)
        hist = train_sr(make_distiller(m, S, T), pairs, iters=2, batch=2, patch=8)
        assert all(np.isfinite(v) for d in hist['losses'] for v in d.values()), m
    assert all(torch.equal(a, b) for a, b in zip(t0, T.parameters()))

def test_augment_inverse_exact_and_equivariance():
    x = torch.rand(16, 3, 6, 6)
    ops = torch.tensor([[(i >> k) & 1 for k in range(len(AUG_OPS))] for i in range(16)], dtype=torch.bool)
    assert torch.equal(invert_augment(augment(x, ops), ops), x)
    up = Bicubic(2)
    torch.testing.assert_close(invert_augment(up(augment(x, ops)), ops), up(x), atol=1e-5, rtol=0)
    with pytest.raises(TrustbookError): draw_augment(2, 1.5)

def test_upcycling_shapes_and_content():
    hr = torch.rand(3, 3, 16, 16)
    t = zoom_in_tiles(hr, 2, n_sub=1)
    assert t.shape == (3, 3, 8, 8)
    for i in range(3):  # each tile is one quadrant of its own patch
        assert any(torch.equal(t[i], hr[i, :, a:a + 8, b:b + 8]) for a in (0, 8) for b in (0, 8))
    assert zoom_out(torch.rand(2, 3, 8, 8), 2).shape == (2, 3, 4, 4)

def test_mipkd_student_only_route_is_student():
    T, S = edsr(2, 8, 4, 2), edsr(2, 4, 2, 2)
    d = MiPKD(S, T)
    x = torch.rand(1, 3, 6, 6)
    torch.testing.assert_close(d.bpm_forward(x, [False, False]), S(x))
    assert not torch.allclose(d.bpm_forward(x, [True, True]), S(x))

def test_patches_aligned():
    prs = skimage_pairs('train', 2, max_side=48)
    lr, hr = random_patches(prs, 3, 8, np.random.default_rng(0))
    assert lr.shape == (3, 3, 8, 8) and hr.shape == (3, 3, 16, 16)


# --- issue 19: bad inputs are named, never silently scored or replaced -------------------------------------------

def test_lr_file_of_wrong_size_is_an_error_not_a_bicubic_replacement(tmp_path):
    _save(tmp_path/'a.png', np.zeros((16, 16, 3), np.uint8)); _save(tmp_path/'a_LR.png', np.zeros((5, 5, 3), np.uint8))
    with pytest.raises(TrustbookError, match=r'a\.png / a_LR\.png: HR size 16x16 is not 2 x the LR size 5x5'):
        pairs_from_folder(tmp_path, 2)
    _save(tmp_path/'a_LR.png', np.full((8, 8, 3), 9, np.uint8))
    assert int(pairs_from_folder(tmp_path, 2)[0].lr[0, 0, 0]) == 9  # the given LR file, not a made one


def test_psnr_refuses_unit_range_floats_against_uint8():
    ref = np.random.default_rng(0).integers(0, 256, (16, 16, 3)).astype(np.uint8)
    with pytest.raises(TrustbookError, match=r'image: a float image with every value in \[0, 1\]'):
        psnr_y(ref / 255.0, ref)
    with pytest.raises(TrustbookError, match='reference'): ssim_y(ref, ref.astype(np.float64) / 255, 2)
    assert psnr_y(ref.astype(np.float64), ref) == float('inf')


# --- property-based: any folder of files gives valid pairs or a TrustbookError --------------------------------------

from hypothesis import given, settings, HealthCheck, strategies as st

_NAMES = ['a', 'b', 'a_HR', 'a_LR', 'b_LR', 'ax2', 'bx2', 'c_HR', 'c_LR']
_file = st.tuples(st.sampled_from(_NAMES), st.sampled_from(['.png', '.jpg', '.bmp', '.txt']),
                  st.one_of(st.binary(max_size=64),  # garbage, or (more often) a real image of a random size
                            *[st.tuples(st.integers(1, 12), st.integers(1, 12), st.sampled_from([1, 3, 3, 4]), st.integers(0, 255))] * 3))


def _write(path, content):
    if isinstance(content, bytes): path.write_bytes(content); return
    h, w, c, v = content
    a = np.full((h, w, c), v, np.uint8)
    try: Image.fromarray(a[..., 0] if c == 1 else a).save(path)
    except Exception: path.write_bytes(b'not an image')  # PIL cannot write RGBA as jpg: the file is garbage then


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(_file, min_size=1, max_size=5), scale=st.sampled_from([2, 3]))
def test_pairs_from_folder_gives_valid_pairs_or_trustbook_error(tmp_path_factory, files, scale):
    d = tmp_path_factory.mktemp('fuzz')
    for name, ext, content in files: _write(d/f'{name}{ext}', content)
    try: pairs = pairs_from_folder(d, scale)
    except TrustbookError: return
    images = [p for p in d.iterdir() if p.suffix in ('.png', '.jpg', '.bmp')]
    stems = {p.stem for p in images}
    n_lr = sum('_LR' in p.stem or (p.stem.endswith(f'x{scale}') and p.stem[:-2] in stems) for p in images)
    assert len(pairs) == len(images) - n_lr  # every HR image is loaded: no silent partial load
    for p in pairs:
        assert p.hr.dtype == np.uint8 and p.hr.shape[0] == scale * p.lr.shape[0] and p.hr.shape[1] == scale * p.lr.shape[1]
        assert p.hr.shape[2] == p.lr.shape[2] in (1, 3)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=256), gray=st.sampled_from(['keep', 'rgb', 'refuse']))
def test_read_image_on_arbitrary_bytes(tmp_path_factory, data, gray):
    f = tmp_path_factory.mktemp('bytes')/'x.png'; f.write_bytes(data)
    try: a = read_image(f, gray=gray)
    except TrustbookError: return
    assert a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] in (1, 3)


# --- issue 20: registry by name, the SR-net protocol, the user's own model ----------------------------------------

def test_distiller_resolves_by_name_in_a_fresh_interpreter():
    import subprocess, sys
    code = ("from trustbook.sr.kd import make_distiller; from trustbook.sr.models import edsr; "
            "d = make_distiller('dukd', edsr(2, 8, 2, 2), edsr(2, 8, 2, 2)); m = make_distiller('mipkd', edsr(2, 8, 2, 2), edsr(2, 8, 2, 2)); "
            "print(type(d).__module__, type(m).__module__)")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ['trustbook.sr.dukd', 'trustbook.sr.mipkd']


class _PlainSR(torch.nn.Module):
    "A user's x2 net with only forward(): no scale attribute, no stages."
    def __init__(self, c=8):
        super().__init__(); self.body = torch.nn.Sequential(torch.nn.Conv2d(3, c, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(c, 12, 3, padding=1), torch.nn.PixelShuffle(2))
    def forward(self, x): return self.body(x)


def test_users_net_in_dukd_and_clear_errors_for_what_it_lacks():
    pairs = skimage_pairs('train', 2, max_side=48)[:2]
    T, S = _PlainSR(16), _PlainSR(4)
    h = train_sr(make_distiller('dukd', S, T), pairs, iters=2, batch=2, patch=8, checkpoint=False)  # once: "no attribute 'scale'"
    assert h['updates'] == 4 and set(h['losses'][0]) == {'rec', 'kd', 'zoom_in', 'zoom_out'}
    with pytest.raises(TrustbookError, match="student \\(_PlainSR\\) lacks forward_features"): make_distiller('fitnet', S, edsr(2, 8, 2, 2))
    with pytest.raises(TrustbookError, match='lacks embed, groups, reconstruct'): make_distiller('mipkd', S, edsr(2, 8, 2, 2))
    with pytest.raises(TrustbookError, match='teacher is x4, student x2'): make_distiller('dukd', S, edsr(4, 8, 2, 2))


def test_your_own_model_and_data_dukd(tmp_path):
    "The snippet of the DUKD page's 'Your own model and data' section."
    for name, img in list(__import__('trustbook.sr.data', fromlist=['x']).skimage_images('train', max_side=64).items())[:2]:
        Image.fromarray(img).save(tmp_path/f'{name}.png')
    from torch import nn
    from trustbook.sr.training import distil, evaluate_sr
    def my_sr(c): return nn.Sequential(nn.Conv2d(3, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, 12, 3, padding=1), nn.PixelShuffle(2))
    pairs = pairs_from_folder(tmp_path, scale=2)
    teacher, student = my_sr(16), my_sr(8)
    distil('scratch', teacher, pairs=pairs, steps=20, patch=12)
    distil('dukd', student, teacher, pairs=pairs, steps=20, patch=12)
    assert 10 < evaluate_sr(student, pairs)['psnr'] < 60


def test_your_own_model_and_data_mipkd(tmp_path):
    "The snippet of the MiPKD page's 'Your own model and data' section."
    for name, img in list(__import__('trustbook.sr.data', fromlist=['x']).skimage_images('train', max_side=64).items())[:2]:
        Image.fromarray(img).save(tmp_path/f'{name}.png')
    from torch import nn
    from trustbook.sr.models import Staged
    from trustbook.sr.training import distil, evaluate_sr
    class MySR(Staged):
        def __init__(self, c, n=2): super().__init__(); self.head, self.groups, self.tail = nn.Conv2d(3, c, 3, padding=1), nn.ModuleList(nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU()) for _ in range(n)), nn.Sequential(nn.Conv2d(c, 12, 3, padding=1), nn.PixelShuffle(2))
        def embed(self, x): return self.head(x)
        def reconstruct(self, h, h0, x): return self.tail(h + h0)
    pairs = pairs_from_folder(tmp_path, scale=2)
    teacher, student = MySR(16), MySR(8)
    distil('scratch', teacher, pairs=pairs, steps=20, patch=12)
    h = distil('mipkd', student, teacher, pairs=pairs, steps=20, patch=12)
    assert {'fpm', 'bpm'} <= set(h['losses'][0]) and 10 < evaluate_sr(student, pairs)['psnr'] < 60
