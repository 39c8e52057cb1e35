"""Greedy max-min (farthest-point, k-center greedy) engines.

`maxmin_reference` is the oracle: a plain O(n*k*d) loop in float64. Every faster engine must
return the identical index sequence.
"""

from unisel.select.engine.reference import cosine_normalize, maxmin_reference

__all__ = ["cosine_normalize", "maxmin_reference"]
