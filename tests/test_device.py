"""The set-up cell must not initialize CUDA: notebook_launcher (lesson 5) can only fork an uninitialized kernel."""
import torch

import course_utils as cu
from course_utils import device as device_mod
from course_utils import precision


def test_setup_leaves_cuda_uninitialized():
    cu.setup()
    assert not torch.cuda.is_initialized()


def _forbid_cuda_init(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("CUDA initialized")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    for name in ("_lazy_init", "get_device_name", "get_device_properties", "current_device",
                 "is_bf16_supported", "mem_get_info", "init"):
        monkeypatch.setattr(torch.cuda, name, boom)


def test_detect_device_on_two_gpus_without_cuda_init(monkeypatch):
    _forbid_cuda_init(monkeypatch)
    kind, name = device_mod.detect_device()
    assert kind == "cuda"
    assert name  # nvidia-smi's name, or the fallback "CUDA GPU"
    assert "2" in name  # the GPU count is part of the description


def test_detect_device_falls_back_to_a_generic_name(monkeypatch):
    _forbid_cuda_init(monkeypatch)
    import accelerate.utils

    def no_smi():
        raise FileNotFoundError("nvidia-smi")

    monkeypatch.setattr(accelerate.utils, "get_gpu_info", no_smi)
    assert device_mod.detect_device() == ("cuda", f"{device_mod.CUDA_FALLBACK_NAME} × 2")


def test_precision_advice_on_gpu_without_cuda_init(monkeypatch):
    _forbid_cuda_init(monkeypatch)
    monkeypatch.setattr(device_mod, "cuda_compute_capability", lambda: (8, 0))
    assert precision.precision_support("cuda") == {"fp16": True, "bf16": True}
    assert precision.mixed_precision_kwargs("cuda") == {"bf16": True}
    monkeypatch.setattr(device_mod, "cuda_compute_capability", lambda: None)  # no nvidia-smi: fp16, no probing
    assert precision.precision_support("cuda") == {"fp16": True, "bf16": False}
    assert precision.precision_advice("cuda", "CUDA GPU")


def test_setup_on_two_gpus_without_cuda_init(monkeypatch):
    _forbid_cuda_init(monkeypatch)
    monkeypatch.setattr(device_mod, "cuda_compute_capability", lambda: (7, 5))
    env = cu.setup()
    assert env.device == "cuda" and env.has_gpu
