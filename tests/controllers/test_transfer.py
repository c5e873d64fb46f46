"""Warm starts (:mod:`autopeft.controllers.transfer`): the prior-plus-residual surrogate against closed forms,
and bo's first proposals under a prior."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.base import clone

from autopeft.controllers import get_controller
from autopeft.controllers.base import Observation
from autopeft.controllers.transfer import (
    LEVEL_SHRINK,
    PRIOR_STDS,
    SHRINK,
    Prior,
    PriorSource,
    TransferSurrogate,
    fit_prior_model,
)
from autopeft.errors import ConfigError
from autopeft.objectives import get_objective
from autopeft.pareto import pareto_mask
from autopeft.trial import config_key
from tests.bench import synthetic

X_SOURCE = np.linspace(0, 1, 30).reshape(-1, 1)


def prior_on_line(level: float = 0.6, slope: float = 0.2) -> object:
    """A prior fit on a source that scores ``level + slope * x`` (so its z-score is linear in x)."""
    model = fit_prior_model([X_SOURCE], [level + slope * X_SOURCE[:, 0]], seed=0)
    assert model is not None
    return model


def test_with_no_observation_it_predicts_the_source_in_its_own_units() -> None:
    prior = prior_on_line()
    model = TransferSurrogate(prior=prior).fit(np.zeros((0, 1)), np.zeros(0))
    x = np.array([[0.1], [0.5], [0.9]])
    mean, std = model.predict(x, return_std=True)
    assert np.allclose(mean, 0.6 + 0.2 * x[:, 0], atol=2e-3)
    assert np.allclose(std, std[0]) and std[0] > 0  # one prior spread everywhere: nothing observed yet
    # stacked, with nothing observed: the prior's own std in the source's units (the weight of the prior is 1)
    _, stacked = TransferSurrogate(prior=prior, std="stacked").fit(np.zeros((0, 1)), np.zeros(0)).predict(
        x, return_std=True)
    assert np.allclose(stacked, prior.spread * prior.model.predict(x, return_std=True)[1])


def test_one_observation_shifts_the_level_and_keeps_the_shape() -> None:
    model = TransferSurrogate(prior=prior_on_line()).fit(np.array([[0.5]]), np.array([0.9]))
    mean = model.predict(np.array([[0.1], [0.5], [0.9]]))
    assert np.allclose(mean, 0.9 + 0.2 * (np.array([0.1, 0.5, 0.9]) - 0.5), atol=3e-3)


def test_many_observations_recover_the_new_tasks_scale() -> None:
    """Target 3 + 2x: the slope is the least-squares one shrunk towards the source's spread by SHRINK
    pseudo-observations (closed form), and the residual model takes up the rest."""
    prior = prior_on_line()
    x = np.linspace(0, 1, 40).reshape(-1, 1)
    y = 3.0 + 2.0 * x[:, 0]
    model = TransferSurrogate(prior=prior).fit(x, y)
    p = prior.model.predict(x)
    slope = float(np.polyfit(p, y, 1)[0])
    assert model.b_ == pytest.approx((40 * slope + SHRINK * prior.spread) / (40 + SHRINK))
    assert np.allclose(model.predict(np.array([[0.25], [0.75]])), [3.5, 4.5], atol=0.02)


def test_a_contradicting_task_switches_the_prior_off_never_inverts_it() -> None:
    x = np.linspace(0, 1, 40).reshape(-1, 1)
    model = TransferSurrogate(prior=prior_on_line()).fit(x, 1.0 - 5.0 * x[:, 0])
    assert model.b_ == 0.0
    assert np.allclose(model.predict(np.array([[0.5]])), [-1.5], atol=0.05)  # the residual model alone


def test_it_follows_the_sklearn_contract() -> None:
    est = TransferSurrogate(prior=prior_on_line(), base="forest", random_state=3)
    copy = clone(est)
    assert copy.get_params()["base"] == "forest" and copy.get_params()["random_state"] == 3
    with pytest.raises(ValueError, match="not fitted"):
        copy.predict(np.zeros((1, 1)))
    with pytest.raises(ValueError, match="needs a fitted prior"):
        TransferSurrogate().fit(np.zeros((2, 1)), np.zeros(2))


def test_the_stacked_std_is_the_weighted_geometric_mean_of_the_priors_and_the_residuals() -> None:
    """``std="stacked"``: (b * prior std) ** w * (residual std) ** (1 - w), w = SHRINK / (SHRINK + n) (closed
    form); ``"residual"`` is the residual model's std alone."""
    prior = prior_on_line()
    x = np.array([[0.1], [0.45], [0.8]])
    y = np.array([0.7, 0.82, 0.95])
    stacked = TransferSurrogate(prior=prior, std="stacked").fit(x, y)
    residual = TransferSurrogate(prior=prior).fit(x, y)  # the default
    grid = np.linspace(0, 1, 7).reshape(-1, 1)
    mean_s, std_s = stacked.predict(grid, return_std=True)
    mean_r, std_r = residual.predict(grid, return_std=True)
    assert np.allclose(mean_s, mean_r)  # the std alone changes
    assert np.allclose(std_r, residual.residual_.predict(grid, return_std=True)[1])
    w = SHRINK / (SHRINK + 3)
    _, p_std = prior.model.predict(grid, return_std=True)
    assert np.allclose(std_s, (stacked.b_ * p_std) ** w * std_r ** (1 - w))
    assert (std_s < std_r).all()  # the source observed the whole line: its model is sure of its shape


