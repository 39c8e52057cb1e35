"""Defaults and names of the options the stages share (ground floor: imports nothing heavy).

The command line builds its ``--help`` from these without importing the stages (numba, torch),
and the stages take their defaults from here, so a default is written once.
"""

from __future__ import annotations

#: Sets above this many rows get estimated nearest-neighbour distributions in the metrics.
DEFAULT_EXACT_LIMIT = 200_000
#: Rows of the metrics' sample (or of the HNSW recall queries) above the exact limit.
DEFAULT_SAMPLE_SIZE = 10_000
#: How the metrics estimate nearest-neighbour distances above the exact limit.
APPROXIMATE_METHODS = ("sample", "hnsw")
#: The largest seed: every random generator a run seeds (numpy's legacy ``RandomState``,
#: scikit-learn, gensim) takes 32-bit seeds.
MAX_SEED = 2**32 - 1


def check_seed(seed: object, name: str = "seed") -> int:
    """``seed`` as an int, checked once before any work instead of deep in a generator.

    Parameters
    ----------
    seed : int
        An integer (Python or numpy) in ``0..MAX_SEED``.
    name : str
        What the message calls it (``"--seed"`` on the command line).

    Returns
    -------
    int

    Raises
    ------
    ParameterError
        ``seed`` is not an integer, or out of range.
    """
    import numbers

    from unisel.errors import ParameterError

    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ParameterError(f"{name} must be an integer in 0..{MAX_SEED}, got {seed!r}")
    if not 0 <= int(seed) <= MAX_SEED:
        raise ParameterError(f"{name} must be in 0..{MAX_SEED}, got {seed}")
    return int(seed)

#: ``m`` of the isolation score of max-min's outlier rule (distance to the m-th neighbour).
DEFAULT_OUTLIER_NEIGHBORS = 10
#: The isolation score is measured against at most this many (sampled) records.
DEFAULT_OUTLIER_SAMPLE_SIZE = 20_000
