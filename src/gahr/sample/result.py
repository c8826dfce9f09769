"""What a sampler returns, and how it is written to disk."""

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..io import atomic_path


@dataclass
class SampleResult:
    """Samples of a batched coarse-to-fine ascent.

    `samples` (n, C, H, W): sample i came from seed `seeds[i]`; the rows of failed samples are
    NaN, so a failed sample can never pass for an image. `steps` (n,): denoiser calls per sample.
    `sigmas`: per sample, the effective noise sigma_t = |d_t| / sqrt(D) at each call.
    `failed`: indices of samples that diverged, went non-finite or ran out of steps, with the
    reason in `reasons`. `stalled`: samples that `Schedule.stall` stopped early and that count
    as converged, with the sigma_t of the iterate returned.
    """

    samples: torch.Tensor
    steps: torch.Tensor
    sigmas: list[torch.Tensor]
    failed: list[int] = field(default_factory=list)
    reasons: dict[int, str] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=list)
    stalled: dict[int, float] = field(default_factory=dict)

    @property
    def ok(self) -> torch.Tensor:
        """Boolean mask (n,) of the samples that converged."""
        mask = torch.ones(len(self.samples), dtype=torch.bool)
        mask[self.failed] = False
        return mask

    def good(self) -> torch.Tensor:
        """The converged samples only, in order."""
        return self.samples[self.ok.to(self.samples.device)]

    def summary(self) -> str:
        n = len(self.samples)
        calls = self.steps.double()
        line = (f"{n - len(self.failed)}/{n} samples converged; denoiser calls per sample: "
                f"mean {calls.mean():.1f}, min {int(calls.min())}, max {int(calls.max())}")
        if self.stalled:
            shown = ", ".join(f"#{i} at {s:.3g}" for i, s in list(self.stalled.items())[:5])
            line += (f"; {len(self.stalled)} stopped early at their lowest sigma_t (stall): "
                     f"{shown}")
        if self.failed:
            first = self.failed[0]
            more = ", ..." if len(self.failed) > 10 else ""
            line += (f"; FAILED: {len(self.failed)} sample(s), #"
                     f"{', #'.join(map(str, self.failed[:10]))}{more} (e.g. #{first}: "
                     f"{self.reasons[first]})")
        return line

    def save(self, path, **extra) -> Path:
        """Write an .npz (atomically): samples (NaN rows for the failed ones), steps, seeds,
        failed, stalled (with stalled_sigma), the failure reasons (JSON), the sigma_t
        trajectories as an (n, max steps) array padded with NaN, and any `extra` arrays."""
        path = Path(path)
        longest = max((len(s) for s in self.sigmas), default=0)
        traj = np.full((len(self.sigmas), longest), np.nan)
        for i, s in enumerate(self.sigmas):
            traj[i, :len(s)] = s.cpu().numpy()
        arrays = dict(samples=self.samples.detach().cpu().numpy(),
                      steps=self.steps.cpu().numpy(), seeds=np.asarray(self.seeds, dtype=np.int64),
                      failed=np.asarray(self.failed, dtype=np.int64), sigmas=traj,
                      stalled=np.asarray(list(self.stalled), dtype=np.int64),
                      stalled_sigma=np.asarray(list(self.stalled.values()), dtype=np.float64),
                      sigma_lengths=np.asarray([len(s) for s in self.sigmas], dtype=np.int64),
                      reasons=np.asarray(json.dumps({str(i): r for i, r in self.reasons.items()})),
                      **extra)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)
        return path

    @classmethod
    def concat(cls, parts: list["SampleResult"]) -> "SampleResult":
        """One result of several drawn one after the other (indices shifted to match)."""
        failed, reasons, stalled, offset = [], {}, {}, 0
        for part in parts:
            failed += [offset + i for i in part.failed]
            reasons.update({offset + i: r for i, r in part.reasons.items()})
            stalled.update({offset + i: s for i, s in part.stalled.items()})
            offset += len(part.samples)
        return cls(torch.cat([p.samples.detach().cpu() for p in parts]),
                   torch.cat([p.steps.cpu() for p in parts]),
                   [s.cpu() for p in parts for s in p.sigmas], failed, reasons,
                   [s for p in parts for s in p.seeds], stalled)

    @classmethod
    def load(cls, path) -> "SampleResult":
        """Read what `save` wrote (the failure reasons too, when it recorded them)."""
        with np.load(path, allow_pickle=False) as f:
            lengths = f["sigma_lengths"] if "sigma_lengths" in f else [
                int((~np.isnan(row)).sum()) for row in f["sigmas"]]
            sigmas = [torch.from_numpy(row[:k]) for row, k in zip(f["sigmas"], lengths,
                                                                   strict=True)]
            failed = [int(i) for i in f["failed"]]
            reasons = json.loads(str(f["reasons"])) if "reasons" in f else {}
            return cls(torch.from_numpy(f["samples"]), torch.from_numpy(f["steps"]), sigmas,
                       failed, {int(i): r for i, r in reasons.items()},
                       [int(s) for s in f["seeds"]],
                       dict(zip((int(i) for i in f["stalled"]),
                                (float(s) for s in f["stalled_sigma"]), strict=True)))
