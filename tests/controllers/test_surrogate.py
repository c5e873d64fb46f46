"""Surrogates: the GP interpolates smooth functions and knows where it has not looked; the forest's spread is a
positive uncertainty; both follow the scikit-learn estimator contract and degrade to the prior with < 2 points.
"""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from sklearn.base import clone

import autopeft.controllers.surrogate as surrogate_module
from autopeft.controllers.surrogate import ForestSurrogate, GPSurrogate, Surrogate, make_surrogate, surrogate_names
from autopeft.errors import ConfigError

MODELS = [GPSurrogate, ForestSurrogate]


def test_docstring_examples() -> None:
    result = doctest.testmod(surrogate_module)
    assert result.failed == 0 and result.attempted > 0


def test_gp_interpolates_a_smooth_1d_function_and_is_unsure_far_away() -> None:
    x = np.linspace(0, 1, 12).reshape(-1, 1)
    y = np.sin(6 * x[:, 0]) + 0.5 * x[:, 0]
    model = GPSurrogate(random_state=0).fit(x, y)
    grid = np.linspace(0, 1, 201).reshape(-1, 1)
    mean = model.predict(grid)
    assert np.max(np.abs(mean - (np.sin(6 * grid[:, 0]) + 0.5 * grid[:, 0]))) < 0.02
    _, at_data = model.predict(x, return_std=True)
    _, far = model.predict(np.array([[2.5], [-1.5]]), return_std=True)
    assert at_data.max() < 0.01
    assert far.min() > 20 * at_data.max()


def test_gp_fits_a_smooth_2d_function() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(40, 2))

    def f(z: np.ndarray) -> np.ndarray:
        return np.asarray(np.sin(3 * z[:, 0]) + np.cos(2 * z[:, 1]) * z[:, 0], dtype=float)

    model = GPSurrogate(random_state=0).fit(x, f(x))
    test = rng.uniform(size=(200, 2))
    rmse = float(np.sqrt(np.mean((model.predict(test) - f(test)) ** 2)))
    assert rmse < 0.02


def test_gp_learns_that_an_irrelevant_feature_does_not_matter() -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(30, 2))
    model = GPSurrogate(random_state=0).fit(x, np.sin(4 * x[:, 0]))
    assert model.gp_ is not None
    scales = model.gp_.kernel_.k1.k2.length_scale
    assert scales[1] > 5 * scales[0]


def test_forest_std_is_positive_and_mean_follows_the_data() -> None:
    rng = np.random.default_rng(2)
    x = rng.uniform(size=(60, 3))
    y = x[:, 0] * 2 + x[:, 1]
    model = ForestSurrogate(random_state=0).fit(x, y)
    test = rng.uniform(size=(50, 3))
    mean, std = model.predict(test, return_std=True)
    assert (std > 0).all()
    assert np.corrcoef(mean, test[:, 0] * 2 + test[:, 1])[0, 1] > 0.9
    _, at_data = model.predict(x, return_std=True)
    assert (at_data > 0).all()  # floored, never exactly certain


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_sklearn_contract(cls: type[Surrogate]) -> None:
    model = cls(random_state=3)
    params = model.get_params()
    assert params["random_state"] == 3
    assert not [k for k in vars(model) if k.endswith("_")]  # __init__ stores parameters only
    copy = clone(model)
    assert copy.get_params() == params and copy is not model
    assert copy.set_params(random_state=4) is copy and copy.get_params()["random_state"] == 4
    x = np.random.default_rng(0).uniform(size=(10, 2))
    assert model.fit(x, x.sum(axis=1)) is model
    assert hasattr(model, "n_train_") and model.n_features_in_ == 2
    assert not hasattr(clone(model), "n_train_")  # a clone is unfitted


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_fits_are_reproducible_for_a_seed(cls: type[Surrogate]) -> None:
    rng = np.random.default_rng(5)
    x, test = rng.uniform(size=(15, 3)), rng.uniform(size=(5, 3))
    y = np.sin(x.sum(axis=1))
    a = cls(random_state=7).fit(x, y).predict(test, return_std=True)
    b = cls(random_state=7).fit(x, y).predict(test, return_std=True)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_too_little_data_gives_the_prior(cls: type[Surrogate]) -> None:
    test = np.zeros((3, 2))
    mean, std = cls().fit(np.zeros((0, 2)), []).predict(test, return_std=True)
    assert mean.tolist() == [0.0] * 3 and std.tolist() == [1.0] * 3
    mean, std = cls().fit(np.zeros((1, 2)), [0.7]).predict(test, return_std=True)
    assert mean.tolist() == [0.7] * 3 and std.tolist() == [1.0] * 3
    mean = cls().fit(np.zeros((4, 0)), [1.0, 2.0, 3.0, 4.0]).predict(np.zeros((2, 0)))
    assert mean.tolist() == [2.5, 2.5]  # no features: nothing but the mean to go on


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_bad_input_is_a_value_error(cls: type[Surrogate]) -> None:
    with pytest.raises(ValueError, match="not fitted"):
        cls().predict(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="2-D"):
        cls().fit(np.zeros(3), [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="rows"):
        cls().fit(np.zeros((3, 1)), [1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        cls().fit(np.zeros((2, 1)), [1.0, np.nan])
    with pytest.raises(ValueError, match="features"):
        cls().fit(np.zeros((3, 2)), [1.0, 2.0, 3.0]).predict(np.zeros((1, 3)))


def test_constant_targets_do_not_break_the_gp() -> None:
    x = np.random.default_rng(0).uniform(size=(6, 2))
    mean, std = GPSurrogate(random_state=0).fit(x, np.full(6, 0.8)).predict(x, return_std=True)
    np.testing.assert_allclose(mean, 0.8, atol=1e-6)
    assert np.isfinite(std).all()


def test_registry() -> None:
    assert surrogate_names() == ["forest", "gp"]
    assert isinstance(make_surrogate("gp", seed=1), GPSurrogate)
    assert make_surrogate("forest", seed=2).get_params()["random_state"] == 2
    with pytest.raises(ConfigError, match="unknown surrogate 'svm'; allowed: forest, gp"):
        make_surrogate("svm")
