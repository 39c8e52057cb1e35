"""Selectors follow scikit-learn's estimator contract: get_params(deep=...), set_params, clone."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from unisel.errors import ParameterError
from unisel.select import SELECTORS
from unisel.select.maxmin import MaxMinSelector


def _same_params(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    return all(
        np.array_equal(a[k], b[k]) if isinstance(a[k], np.ndarray) else a[k] == b[k] for k in a
    )


@pytest.mark.parametrize("name", SELECTORS.names())
def test_clone_round_trip_of_every_registered_selector(name: str) -> None:
    X = np.random.default_rng(0).standard_normal((40, 6))
    selector = SELECTORS.get(name)(5, random_state=3)
    params = selector.get_params(deep=True)
    assert params == selector.get_params(deep=False)
    assert {"n_samples", "random_state"} <= set(params)

    copy = clone(selector.fit(X))
    assert type(copy) is type(selector)
    assert copy.ranking_ is None  # an unfitted copy
    assert _same_params(copy.get_params(), params)
    np.testing.assert_array_equal(copy.fit(X).ranking_, selector.ranking_)


def test_clone_keeps_maxmin_settings_given_as_arrays() -> None:
    X = np.random.default_rng(1).standard_normal((30, 4))
    selector = MaxMinSelector(
        8,
        initial=np.array([3, 7]),
        set_aside=(0, 1),
        metric="euclidean",
        outliers=0.1,
        outlier_neighbors=np.int64(3),
    )
    copy = clone(selector)
    assert copy.get_params()["initial"] == [3, 7] and copy.get_params()["set_aside"] == [0, 1]
    np.testing.assert_array_equal(copy.fit(X).ranking_, selector.fit(X).ranking_)
    assert copy.fit(X).selection(30).params == selector.selection(30).params


def test_set_params_and_the_manifest_params() -> None:
    selector = MaxMinSelector(5).set_params(n_samples=4, metric="euclidean")
    assert selector.get_params()["n_samples"] == 4
    with pytest.raises(ParameterError, match="no parameter 'k'"):
        selector.set_params(k=3)
    X = np.random.default_rng(2).standard_normal((20, 3))
    params = selector.fit(X).selection(20).params  # what the manifest records
    assert params["n_samples"] == 4 and params["metric"] == "euclidean"
    assert params["start"] == selector.start_ and "quiet" not in params