def test_a_switched_off_prior_leaves_the_residuals_std() -> None:
    x = np.linspace(0, 1, 40).reshape(-1, 1)
    y = 1.0 - 5.0 * x[:, 0]
    stacked = TransferSurrogate(prior=prior_on_line(), std="stacked").fit(x, y)
    residual = TransferSurrogate(prior=prior_on_line()).fit(x, y)
    assert stacked.b_ == 0.0
    grid = np.array([[0.2], [0.6]])
    assert np.allclose(stacked.predict(grid, return_std=True)[1], residual.predict(grid, return_std=True)[1])


def test_an_unknown_prior_std_is_refused_naming_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown std 'wide'; allowed: residual, stacked"):
        TransferSurrogate(prior=prior_on_line(), std="wide").fit(np.zeros((1, 1)), np.zeros(1))
    sp = synthetic.space()
    with pytest.raises(ConfigError, match=r"option 'prior_std' is unknown \(got 'wide'\); allowed: "
                                          + ", ".join(PRIOR_STDS)):
        get_controller("bo", sp, [get_objective("accuracy")], prior_std="wide")


def test_sources_need_matching_columns_and_a_shared_objective() -> None:
    with pytest.raises(ConfigError, match="has 1 values for 2 configurations"):
        PriorSource("a.csv", "table", ({"method": "head_only"}, {"method": "ia3"}), {"accuracy": (0.5,)})
    with pytest.raises(ConfigError, match="at least one source"):
        Prior(())
    sp = synthetic.space()
    prior = Prior((PriorSource("a.csv", "table", (sp.default(),), {"macro_f1": (0.5,)}),))
    with pytest.raises(ConfigError, match="none of this search's objectives"):
        get_controller("bo", sp, [get_objective("accuracy"), get_objective("trainable_params")], prior=prior,
                       known={"trainable_params": lambda c: float(synthetic.params(c) or 1)})
    with pytest.raises(ConfigError, match="option 'prior' must be a warm-start prior"):
        get_controller("bo", sp, [get_objective("accuracy")], prior={"accuracy": 1})


