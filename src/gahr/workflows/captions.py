"""What the report says, computed from its numbers: a claim appears only where they support it.

Each function takes plain dicts of measured numbers (the per-N summary rows of
`gahr.workflows.summary`: medians as {"value", "low", "high"} bootstrap intervals) and returns
sentences. A claim is made when the median is past its threshold (the paper's regimes as the
demo's targets state them); otherwise the sentence states the numbers and the thresholds,
neutrally. The interval is printed beside every median so the reader can judge its support.
"""

import math

from ..analysis.bootstrap import MIN_VALUES, too_few

#: Median cosine of a sample to its nearest training image at or above which samples are
#: called copies of training images (memorization).
COPY = 0.95
#: Median same-seed S1/S2 cosine at or below which the two models draw different images.
DIFFERENT = 0.6
#: Median same-seed S1/S2 cosine at or above which both models draw nearly the same image.
SAME = 0.9
#: Train - test PSNR gaps (dB): at least MEMORIZED, the model denoises its own images better;
#: at most GENERALIZED, it denoises new images about as well.
MEMORIZED_DB, GENERALIZED_DB = 3.0, 1.0
#: Correlation above which two images count as one image repeated
#: (`gahr.data.cross_duplicates`). Not the paper's dedup threshold 0.95: a densely sampled
#: low-dimensional class has close neighbours that are different images (at 0.95, 1830 of 2248
#: S2 discs at 32x32 would "repeat" S1; at 0.999, 30 of 2000).
REPEAT_CORRELATION = 0.999
#: Share of the S2 images that repeat an S1 image at or above which S1 and S2 are not called
#: disjoint and no verdict is given. Two memorizers agree on a seed only where both land on a
#: shared image, so the median same-seed similarity needs about half the images shared to
#: move; a tenth is a wide margin, and stays clear of the rare close pairs of a densely
#: sampled synthetic class (30 of 2000 discs at 32x32).
REPEATED = 0.1
#: Energy share of the clean image in the top eigenvectors at or above which the caption says
#: the energy concentrates there (and at least this many times the share of a random basis).
CONCENTRATED, OVER_RANDOM = 0.5, 3.0


def fmt(interval: dict | None, spec: str = ".2f") -> str:
    """'0.97 [0.95, 0.99]' (median and bootstrap interval), '0.97 (3 values: too few for an
    interval)' below `MIN_VALUES`, or 'n/a'."""
    if not interval:
        return "n/a"
    if interval.get("n", MIN_VALUES) < MIN_VALUES:
        return f"{interval['value']:{spec}} ({too_few(interval['n'])})"
    return (f"{interval['value']:{spec}} [{interval['low']:{spec}}, "
            f"{interval['high']:{spec}}]")


def _value(interval: dict | None) -> float | None:
    return None if not interval else interval["value"]


def overlap_share(row: dict) -> float:
    """The share of S2 images that repeat an S1 image (`row["overlap"]`; 0 when unchecked)."""
    o = row.get("overlap") or {}
    return (o.get("S2_in_S1") or 0) / max(o.get("n") or 1, 1)


def overlapping(row: dict) -> bool:
    """True when at least REPEATED of the S2 images repeat an S1 image: no verdict."""
    return overlap_share(row) >= REPEATED


def too_few_pairs(row: dict) -> bool:
    """True when fewer than MIN_VALUES same-seed pairs (or none) converged at this N."""
    same = row.get("same_seed")
    return not same or same.get("n", MIN_VALUES) < MIN_VALUES


def unseen_as_close(row: dict) -> bool:
    """True when the samples are as close to images their model never saw (the other-set
    median) as to its own training images (the own-set interval's lower end or above): their
    closeness to training images is then the density of the class, not copying."""
    own, other = row.get("nearest"), _value(row.get("nearest_other"))
    return bool(own) and other is not None and other >= own["low"]


def copies_own(row: dict) -> bool:
    """True when the samples copy their model's own training images: the nearest-training
    median at or above COPY, and not as close to the other model's set (`unseen_as_close`)."""
    copy = _value(row.get("nearest"))
    return copy is not None and copy >= COPY and not unseen_as_close(row)


