"""DistributedDataParallel plumbing: process group from torchrun's environment, device, threads."""

import os
from typing import NamedTuple

import torch
import torch.distributed as dist

from ..devices import resolve_device


class Dist(NamedTuple):
    rank: int
    world: int
    device: torch.device
    owns_group: bool  # this process created the group and must destroy it
    threads: int  # torch's thread count before `setup`, restored by `teardown`

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup(device_name: str, threads: int) -> Dist:
    """Join the process group torchrun describes (WORLD_SIZE > 1), pick this rank's device.

    Backend: NCCL on CUDA, gloo on CPU. Without WORLD_SIZE this is a single process.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = _device(device_name, int(os.environ.get("LOCAL_RANK", "0")) if world > 1 else None)
    owns = False
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend)
        owns = True
    rank = dist.get_rank() if dist.is_initialized() else 0
    world = dist.get_world_size() if dist.is_initialized() else 1
    before = torch.get_num_threads()
    if threads > 0:
        torch.set_num_threads(threads)
    elif world > 1 and device.type == "cpu":
        # Ranks on one machine share its cores; oversubscription slows every rank.
        local = int(os.environ.get("LOCAL_WORLD_SIZE", world))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local))
    return Dist(rank, world, device, owns, before)


def _device(name: str, local_rank: int | None) -> torch.device:
    device = resolve_device(name, "train.device")
    if device.type == "cuda" and local_rank is not None:
        device = torch.device("cuda", local_rank)
    return device


def any_rank(flag: bool, d: Dist) -> bool:
    """`flag` or-reduced over ranks, so every rank stops at the same step."""
    if d.world == 1:
        return flag
    t = torch.tensor([int(flag)], device=d.device if d.device.type == "cuda" else "cpu")
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def barrier(d: Dist) -> None:
    if d.world > 1:
        dist.barrier()


def teardown(d: Dist) -> None:
    torch.set_num_threads(d.threads)
    if d.owns_group and dist.is_initialized():
        dist.destroy_process_group()