def test_bo_starts_from_the_priors_front() -> None:
    """Before any observation, a warm-started bo proposes what the source found best (its Pareto front, which
    this source shares with the new task), where a cold one draws a space-filling design. Covering the methods
    (the default), a batch of 4 tries each method once, each at a member on its own method's front."""
    sp = synthetic.space()
    members = [c for c in sp.enumerate() if synthetic.params(c) is not None]
    source = PriorSource("synthetic", "table", tuple(members),
                         {"accuracy": tuple(synthetic.accuracy(c) for c in members),
                          "trainable_params": tuple(float(synthetic.params(c) or 0) for c in members)})
    objectives = [get_objective("accuracy"), get_objective("trainable_params")]
    known = {"trainable_params": lambda c: float(synthetic.params(c) or np.nan)}

    def first(**options: object) -> list[dict[str, object]]:
        ctl = get_controller("bo", sp, objectives, seed=0, known=known, n_candidates=64, **options)
        return ctl.propose([], n=4)

    def front_of(pool: list[dict[str, object]]) -> set[str]:
        points = np.array([[-synthetic.accuracy(c), np.log10(float(synthetic.params(c) or 1))] for c in pool])
        return {config_key(pool[i]) for i in np.flatnonzero(pareto_mask(points))}

    on_front = front_of(members)
    warm = first(prior=Prior((source,)), prior_cover=False)
    cold = first()
    assert {config_key(c) for c in warm} <= on_front  # the source's Pareto front is tried at once
    assert not {config_key(c) for c in cold} <= on_front
    assert first(prior=Prior((source,)), prior_cover=False) == warm  # deterministic
    covered = first(prior=Prior((source,)))
    assert sorted(str(c["method"]) for c in covered) == ["head_only", "ia3", "ln_tuning", "lora"]
    for config in covered:  # IA3 is not on the whole front here, but its pick is on IA3's own
        assert config_key(config) in front_of([c for c in members if c["method"] == config["method"]])


def test_after_prior_trials_observations_bo_proposes_as_a_cold_start_does() -> None:
    """The prior guides the first ``prior_trials`` trials (default ``n_initial``, the cold start's design); with
    that many observations bo fits its own data alone, so it proposes exactly what a cold bo proposes."""
    sp = synthetic.space()
    members = [c for c in sp.enumerate() if synthetic.params(c) is not None]
    observed = members[::3]  # a third of the space is enough of a source, and its GP fits in a second
    source = PriorSource("synthetic", "table", tuple(observed),
                         {"accuracy": tuple(synthetic.accuracy(c) for c in observed)})
    objectives = [get_objective("accuracy"), get_objective("trainable_params")]

    known = {"trainable_params": synthetic.known_params}
    gen = np.random.default_rng(3)
    tried = [members[i] for i in gen.choice(len(members), size=8, replace=False)]
    # the new task disagrees with the source: its order is reversed
    history = [Observation(c, {"accuracy": 1.0 - synthetic.accuracy(c), "trainable_params": synthetic.params(c)})
               for c in tried]

    def propose(steps: int, **options: object) -> list[str]:
        ctl = get_controller("bo", sp, objectives, seed=0, known=known, n_candidates=64, **options)
        return [config_key(c) for c in ctl.propose(history[:steps], n=2)]

    prior = Prior((source,))
    assert propose(8, prior=prior) == propose(8)  # default prior_trials = n_initial = 8: the prior is done
    assert propose(5, prior=prior, prior_trials=5, n_initial=3) == propose(5, n_initial=3)
    assert propose(5, prior=prior) != propose(5)  # 5 < 8: the prior still guides
    assert propose(8, prior=prior, prior_trials=20) != propose(8)


