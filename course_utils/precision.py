"""Mixed precision: what this hardware supports and which TrainingArguments to use.

Used by lesson 4 (and the device line of every set-up cell).
"""
from __future__ import annotations

from . import messages


def cpu_bf16_supported() -> bool:
    """True when this CPU has native bf16 instructions (AVX512-BF16 or AMX).

    Asks torch first, as lesson 4 does (``torch.cpu.get_capabilities``, any OS), then Linux's /proc/cpuinfo."""
    try:
        import torch

        if hasattr(torch.cpu, "get_capabilities"):
            capabilities = torch.cpu.get_capabilities()
            return bool(capabilities.get("avx512_bf16") or capabilities.get("amx_bf16"))
    except Exception:  # an old or broken torch: fall back to the kernel's list of flags
        pass
    try:
        flags = open("/proc/cpuinfo", encoding="utf-8").read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def cuda_native_bf16() -> bool:
    """Native bf16 on the first GPU (compute capability 8.0+), without initializing CUDA.

    torch.cuda.is_bf16_supported() reads the device properties, which initializes CUDA in this process;
    after that notebook_launcher can no longer fork GPU processes (lesson 5). So nvidia-smi answers first,
    torch only when CUDA is initialized already, and otherwise the safe answer is no (fp16).
    """
    import torch

    from .device import cuda_compute_capability

    capability = cuda_compute_capability()
    if capability is not None:
        return capability[0] >= 8
    if torch.cuda.is_initialized():
        return torch.cuda.is_bf16_supported(including_emulation=False)
    return False


def precision_support(device: str | None = None) -> dict[str, bool]:
    """Which of fp16 / bf16 mixed precision make sense on this device."""
    from .device import detect_device

    device = device or detect_device()[0]
    if device == "cuda":
        # Native bf16 only (Ampere and newer): emulated bf16 on a T4 is slower than fp16.
        return {"fp16": True, "bf16": cuda_native_bf16()}
    return {"fp16": False, "bf16": device == "cpu" and cpu_bf16_supported()}


def mixed_precision_kwargs(device: str | None = None) -> dict[str, bool]:
    """TrainingArguments keywords for the best mixed precision here ({} = fp32); lesson 4 explains and measures them.

    CUDA: bf16=True where native (Ampere and newer), else fp16=True.
    CPU with native bf16 (AVX512-BF16 or AMX): bf16=True with use_cpu=True (without use_cpu=True, TrainingArguments
    refuses bf16 on a machine with no GPU); on this course's 2-core test machine the 3-epoch MRPC recipe trains 1.24x faster than
    in fp32 (benchmarks/README.md). Other CPUs and MPS: nothing; bf16 autocast runs on any CPU but is not expected to be faster without the
    instructions.
    """
    from .device import detect_device

    device = device or detect_device()[0]
    support = precision_support(device)
    if device == "cuda":
        return {"bf16": True} if support["bf16"] else {"fp16": True}
    if device == "cpu" and support["bf16"]:
        return {"bf16": True, "use_cpu": True}
    return {}


def precision_advice(device: str, name: str) -> str:
    """One sentence on mixed precision for this device, in the learner's language."""
    support = precision_support(device)
    if device == "cuda":
        return messages.text("precision_cuda_bf16" if support["bf16"] else "precision_cuda_fp16", name=name)
    if device == "mps":
        return messages.text("precision_mps")
    cpu_case = "precision_cpu_bf16" if support["bf16"] else "precision_cpu_fp32"
    return messages.text("precision_cpu", bf16=messages.text(cpu_case))
