"""The one training loop. Methods supply a `TrainingTask` (modules, optimisers, one batch's
step); the `Engine` owns everything else, the same way for every method:

* epochs and batches: each epoch's order is a permutation drawn from (seed, epoch); with
  several processes every global batch is split between the ranks (what a DistributedSampler
  does), so the same global batches are seen whatever the world size;
* random numbers: a per-run `torch.Generator`, reseeded from (seed, epoch, rank) at every
  epoch, so no global state is touched and a resumed epoch redraws exactly what it drew;
* devices and precision through Lightning Fabric; gradients are averaged across ranks
  before every optimiser step (what DDP does, without wrapping models whose methods other
  than `forward` take part in a step, as a GAN's do);
* learning-rate schedules, early stopping (its state in the checkpoint), progress on rank 0,
  the loss log (JSON lines) and optional Fabric loggers (csv, tensorboard);
* checkpoints written atomically by rank 0 at the end of every `checkpoint_every`-th epoch
  and loaded by every rank: a run killed at any moment and started again with the same
  command redoes the interrupted epoch and ends as if never stopped, and a larger epoch
  budget continues a finished run.
"""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from .checkpoints import Checkpointer
from .hardware import Hardware, default_hardware
from .progress import LossLog, Progress

CHECKPOINT_EVERY = 1
"""The one default for every method: a checkpoint at the end of every epoch."""


def make_generator(seed: int, *keys: int, device="cpu") -> torch.Generator:
    """A torch.Generator seeded from (seed, *keys) through NumPy's SeedSequence (no global state)."""
    entropy = [int(seed) % 2**63] + [int(k) % 2**63 for k in keys]
    state = int(np.random.SeedSequence(entropy).generate_state(2, dtype=np.uint64)[0] % 2**63)
    return torch.Generator(device=device).manual_seed(state)


class EarlyStopping:
    """Stop when `watch()` (e.g. the generators) has moved by less than `tolerance` (1 - the
    `distance` similarity) at `patience` consecutive checks, `every` steps apart, once `ready()`."""

    def __init__(self, watch: Callable[[], torch.Tensor], similarity: Callable, *, every: int = 20,
                 patience: int = 3, tolerance: float = 1e-3, ready: Callable[[], bool] = lambda: True):
        self.watch, self.similarity, self.ready = watch, similarity, ready
        self.every, self.patience, self.tolerance = max(1, int(every)), int(patience), float(tolerance)
        self.previous = watch().detach().clone()
        self.stable = 0

    def check(self, step: int) -> bool:
        """Called after every step; True when training should stop."""
        if step % self.every:
            return False
        current = self.watch().detach()
        settled = float(self.similarity(self.previous.to(current.device), current)) > 1 - self.tolerance
        self.previous = current.clone()
        self.stable = self.stable + 1 if settled else 0
        return self.stable >= self.patience and self.ready()

    def reset(self) -> None:
        self.stable = 0

    def state_dict(self) -> dict:
        return {"previous": self.previous.cpu(), "stable": self.stable}

    def load_state_dict(self, state: dict) -> None:
        self.previous = state["previous"].to(self.previous.device)
        self.stable = int(state["stable"])


