"""Where a run trains: accelerator, devices, strategy, nodes and precision, all through Lightning Fabric.

One `Hardware` describes the choice; `fabric()` builds (once) and launches the `Fabric` that
every fit in the process shares. Fabric finds how the processes were started: its own
launcher (`--devices 2 --strategy ddp` re-runs the command once per extra device), `torchrun`
or SLURM, and sets up the process group before any model is built.
"""
from __future__ import annotations

import atexit

import os
from dataclasses import dataclass, field

import torch

from ..errors import UserInputError

ACCELERATORS = ("auto", "cpu", "cuda", "gpu", "mps")
STRATEGIES = ("auto", "ddp", "ddp_spawn", "ddp_find_unused_parameters_true")
PRECISIONS = ("32-true", "32", "16-mixed", "bf16-mixed")
"""Mixed precision runs each step under Fabric's autocast (and its gradient scaler for 16-mixed);
"true" lower or higher precisions would need every task's data converted, so they are not offered."""


def resolve_device(name: str = "auto") -> torch.device:
    """"auto" picks cuda, then mps, then cpu; an unavailable explicit choice is a user error."""
    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserInputError(f"device {name!r} requested but CUDA is not available here (try --device cpu)")
    if name == "mps" and not _mps_available():
        raise UserInputError("device 'mps' requested but MPS is not available here (try --device cpu)")
    if name != "cpu" and not name.startswith("cuda") and name != "mps":
        raise UserInputError(f"unknown device {name!r}; choose auto, cpu, cuda or mps")
    return torch.device(name)


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def _devices(value):
    """--devices: a count, "auto", -1 (all) or a list of indices "0,2"."""
    if value is None or isinstance(value, (int, list)):
        return value
    text = str(value).strip()
    if text == "auto":
        return text
    try:
        if "," in text:
            return [int(part) for part in text.split(",") if part.strip()]
        return int(text)
    except ValueError:
        raise UserInputError(f"--devices {value!r}: give a count (2), auto, -1 (all) or indices (0,1)") from None


def _leave_process_group() -> None:
    """Take the process group down while the interpreter is still whole. Why: a process that exits
    with it up lets gloo's worker threads free tensors during interpreter finalization, and that
    aborts (SIGABRT, exit -6: seen once in 2-process CPU runs here; cf. pytorch/pytorch#179291)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


@dataclass
class Hardware:
    """Fabric's flags. `device` (cpu, cuda, cuda:1, mps, auto) is the one-flag shorthand."""

    accelerator: str | None = None
    devices: int | str | list | None = None
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str = "32-true"
    logger: str | None = None
    _fabric: object = field(default=None, repr=False, compare=False)

    @classmethod
    def from_device(cls, device: str | None = "cpu", **flags) -> "Hardware":
        """`device` unless `flags` name the accelerator; under torchrun the device count comes
        from the launcher (LOCAL_WORLD_SIZE), so `torchrun --nproc_per_node N` needs no flags."""
        flags = {k: v for k, v in flags.items() if v is not None}
        name = (device or "cpu").lower()
        if "accelerator" not in flags:
            if name != "auto":
                resolve_device(name)  # a clear error for an unavailable or unknown device
            kind, _, index = name.partition(":")
            flags["accelerator"] = kind
            if index and "devices" not in flags:
                flags["devices"] = [int(index)] if index.isdigit() else index
        if "devices" not in flags and "LOCAL_WORLD_SIZE" in os.environ:  # torchrun
            flags["devices"] = int(os.environ["LOCAL_WORLD_SIZE"])
            flags.setdefault("num_nodes", max(1, int(os.environ.get("WORLD_SIZE", 1)) // flags["devices"]))
            if flags["devices"] * flags["num_nodes"] > 1:
                flags.setdefault("strategy", "ddp")
        hardware = cls(**flags)
        hardware.check()
        return hardware

    def check(self) -> None:
        """Every flag is checked here, before any process starts or any data is read."""
        if self.accelerator is not None and self.accelerator not in ACCELERATORS:
            raise UserInputError(f"--accelerator {self.accelerator!r}: choose from {', '.join(ACCELERATORS)}")
        if self.accelerator in ("cuda", "gpu") and not torch.cuda.is_available():
            raise UserInputError(f"--accelerator {self.accelerator}: CUDA is not available here (try cpu)")
        if self.accelerator == "mps" and not _mps_available():
            raise UserInputError("--accelerator mps: MPS is not available here (try cpu)")
        self.devices = _devices(self.devices)
        if isinstance(self.devices, int) and (self.devices == 0 or self.devices < -1):
            raise UserInputError(f"--devices {self.devices}: give at least 1 (or -1 for all)")
        if self.strategy not in STRATEGIES:
            raise UserInputError(f"--strategy {self.strategy!r}: choose from {', '.join(STRATEGIES)}")
        if not isinstance(self.num_nodes, int) or self.num_nodes < 1:
            raise UserInputError(f"--num-nodes {self.num_nodes!r}: give at least 1")
        if str(self.precision) not in PRECISIONS:
            raise UserInputError(f"--precision {self.precision!r}: choose from {', '.join(PRECISIONS)}")
        if self.logger not in (None, "none", "csv", "tensorboard"):
            raise UserInputError(f"--logger {self.logger!r}: choose csv or tensorboard")
        if self.logger == "tensorboard":
            try:
                import tensorboard  # noqa: F401
            except ImportError:
                try:
                    import tensorboardX  # noqa: F401
                except ImportError:
                    raise UserInputError("--logger tensorboard needs the tensorboard package "
                                         "(pip install tensorboard), or use --logger csv") from None

    def fabric(self):
        """The launched Fabric for these flags (built once; extra processes start here)."""
        if self._fabric is None:
            from lightning_fabric import Fabric

            devices = self.devices if self.devices is not None else 1
            try:
                fabric = Fabric(accelerator=self.accelerator or "cpu", devices=devices, strategy=self.strategy,
                                num_nodes=self.num_nodes, precision=self.precision)
            except (ValueError, RuntimeError, TypeError) as exc:
                raise UserInputError(f"cannot set up the devices: {str(exc).splitlines()[0]}") from None
            if not fabric._launched:
                fabric.launch()
            if fabric.world_size > 1:
                atexit.register(_leave_process_group)
            self._fabric = fabric
        return self._fabric

    @property
    def is_global_zero(self) -> bool:
        """Rank 0 of the whole run; before launch, read from the launcher's environment
        (torchrun: RANK; SLURM: SLURM_PROCID; Fabric's own launcher: LOCAL_RANK, NODE_RANK)."""
        if self._fabric is not None:
            return self._fabric.is_global_zero
        if "RANK" in os.environ:
            return int(os.environ["RANK"]) == 0
        if "SLURM_PROCID" in os.environ and int(os.environ.get("SLURM_NTASKS", "1")) > 1:
            return int(os.environ["SLURM_PROCID"]) == 0
        return int(os.environ.get("LOCAL_RANK", 0)) == 0 and int(os.environ.get("NODE_RANK", 0)) == 0


_DEFAULT = {}


def default_hardware(device: str | None) -> Hardware:
    """One shared single-device Hardware per device name (for the Python API)."""
    key = device or "cpu"
    if key not in _DEFAULT:
        _DEFAULT[key] = Hardware.from_device(key)
    return _DEFAULT[key]