def regime(row: dict) -> str:
    """'overlap' (S1 and S2 share images: no verdict), 'too few' (fewer than MIN_VALUES
    same-seed pairs: no verdict), else 'memorization', 'generalization', 'copies', 'different',
    'same' or 'neither', from the medians of one N (see the thresholds above)."""
    if overlapping(row):
        return "overlap"
    if too_few_pairs(row):
        return "too few"
    same = _value(row.get("same_seed"))
    copies = copies_own(row)
    if copies and same is not None and same <= DIFFERENT:
        return "memorization"
    if same is not None and same >= SAME:
        return "same" if copies or _value(row.get("nearest")) is None else "generalization"
    if copies:
        return "copies"
    if same is not None and same <= DIFFERENT:
        return "different"
    return "neither"


def similarity_sentence(row: dict) -> str:
    """One sentence on the samples at one N: what they are, with the medians that say so."""
    n = row["N"]
    near = f"nearest-training similarity {fmt(row.get('nearest'))}"
    same = f"same-seed similarity {fmt(row.get('same_seed'))}"
    kind = regime(row)
    if kind in VERDICTLESS:
        return VERDICTLESS[kind](row)
    if kind == "memorization":
        return (f"At N={n} the samples are copies of training images ({near}) and the two "
                f"models draw different images from one seed ({same}): memorization.")
    if kind == "generalization":
        return (f"At N={n} both models draw nearly the same image from one seed ({same}), and "
                f"it is not a copy of a training image: {_not_copied(row)}: generalization.")
    if kind == "same":
        return (f"At N={n} both models draw nearly the same image from one seed ({same}), as "
                f"close to a training image as a copy ({near}).")
    if kind == "copies":
        return (f"At N={n} the samples are copies of training images ({near}), but the two "
                f"models' samples from one seed are neither different nor the same ({same}).")
    if kind == "different":
        return (f"At N={n} the two models draw different images from one seed ({same}), but "
                f"not copies of training images ({near}).")
    return f"At N={n} the samples are neither copies nor shared by the two models ({near}, {same})."


def _overlap_sentence(row: dict) -> str:
    o = row["overlap"]
    return (f"At N={row['N']} S1 and S2 are not disjoint: {o['S2_in_S1']} of the {o['n']} S2 "
            f"images repeat an S1 image (correlation > {o['threshold']:g}), so the two models' "
            "agreement says nothing about generalization: no verdict. Remove the repeated "
            "images (gahr.data.remove_near_duplicates) and train again.")


def _too_few_sentence(row: dict) -> str:
    same = row.get("same_seed")
    k = 0 if not same else same["n"]
    return (f"At N={row['N']} {k} same-seed pair{'s' * (k != 1)} converged; at least "
            f"{MIN_VALUES} are needed for a 95% interval and a verdict: no verdict (raise "
            "memorization.num_samples).")


#: The sentence of each regime that gives no verdict.
VERDICTLESS = {"overlap": _overlap_sentence, "too few": _too_few_sentence}


def overlap_warnings(rows: list[dict]) -> list[str]:
    """One warning per N at which S1 and S2 are not disjoint (`overlapping`)."""
    return [f"warning: at N={r['N']} {r['overlap']['S2_in_S1']} of the {r['overlap']['n']} S2 "
            "images repeat an S1 image: S1 and S2 are not disjoint, no verdict at this N"
            for r in rows if overlapping(r)]


def verdict_notes(rows: list[dict]) -> list[str]:
    """'note: ...' for every N given no verdict (`VERDICTLESS`): S1 and S2 not disjoint, or too
    few same-seed pairs; the sentence says why and what to change."""
    return [f"note: {VERDICTLESS[regime(r)](r)}" for r in rows if regime(r) in VERDICTLESS]


def _not_copied(row: dict) -> str:
    """Why the samples at one N are not copies, with the numbers."""
    near = f"nearest-training similarity {fmt(row.get('nearest'))}"
    other = row.get("nearest_other")
    if other is None:
        return near
    unseen = f"other-set similarity {fmt(other)}"
    if unseen_as_close(row):
        return (f"it is as close to images that model never saw ({unseen}) as to its own "
                f"training images ({near})")
    return f"{near}, against {unseen} to images that model never saw"


def thresholds_text() -> str:
    """The thresholds the claims use, for a caption."""
    return (f"Thresholds on the medians: copies from {COPY:g}, different images up to "
            f"{DIFFERENT:g}, the same image from {SAME:g}.")


