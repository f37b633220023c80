"""The GCN builder: every alternative of every choice builds, runs forward/backward, exports."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from train.complexity import count_flops, count_params
from train.nn.model import build_model
from train.search_space import N_ARCHITECTURES, SEARCH_SPACE, ArchConfig, sample_config

T_SMALL = 32
BASE = ArchConfig()
LAYOUT_J = {"mpii16": 16, "inmotion19": 19}


def _cases() -> list[tuple[str, object, str]]:
    cases = []
    for k, (name, alts) in enumerate(SEARCH_SPACE.items()):
        for i, alt in enumerate(alts):
            layout = "inmotion19" if (k + i) % 2 else "mpii16"
            cases.append((name, alt, layout))
    return cases


def _run(cfg: ArchConfig, layout: str, frames: int = T_SMALL, batch: int = 3) -> None:
    torch.manual_seed(0)
    model = build_model(cfg, layout)
    j = LAYOUT_J[layout]
    x = torch.randn(batch, 6, frames, j)
    logits, cam = model(x)
    assert logits.shape == (batch, 2) and cam.shape == (batch, j)
    (logits.sum() + cam.sum()).backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize(("name", "alt", "layout"), _cases())
def test_every_alternative_builds_and_trains(name: str, alt: object, layout: str) -> None:
    _run(ArchConfig(**{**BASE.to_dict(), name: alt, "main_levels": 2}), layout)


@pytest.mark.parametrize("seed", range(4))
def test_random_configs(seed: int) -> None:
    _run(sample_config(random.Random(seed)), "inmotion19" if seed % 2 else "mpii16")


def test_full_window() -> None:
    _run(sample_config(random.Random(123)), "inmotion19", frames=150, batch=2)


@pytest.mark.parametrize("pooling", ["global", "spatial"])
def test_cam_sums_to_cp_logit(pooling: str) -> None:
    cfg = ArchConfig(pooling=pooling, main_levels=2, attention="joint")
    model = build_model(cfg, "mpii16").eval()
    with torch.no_grad():
        model.fc.bias.fill_(0.37)
        logits, cam = model(torch.randn(4, 6, T_SMALL, 16))
    torch.testing.assert_close(cam.sum(dim=1) + 0.37, logits[:, 1], rtol=1e-5, atol=1e-5)
    assert cam.std() > 0  # the joints do not all contribute the same


def test_pooling_alternatives_differ_in_head() -> None:
    g = build_model(ArchConfig(pooling="global"), "mpii16")
    s = build_model(ArchConfig(pooling="spatial"), "mpii16")
    assert s.fc.in_features == g.fc.in_features * 16


def test_search_space_size_and_serialisation() -> None:
    assert len(SEARCH_SPACE) == 20
    assert N_ARCHITECTURES > 4_000_000_000
    cfg = sample_config(random.Random(7))
    again = ArchConfig.from_json(cfg.to_json())
    assert again == cfg and again.short_id == cfg.short_id
    assert ArchConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.short_id != ArchConfig().short_id or cfg == ArchConfig()
    with pytest.raises(ValueError):
        ArchConfig(input_width=7)
    with pytest.raises(ValueError):
        ArchConfig.from_dict({**cfg.to_dict(), "bogus": 1})


def test_complexity_counts() -> None:
    small = ArchConfig()
    big = ArchConfig(input_modules=3, input_width=12, main_levels=2, main_modules=3, main_width=12)
    assert 0 < count_params(small, "mpii16") < count_params(big, "mpii16")
    f_small = count_flops(small, "mpii16")
    assert 0 < f_small < count_flops(big, "mpii16")
    model = build_model(small, "mpii16")
    assert count_flops(model, 16) == f_small
    assert count_flops(model, 16, frames=300) > f_small


def test_he_normal_fan_out_init() -> None:
    torch.manual_seed(0)
    model = build_model(ArchConfig(input_width=12, main_width=12), "mpii16")
    conv = model.main[0].blocks[0].temporal.body[0].branches[0]
    fan_out = conv.out_channels * conv.kernel_size[0] * conv.kernel_size[1]
    assert abs(conv.weight.std().item() - np.sqrt(2.0 / fan_out)) < 0.25 * np.sqrt(2.0 / fan_out)


@pytest.mark.parametrize("seed", [1, 2])
def test_onnx_export_parity(seed: int, tmp_path) -> None:
    ort = pytest.importorskip("onnxruntime")
    cfg = sample_config(random.Random(seed))
    model = build_model(cfg, "inmotion19").eval()
    path = tmp_path / "m.onnx"
    x = torch.randn(2, 6, 150, 19)
    torch.onnx.export(
        model,
        (x,),
        str(path),
        opset_version=17,
        dynamo=False,
        input_names=["features"],
        output_names=["logits", "cam"],
        dynamic_axes={"features": {0: "batch"}, "logits": {0: "batch"}, "cam": {0: "batch"}},
    )
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x3 = torch.randn(3, 6, 150, 19)
    with torch.no_grad():
        ref_logits, ref_cam = model(x3)
    logits, cam = sess.run(None, {"features": x3.numpy()})
    np.testing.assert_allclose(logits, ref_logits.numpy(), atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(cam, ref_cam.numpy(), atol=1e-4, rtol=1e-4)
