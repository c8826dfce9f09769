"""What the report says, computed from its numbers: a claim appears only where they support it.

Each function takes plain dicts of measured numbers (the per-N summary rows of
`gahr.workflows.summary`: medians as {"value", "low", "high"} bootstrap intervals) and returns
sentences. A claim is made when the median is past its threshold (the paper's regimes as the
demo's targets state them); otherwise the sentence states the numbers and the thresholds,
neutrally. The interval is printed beside every median so the reader can judge its support.
"""

import math

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
#: Energy share of the clean image in the top eigenvectors at or above which the caption says
#: the energy concentrates there (and at least this many times the share of a random basis).
CONCENTRATED, OVER_RANDOM = 0.5, 3.0


def fmt(interval: dict | None, spec: str = ".2f") -> str:
    """'0.97 [0.95, 0.99]' (median and bootstrap interval), or 'n/a'."""
    if not interval:
        return "n/a"
    return (f"{interval['value']:{spec}} [{interval['low']:{spec}}, "
            f"{interval['high']:{spec}}]")


def _value(interval: dict | None) -> float | None:
    return None if not interval else interval["value"]


def regime(row: dict) -> str:
    """'memorization', 'generalization', 'copies', 'different', 'same' or 'neither', from the
    medians of one N (see the thresholds above)."""
    copy, same = _value(row.get("nearest")), _value(row.get("same_seed"))
    copies = copy is not None and copy >= COPY
    if copies and same is not None and same <= DIFFERENT:
        return "memorization"
    if same is not None and same >= SAME:
        return "same" if copies or copy is None else "generalization"
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
    if kind == "memorization":
        return (f"At N={n} the samples are copies of training images ({near}) and the two "
                f"models draw different images from one seed ({same}): memorization.")
    if kind == "generalization":
        return (f"At N={n} both models draw nearly the same image from one seed ({same}), and "
                f"it is not a copy of a training image ({near}): generalization.")
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


def thresholds_text() -> str:
    """The thresholds the claims use, for a caption."""
    return (f"Thresholds on the medians: copies from {COPY:g}, different images up to "
            f"{DIFFERENT:g}, the same image from {SAME:g}.")


def headline(rows: list[dict]) -> str:
    """The page's first caption: the samples at the smallest and the largest N."""
    if not rows:
        return "No value of N was analysed."
    ends = [rows[0]] if len(rows) == 1 else [rows[0], rows[-1]]
    return " ".join([*(similarity_sentence(r) for r in ends), thresholds_text()])


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
    text = (f"At sigma = {sigma:g}, tr J is {a:.1f} at N={small['N']} and {b:.1f} at "
            f"N={large['N']} (of {dimension} dimensions).")
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