def headline(rows: list[dict]) -> str:
    """The page's first caption: the samples at the smallest and the largest N."""
    if not rows:
        return "No value of N was analysed."
    ends = [rows[0]] if len(rows) == 1 else [rows[0], rows[-1]]
    shared = [r for r in rows[1:-1] if overlapping(r)]  # never left unsaid
    return " ".join([*(similarity_sentence(r) for r in ends),
                     *(_overlap_sentence(r) for r in shared), thresholds_text()])


def gap_sentence(row: dict) -> str:
    """The train - test PSNR gap of one N, as a claim only past its thresholds."""
    gap, n, s = row.get("gap_db"), row["N"], f"{row.get('gap_sigma255', 25):g}/255"
    if gap is None or not math.isfinite(gap):
        return f"At N={n} the train - test PSNR gap at sigma = {s} is undefined."
    if gap >= MEMORIZED_DB:
        return (f"At N={n} the models denoise their own training images {gap:.1f} dB better "
                f"than new images (sigma = {s}).")
    if gap <= GENERALIZED_DB:
        return (f"At N={n} the models denoise new images about as well as their training "
                f"images (gap {gap:.1f} dB at sigma = {s}).")
    return f"At N={n} the train - test PSNR gap at sigma = {s} is {gap:.1f} dB."


def effective_dimension_sentence(small: dict, large: dict, sigma: float, dimension: int,
                                 reference: float | None = None) -> str:
    """tr J of the smallest- and largest-N models at one sigma, with the comparisons the
    numbers support ("almost none" only below one dimension)."""
    a, b = small["effective_dimension"], large["effective_dimension"]
    text = (f"At sigma = {sigma:g}, tr J is {_trace(small)} at N={small['N']} and "
            f"{_trace(large)} at N={large['N']} (of {dimension} dimensions).")
    if a < 1:
        text += f" The N={small['N']} model keeps almost no dimension."
    elif a < 0.5 * b:
        text += f" The N={small['N']} model keeps fewer dimensions than the N={large['N']} one."
    elif b < 0.5 * a:
        text += f" The N={large['N']} model keeps fewer dimensions than the N={small['N']} one."
    if reference is not None:
        near = 0.5 * reference <= b <= 2 * reference
        text += (f" The N={large['N']} model's tr J is {'within' if near else 'not within'} a "
                 f"factor 2 of the manifold dimension {reference:g} (dashed).")
    return text


def _trace(row: dict) -> str:
    """tr J of one row: the median with its interval when the row has one."""
    interval = row.get("effective_dimension_interval")
    return fmt(interval, ".1f") if interval else f"{row['effective_dimension']:.1f}"


def energy_sentence(share: float, top: int, dimension: int) -> str:
    """Where the clean image's contrast sits in the eigenbasis: `share` of the energy of
    x - mean(x) in the top `top` eigenvectors, against top / dimension for a random basis."""
    chance = top / dimension
    where = (f"{100 * share:.0f}% of the energy of the clean image minus its mean lies in the "
             f"top {top} eigenvectors")
    if share >= CONCENTRATED and share >= OVER_RANDOM * chance:
        return f"The energy concentrates in the top eigenvectors: {where} ({100 * chance:.0f}% " \
               "in a random basis)."
    return f"The energy is not concentrated in the top eigenvectors: {where}, against " \
           f"{100 * chance:.0f}% in a random basis."


def eigenvalue_sentence(lambdas, tolerance: float = 0.05) -> str:
    """The range of the eigenvalues, against the MMSE denoiser's Jacobian Cov[x | y] / sigma^2
    (Miyasawa 1961), whose eigenvalues are never negative; "shrinkage factors in [0, 1]" only
    when every eigenvalue is within `tolerance` of that range."""
    values = [float(v) for v in lambdas]
    lo, hi = min(values), max(values)
    text = f"The eigenvalues run from {hi:.2f} down to {lo:.2f}"
    negative = sum(v < -tolerance for v in values)
    if negative:
        return (text + f"; {negative} of {len(values)} are below -{tolerance:g}, which the "
                "Jacobian of an MMSE denoiser, Cov[x | y] / sigma^2, never has.")
    if hi <= 1 + tolerance:
        return text + ": shrinkage factors between 0 and 1."
    return text + ": none negative, as for an MMSE denoiser."