class TrainingTask:
    """What a method supplies. Subclasses implement `configure` and `training_step`.

    `configure(rng)` -> (modules, optimisers), two dicts by name; build from `rng` only.
    `training_step(batch, run)` -> {loss name: float} for one batch: `batch` holds this
    rank's sample indices (on the run's device); use `run.update(loss, name)` (or, for finer
    control, `run.zero_grad(name)`, `run.backward(loss)`, `run.step(name)`), and draw random
    numbers from `run.rng`.
    Optional: `early_stopping` (set in configure), `lr_factor(step, total_steps)`, `uses_budget`,
    and the hooks below.
    """

    early_stopping: EarlyStopping | None = None
    uses_budget = False  # True when what an epoch does depends on the epoch budget (a cosine schedule
    # to the last epoch, a phase that starts at `epochs`): then more epochs do not continue a run exactly

    def configure(self, rng: torch.Generator):
        raise NotImplementedError

    def training_step(self, batch: torch.Tensor, run: "Run") -> dict:
        raise NotImplementedError

    def lr_factor(self, step: int, total_steps: int) -> float | dict:
        """Multiplier of every optimiser's initial lr at `step` (or {optimiser name: factor})."""
        return 1.0

    def on_train_start(self, run: "Run") -> None:
        """After modules are built and any checkpoint loaded (run.resumed tells which)."""

    def on_epoch_start(self, epoch: int, run: "Run") -> None:
        pass

    def on_epoch_end(self, epoch: int, row: dict, run: "Run") -> None:
        """After the epoch's mean losses are known, before the log row and checkpoint."""

    def on_train_end(self, run: "Run") -> None:
        pass

    def should_stop(self, run: "Run") -> bool:
        return False

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class DataTask(TrainingTask):
    """A task on tensors x and y (y may be None) that the engine's batches index: they go to the
    run's device when training starts, and `self.samples(batch)` -> (xb, yb)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor | None = None):
        self.x_data, self.y_data = x, y

    def on_train_start(self, run: "Run") -> None:
        self.x = self.x_data.to(run.device)
        self.y = None if self.y_data is None else self.y_data.to(run.device)

    def samples(self, batch: torch.Tensor) -> tuple:
        return self.x[batch], None if self.y is None else self.y[batch]


class Run:
    """One fit's live state, handed to the task's step: device, rank, rng, modules, optimisers."""

    def __init__(self, fabric, modules: dict, optimizers: dict, epochs: int):
        self.fabric = fabric
        self.device = fabric.device
        self.rank, self.world_size = fabric.global_rank, fabric.world_size
        self.modules, self.optimizers = modules, optimizers
        self.epochs = epochs
        self.epoch = 0
        self.step_count = 0
        self.epochs_run = 0
        self.stopped_early = False
        self.previous_seconds = 0.0
        self.resumed = False
        self.resumed_epoch = -1
        self.history: list[dict] = []
        self._rng_keys, self._rng = (0,), None

    @property
    def rng(self) -> torch.Generator:
        """This epoch's generator, seeded from (seed, epoch, rank); made when first asked for, so
        an epoch that draws nothing costs nothing (short fits run hundreds of one-batch epochs)."""
        if self._rng is None:
            self._rng = make_generator(*self._rng_keys, device=self.device)
        return self._rng

    def reseed(self, seed: int, epoch: int) -> None:
        self._rng_keys, self._rng = (seed, 2, epoch, self.rank), None

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        self.fabric.backward(loss, **kwargs)

    def zero_grad(self, *names: str) -> None:
        for name in names or self.optimizers:
            self.optimizers[name].zero_grad(set_to_none=True)

    def update(self, loss: torch.Tensor, *names: str) -> None:
        """One optimisation step of these optimisers on `loss`: zero their gradients, backpropagate, step."""
        self.zero_grad(*names)
        self.backward(loss)
        self.step(*names)

    def step(self, *names: str) -> None:
        """Average the gradients across ranks, then step these optimisers."""
        for name in names:
            optimizer = self.optimizers[name]
            if self.world_size > 1:
                self._average_gradients(optimizer)
            optimizer.step()

    def _average_gradients(self, optimizer) -> None:
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        flat = self.fabric.all_reduce(flat, reduce_op="mean")
        offset = 0
        for g in grads:
            g.copy_(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()

    def mean_over_ranks(self, values: dict) -> dict:
        if self.world_size == 1 or not values:
            return values
        keys = sorted(values)
        tensor = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=self.device)
        tensor = self.fabric.all_reduce(tensor, reduce_op="mean")
        return dict(zip(keys, tensor.cpu().tolist()))


def _loggers(kind: str | None, out, tag: str):
    if not kind or kind == "none" or out is None:
        return []
    name = tag or "train"
    if kind == "csv":
        from lightning_fabric.loggers import CSVLogger

        return [CSVLogger(root_dir=str(Path(out) / "logs"), name=name, version=0)]
    from lightning_fabric.loggers import TensorBoardLogger

    return [TensorBoardLogger(root_dir=str(Path(out) / "logs"), name=name, version=0)]


class Engine:
    """Runs TrainingTasks on one Hardware; `out` (a folder, or None) holds checkpoints and logs."""

    def __init__(self, hardware: Hardware | None = None, *, out=None, progress: bool = True,
                 checkpoint_every: int = CHECKPOINT_EVERY):
        self.hardware = hardware or default_hardware("cpu")
        self.out = None if out is None else Path(out)
        self.progress = progress
        self.checkpoint_every = checkpoint_every

    @property
    def fabric(self):
        return self.hardware.fabric()

    def fit(self, task: TrainingTask, *, n_samples: int, batch_size: int, epochs: int, seed: int,
            fingerprint=None, tag: str = "", desc: str = "") -> Run:
        """Train `task` for `epochs` epochs of ceil(n_samples / batch_size) global batches."""
        from .lock import locked

        fabric = self.fabric
        rank0 = fabric.is_global_zero
        out = self.out
        with locked(out if rank0 else None):
            return self._fit(task, fabric, rank0, n_samples, batch_size, epochs, seed, fingerprint, tag, desc)

    def _fit(self, task, fabric, rank0, n_samples, batch_size, epochs, seed, fingerprint, tag, desc) -> Run:
        session_start = time.perf_counter()
        prefix = f"{tag}_" if tag else ""
        log_name = f"{prefix}losses.jsonl"
        with torch.random.fork_rng(devices=[]):  # layers that draw from torch's global RNG, scoped
            torch.manual_seed(int(make_generator(seed, 3).initial_seed()))
            modules, optimizers = task.configure(make_generator(seed, 0))
        if callable(fingerprint):  # a fingerprint that reads the built modules (downstream models)
            fingerprint = fingerprint(modules)
        modules = {k: m.to(fabric.device) for k, m in modules.items()}
        names = list(optimizers)
        wrapped = fabric.setup_optimizers(*optimizers.values()) if names else ()
        wrapped = wrapped if isinstance(wrapped, tuple) else (wrapped,)
        optimizers = dict(zip(names, wrapped))
        base_lrs = {k: [g["lr"] for g in opt.param_groups] for k, opt in optimizers.items()}
        run = Run(fabric, modules, optimizers, epochs)
        stopper = task.early_stopping

        checkpoints = Checkpointer(self.out, every=self.checkpoint_every, name=f"{prefix}checkpoint.pt",
                                   fingerprint=fingerprint, companions=[log_name])
        saved = None
        if self.out is not None:
            if rank0:
                saved = checkpoints.load()
                if saved is not None and saved[1]["engine"]["epoch_done"] + 1 > epochs:
                    print(f"symdisco: {checkpoints.path} holds {saved[1]['engine']['epoch_done'] + 1} epochs, "
                          f"more than the {epochs} asked for; starting afresh", file=sys.stderr)
                    checkpoints._set_aside("longer", "", quiet=True)
                    saved = None
            if run.world_size > 1:
                fabric.barrier()
                if not rank0:
                    saved = checkpoints.load(quiet=True) if checkpoints.path.is_file() else None
                resumed_here = torch.tensor([0 if saved is None else 1], device=fabric.device)
                if int(fabric.all_reduce(resumed_here, reduce_op="sum")) not in (0, run.world_size):
                    raise RuntimeError("ranks disagree on the checkpoint to resume from")
        log = LossLog(self.out / log_name if self.out is not None and rank0 else None)
        if saved is not None:
            last, states = saved
            for key, module in modules.items():
                module.load_state_dict(states["modules"][key])
            for key, opt in optimizers.items():
                opt.load_state_dict(states["optimizers"][key])
            task.load_state_dict(states["task"])
            engine = states["engine"]
            if stopper is not None and engine.get("early_stopping") is not None:
                stopper.load_state_dict(engine["early_stopping"])
            run.step_count, run.epochs_run = int(engine["step"]), int(engine["epochs_run"])
            run.stopped_early, run.previous_seconds = bool(engine["stopped_early"]), float(engine["seconds"])
            run.resumed, run.resumed_epoch = True, last
            if task.uses_budget and int(engine["budget"]) != epochs and last + 1 < epochs:
                print(f"symdisco: this run's schedule depends on the epoch budget; epochs {last + 1}..{epochs} "
                      f"follow the {epochs}-epoch schedule (a single {epochs}-epoch run would differ)",
                      file=sys.stderr)
            log.truncate(last)
        else:
            log.truncate(-1)  # a fresh start: rows of an earlier, unfinished attempt go
        first = run.resumed_epoch + 1
        task.on_train_start(run)

        steps_per_epoch = max(1, math.ceil(n_samples / batch_size))
        total_steps = epochs * steps_per_epoch
        loggers = _loggers(self.hardware.logger, self.out, tag) if rank0 else []
        bar = Progress(total_steps, desc=desc, enabled=self.progress and rank0,
                       initial=min(total_steps, first * steps_per_epoch))
        epoch = first
        try:
            for epoch in range(first, epochs):
                if run.stopped_early:
                    break
                run.epoch = epoch
                run.epochs_run = epoch + 1
                epoch_start = time.perf_counter()
                order = torch.randperm(n_samples, generator=make_generator(seed, 1, epoch))
                run.reseed(seed, epoch)
                task.on_epoch_start(epoch, run)
                totals: dict[str, float] = {}
                done = 0
                for i in range(steps_per_epoch):
                    batch = self._shard(order, i, batch_size, run)
                    self._set_lr(task, optimizers, base_lrs, run.step_count, total_steps)
                    with fabric.autocast():
                        losses = task.training_step(batch.to(fabric.device), run)
                    run.step_count += 1
                    done += 1
                    for key, value in losses.items():
                        totals[key] = totals.get(key, 0.0) + float(value)
                    bar.update(1, **{k: float(v) for k, v in list(losses.items())[:3]})
                    stop = task.should_stop(run)
                    if stopper is not None and stopper.check(run.step_count):
                        stop = run.stopped_early = True
                    if run.world_size > 1 and stopper is not None and run.step_count % stopper.every == 0:
                        stop = run.stopped_early = bool(fabric.broadcast(run.stopped_early, src=0))
                    if stop:
                        break
                row = run.mean_over_ranks({k: v / done for k, v in totals.items()})
                row["epoch_seconds"] = time.perf_counter() - epoch_start  # this rank's wall time
                task.on_epoch_end(epoch, row, run)
                if rank0:
                    row = log.write(epoch, **row)
                    for logger in loggers:
                        logger.log_metrics({k: v for k, v in row.items() if k != "epoch" and v is not None},
                                           step=epoch)
                if rank0 and (checkpoints.due(epoch) or epoch == epochs - 1 or run.stopped_early):
                    seconds = run.previous_seconds + time.perf_counter() - session_start
                    checkpoints.save(epoch, modules={k: m.state_dict() for k, m in modules.items()},
                                     optimizers={k: o.state_dict() for k, o in optimizers.items()},
                                     task=task.state_dict(),
                                     engine={"step": run.step_count, "epochs_run": run.epochs_run,
                                             "epoch_done": epoch, "stopped_early": run.stopped_early,
                                             "seconds": seconds, "budget": epochs,
                                             "early_stopping": None if stopper is None else stopper.state_dict()})
        finally:
            bar.close()
            for logger in loggers:
                logger.finalize("success")
        task.on_train_end(run)
        run.history = log.rows if rank0 else []
        run.seconds = run.previous_seconds + time.perf_counter() - session_start
        return run

    @staticmethod
    def _shard(order: torch.Tensor, i: int, batch_size: int, run: Run) -> torch.Tensor:
        """This rank's part of global batch i (every rank gets at least one sample)."""
        batch = order[i * batch_size:(i + 1) * batch_size]
        if run.world_size == 1:
            return batch
        if len(batch) < run.world_size:
            batch = torch.cat([batch, order[:run.world_size - len(batch)]])
        return batch[run.rank::run.world_size]

    @staticmethod
    def _set_lr(task, optimizers, base_lrs, step, total_steps) -> None:
        factor = task.lr_factor(step, total_steps)
        if isinstance(factor, (int, float)) and factor == 1.0:
            return
        for key, opt in optimizers.items():
            f = factor.get(key, 1.0) if isinstance(factor, dict) else factor
            for group, base in zip(opt.param_groups, base_lrs[key]):
                group["lr"] = base * f