def test_the_prior_is_fit_only_while_it_guides(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past ``prior_trials`` observations the prior is not fit at all (a resumed warm search pays nothing)."""
    import autopeft.controllers.bo as bo_module

    fits: list[int] = []
    real = bo_module.fit_prior_model
    monkeypatch.setattr(bo_module, "fit_prior_model", lambda *a, **k: fits.append(1) or real(*a, **k))
    sp = synthetic.space()
    members = [c for c in sp.enumerate() if synthetic.params(c) is not None][:40]
    prior = Prior((PriorSource("synthetic", "table", tuple(members),
                               {"accuracy": tuple(synthetic.accuracy(c) for c in members)}),))
    objectives = [get_objective("accuracy"), get_objective("trainable_params")]
    known = {"trainable_params": lambda c: float(synthetic.params(c) or 1)}
    history = [Observation(c, {"accuracy": synthetic.accuracy(c), "trainable_params": synthetic.params(c)})
               for c in members[:4]]

    def propose(steps: int) -> None:
        get_controller("bo", sp, objectives, seed=0, known=known, n_candidates=16, prior=prior,
                       prior_trials=3).propose(history[:steps], n=1)

    propose(4)
    assert fits == []
    propose(2)
    assert fits == [1]


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "8"])
def test_prior_trials_must_be_a_positive_integer(bad: object) -> None:
    sp = synthetic.space()
    with pytest.raises(ConfigError, match=r"option 'prior_trials' must be an integer >= 1 or null .*got"):
        get_controller("bo", sp, [get_objective("accuracy")], prior_trials=bad)


def test_the_copula_transform_is_normal_quantiles_of_ranks_and_ignores_the_scale() -> None:
    """``copula``: each source's values become the normal quantiles of their ranks, (rank - 1/2) / n, so any
    increasing rescaling of a source (an outlier, a squashed range) fits the same prior."""
    from scipy.stats import norm

    rng = np.random.default_rng(0)
    x = rng.random((25, 2))
    y = x[:, 0] + 0.3 * x[:, 1]
    a = fit_prior_model([x], [y], seed=0, transform="copula")
    b = fit_prior_model([x], [np.exp(8 * y) - 3.0], seed=0, transform="copula")  # same order, other scale
    assert a is not None and b is not None
    probe = rng.random((10, 2))
    assert np.allclose(a.model.predict(probe), b.model.predict(probe))
    ranks = np.argsort(np.argsort(y)) + 1
    targets = norm.ppf((ranks - 0.5) / len(y))
    fitted = a.model.predict(x)  # the GP smooths its targets (it fits a noise term), so close, not equal
    assert np.abs(fitted - targets).max() < 0.25 and np.corrcoef(fitted, targets)[0, 1] > 0.99
    standard = fit_prior_model([x], [np.exp(8 * y) - 3.0], seed=0)
    assert standard is not None and not np.allclose(standard.model.predict(probe), b.model.predict(probe))
    with pytest.raises(ValueError, match="unknown transform 'rank'; allowed: standard, copula"):
        fit_prior_model([x], [y], transform="rank")
    with pytest.raises(ConfigError, match=r"option 'prior_transform' is unknown \(got 'rank'\); allowed: "
                                          r"standard, copula"):
        get_controller("bo", synthetic.space(), [get_objective("accuracy")], prior_transform="rank")


def grouped_prior() -> object:
    """A prior on (x, one-hot of two methods A and B): the source scores 0.6 + 0.2 x in both methods."""
    x = np.linspace(0, 1, 15)
    rows = np.array([[v, 1.0, 0.0] for v in x] + [[v, 0.0, 1.0] for v in x])
    model = fit_prior_model([rows], [0.6 + 0.2 * rows[:, 0]], seed=0)
    assert model is not None
    return model


@pytest.mark.parametrize("k", [LEVEL_SHRINK, 0.1])
def test_levels_one_per_method_against_their_closed_form(k: float) -> None:
    """``levels``: each method's level is its rows' summed residual over (count + k); the residual model fits
    what is left; a method's std gains b * sqrt(k / (count + k)) in quadrature, the whole spread b for a method
    not tried yet (``k``: ``level_shrink``, LEVEL_SHRINK by default)."""
    prior = grouped_prior()
    x = np.array([[0.1, 1, 0], [0.5, 1, 0], [0.9, 1, 0]], dtype=float)  # three rows of method A, none of B
    y = 0.95 + 0.2 * x[:, 0]  # the new task puts A far above the source
    kwargs = {} if k == LEVEL_SHRINK else {"level_shrink": k}
    model = TransferSurrogate(prior=prior, levels=((1, 2),), **kwargs).fit(x, y)
    residual = y - (model.a_ + model.b_ * prior.model.predict(x))
    (cols, offsets, counts), = model.levels_
    assert cols.tolist() == [1, 2] and counts.tolist() == [3, 0]
    assert offsets == pytest.approx([residual.sum() / (3 + k), 0.0])
    grid = np.array([[0.3, 1, 0], [0.3, 0, 1]], dtype=float)  # the same x under A, then under B
    mean, std = model.predict(grid, return_std=True)
    r_mean, r_std = model.residual_.predict(grid, return_std=True)
    base = model.a_ + model.b_ * prior.model.predict(grid) + r_mean
    assert mean == pytest.approx(base + np.array([offsets[0], 0.0]))
    share = np.array([k / (3 + k), 1.0])  # of the level's variance b ** 2, for A then B
    assert std == pytest.approx(np.sqrt(r_std ** 2 + model.b_ ** 2 * share))
    plain = TransferSurrogate(prior=prior).fit(x, y)  # without levels: the std is the residual model's alone
    assert plain.levels_ == [] and np.allclose(plain.predict(grid, return_std=True)[1],
                                               plain.residual_.predict(grid, return_std=True)[1])


def test_with_levels_an_untried_method_is_the_uncertain_one() -> None:
    """Seen only in method A, the new task's levels make B's members far more uncertain than A's: the whole
    spread b for B, b * sqrt(k / (3 + k)) for A's three rows (at most b / 2, with k <= 1), the residual model's
    own std being small."""
    prior = grouped_prior()
    x = np.array([[0.1, 1, 0], [0.5, 1, 0], [0.9, 1, 0]], dtype=float)
    y = 0.95 + 0.2 * x[:, 0]
    grid = np.array([[0.5, 1, 0], [0.5, 0, 1]], dtype=float)
    model = TransferSurrogate(prior=prior, levels=((1, 2),)).fit(x, y)
    _, std = model.predict(grid, return_std=True)
    assert std[1] >= model.b_ and std[1] > 1.9 * std[0]


def test_level_shrink_reaches_the_surrogate_and_a_bad_one_is_one_line() -> None:
    """bo passes ``prior_level_shrink`` to every warm-start surrogate; it must be a finite number > 0."""
    space, objectives = synthetic.space(), [get_objective("accuracy")]
    assert get_controller("bo", space, objectives).options["prior_level_shrink"] == LEVEL_SHRINK
    for bad in (0, -1.0, math.inf, math.nan, True, "1", None):
        with pytest.raises(ConfigError, match=rf"option 'prior_level_shrink' must be a number > 0 .*got {bad!r}"):
            get_controller("bo", space, objectives, prior_level_shrink=bad)
    prior = grouped_prior()
    x = np.array([[0.1, 1, 0], [0.5, 1, 0]], dtype=float)
    loose, tight = (TransferSurrogate(prior=prior, levels=((1, 2),), level_shrink=k).fit(x, [0.9, 0.95])
                    for k in (10.0, 0.01))
    (_, loose_offsets, _), (_, tight_offsets, _) = loose.levels_[0], tight.levels_[0]
    assert abs(tight_offsets[0]) > abs(loose_offsets[0])  # a small k trusts the method's own rows more


@pytest.mark.parametrize("bad", ["yes", 1, None])
def test_prior_levels_is_true_or_false(bad: object) -> None:
    assert get_controller("bo", synthetic.space(), [get_objective("accuracy")]).options["prior_levels"] is True
    with pytest.raises(ConfigError, match=rf"option 'prior_levels' must be true or false, got {bad!r}"):
        get_controller("bo", synthetic.space(), [get_objective("accuracy")], prior_levels=bad)
