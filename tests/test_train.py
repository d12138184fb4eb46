"""Tests of matfusion.train: loss, metrics, recipes, fit/predict, checkpoints."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

from matfusion.featurize import EncodedCompositions
from matfusion.train import (
    RECIPES,
    CheckpointError,
    FitResult,
    TargetScaler,
    TrainConfig,
    configure_threads,
    epoch_batches,
    fit,
    get_recipe,
    lamb_lookahead,
    load_checkpoint,
    predict,
    regression_metrics,
    robust_l1,
    save_checkpoint,
    set_seed,
)

N_ELEMENTS = 12


class TinyModel(nn.Module):
    """Stand-in for CompositionModel: fraction-weighted sum of learned element vectors."""

    name = "tiny"

    def __init__(self, d: int = 8, n_elements: int = N_ELEMENTS) -> None:
        super().__init__()
        self.config = {"d": d, "n_elements": n_elements}
        self.embed = nn.Embedding(n_elements + 1, d, padding_idx=0)
        self.head = nn.Linear(d, 2)

    def forward(self, elements: torch.Tensor, fractions: torch.Tensor) -> torch.Tensor:
        h = (self.embed(elements) * fractions.unsqueeze(-1)).sum(1)
        return self.head(h)


class ConstantModel(nn.Module):
    """Output never depends on its parameter: validation MAE is a perfect plateau."""

    name = "constant"
    config: dict = {}

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(1))

    def forward(self, elements: torch.Tensor, fractions: torch.Tensor) -> torch.Tensor:
        return torch.zeros(len(elements), 2) + 0.0 * self.w


def build_tiny(name: str, config: dict) -> nn.Module:
    assert name == "tiny"
    return TinyModel(**config)


def synthetic(n: int, seed: int, max_len: int = 4) -> tuple[EncodedCompositions, np.ndarray]:
    """Compositions of 1..max_len distinct elements, sorted, right-padded; the target is a
    fraction-weighted sum of per-element values (learnable exactly by TinyModel)."""
    rng = np.random.default_rng(seed)
    value = np.linspace(-2.0, 3.0, N_ELEMENTS + 1)
    value[0] = 0.0
    elements = np.zeros((n, max_len), dtype=np.int64)
    fractions = np.zeros((n, max_len), dtype=np.float32)
    for i in range(n):
        k = int(rng.integers(1, max_len + 1))
        elements[i, :k] = np.sort(rng.choice(np.arange(1, N_ELEMENTS + 1), k, replace=False))
        amounts = rng.uniform(0.1, 1.0, k)
        fractions[i, :k] = amounts / amounts.sum()
    y = (fractions * value[elements]).sum(1).astype(np.float64) + 10.0
    return EncodedCompositions(elements=elements, fractions=fractions), y


@pytest.fixture(scope="module")
def data():
    train, y_train = synthetic(300, seed=1)
    val, y_val = synthetic(100, seed=2)
    return train, y_train, val, y_val


def fast_config(**kw) -> TrainConfig:
    base = {"recipe": "fast", "epochs": 15, "batch_size": 32, "lr": 1e-2, "num_threads": 1}
    base.update(kw)
    return TrainConfig(**base)


# ------------------------------------------------------------------------------------- loss


def test_robust_l1_known_values():
    pred = torch.tensor([[0.0, 0.0]])
    assert robust_l1(pred, torch.tensor([1.0])).item() == pytest.approx(math.sqrt(2))
    # with a large log-uncertainty the error term vanishes and the loss is ~ s
    assert robust_l1(torch.tensor([[0.0, 20.0]]), torch.tensor([1.0])).item() == pytest.approx(
        20.0, abs=1e-6
    )
    # averaged over the batch
    batch = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    assert robust_l1(batch, torch.tensor([1.0, 2.0])).item() == pytest.approx(math.sqrt(2) / 2)


def test_robust_l1_minimum_over_s():
    e = 0.7
    s = torch.linspace(-3, 3, 60001)
    pred = torch.stack([torch.zeros_like(s), s], 1)
    per_row = math.sqrt(2) * e * torch.exp(-s) + s
    assert s[per_row.argmin()].item() == pytest.approx(math.log(math.sqrt(2) * e), abs=1e-3)
    # robust_l1 agrees with the per-row formula
    assert robust_l1(pred[:5], torch.full((5,), e)).item() == pytest.approx(
        per_row[:5].mean().item(), rel=1e-6
    )


def test_robust_l1_uncertainty_gradient_sign():
    # large error, small s: increasing s lowers the loss -> dL/ds < 0
    pred = torch.tensor([[0.0, 0.0]], requires_grad=True)
    robust_l1(pred, torch.tensor([5.0])).backward()
    assert pred.grad[0, 1] < 0
    # tiny error, large s: decreasing s lowers the loss -> dL/ds > 0
    pred = torch.tensor([[0.0, 2.0]], requires_grad=True)
    robust_l1(pred, torch.tensor([0.01])).backward()
    assert pred.grad[0, 1] > 0
    # and the prediction is pulled toward the target
    assert pred.grad[0, 0] < 0


def test_robust_l1_shape_errors():
    with pytest.raises(ValueError):
        robust_l1(torch.zeros(3), torch.zeros(3))
    with pytest.raises(ValueError):
        robust_l1(torch.zeros(3, 2), torch.zeros(4))


# ---------------------------------------------------------------------------------- metrics


def test_regression_metrics_known():
    m = regression_metrics([1.0, 2.0, 3.0, 4.0], [1.5, 2.0, 2.0, 4.0])
    assert m["mae"] == pytest.approx(0.375)
    assert m["rmse"] == pytest.approx(math.sqrt(1.25 / 4))
    assert m["r2"] == pytest.approx(1 - 1.25 / 5.0)
    assert m["n"] == 4
    assert isinstance(m["n"], int)
    assert math.isnan(regression_metrics([2.0, 2.0], [1.0, 3.0])["r2"])


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_regression_metrics_rejects_non_finite(bad):
    with pytest.raises(ValueError, match="y_pred"):
        regression_metrics([1.0, 2.0], [1.0, bad])
    with pytest.raises(ValueError, match="y_true"):
        regression_metrics([bad, 2.0], [1.0, 2.0])
    with pytest.raises(ValueError):
        regression_metrics([1.0, 2.0], [1.0])
    with pytest.raises(ValueError):
        regression_metrics([], [])


# ---------------------------------------------------------------------------------- recipes


def test_registry():
    assert set(RECIPES) == {"crabnet", "fast", "plateau"}
    with pytest.raises(KeyError, match="crabnet"):
        get_recipe("crabnett")


@pytest.mark.parametrize(
    ("n", "expected"), [(2400, 128), (250_000, 4096), (10, 128), (20_000, 1024), (40_000, 2048)]
)
def test_crabnet_batch_size_rule(n, expected):
    assert RECIPES["crabnet"].batch_size(n) == expected


def test_crabnet_epochs_rule():
    recipe = RECIPES["crabnet"]
    assert recipe.epochs(2400, 128) == round(1e4 / 19)  # 19 batches per epoch
    assert recipe.epochs(250_000, 4096) == 161  # 62 batches per epoch
    assert recipe.epochs(100_000_000, 4096) == 40  # lower bound


def test_cyclic_lr_peaks_at_half_cycle():
    recipe = RECIPES["crabnet"]
    model = nn.Linear(3, 2)
    opt = recipe.optimizer(model.parameters(), lr=recipe.default_lr, weight_decay=0.0)
    spe = 3
    sched = recipe.scheduler(opt, steps_per_epoch=spe, epochs=40, lr=recipe.default_lr)
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-4)
    lrs = []
    for _ in range(20 * spe):
        model(torch.randn(4, 3)).sum().backward()
        opt.step()
        opt.zero_grad()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs[10 * spe - 1] == pytest.approx(6e-3)  # after 10 epochs of steps
    assert max(lrs) == pytest.approx(6e-3)
    assert lrs[20 * spe - 1] == pytest.approx(1e-4)  # back at the bottom after a full cycle
    # the inner Lamb sees the scheduled learning rate (shared parameter groups)
    assert opt.base.param_groups[0]["lr"] == opt.param_groups[0]["lr"]


def test_crabnet_swa_schedule():
    recipe = RECIPES["crabnet"]
    due = [e for e in range(1, 81) if recipe.swa_due(e)]
    assert due == [20, 40, 60, 80]


def test_lookahead_state_dict_round_trip():
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    opt = lamb_lookahead(model.parameters(), lr=1e-2, k=2)
    for _ in range(3):
        model(torch.randn(8, 3)).pow(2).mean().backward()
        opt.step()
        opt.zero_grad()
    state = copy.deepcopy(opt.state_dict())  # torch shares state tensors otherwise
    clone = nn.Linear(3, 1)
    clone.load_state_dict(model.state_dict())
    opt2 = lamb_lookahead(clone.parameters(), lr=1e-2, k=2)
    opt2.load_state_dict(state)
    x = torch.randn(8, 3)
    for m, o in ((model, opt), (clone, opt2)):
        m(x).pow(2).mean().backward()
        o.step()
    assert torch.equal(model.weight, clone.weight)


# -------------------------------------------------------------------------------------- fit


def test_fit_learns_and_reports(data):
    train, y_train, val, y_val = data
    set_seed(0)
    model = TinyModel()
    baseline = float(np.mean(np.abs(y_val - y_train.mean())))
    result = fit(model, train, y_train, val, y_val, fast_config(), progress=False)
    assert isinstance(result, FitResult)
    maes = [h["val_mae"] for h in result.history]
    assert result.best_val_mae == min(maes)
    assert result.best_val_mae < 0.3 * baseline
    assert maes[-1] < maes[0]
    assert set(result.history[0]) >= {"epoch", "train_loss", "val_mae", "lr", "seconds", "swa"}
    assert result.samples_per_s > 0 and result.wall_time_s > 0
    assert result.settings["batch_size"] == 32
    assert result.scaler.mean == pytest.approx(y_train.mean())
    # the returned model holds the best weights
    mean, std = predict(result.model, result.scaler, val)
    assert regression_metrics(y_val, mean)["mae"] == pytest.approx(result.best_val_mae, rel=1e-5)
    assert mean.shape == std.shape == (len(y_val),)
    assert (std > 0).all()


def test_fit_is_deterministic(data):
    train, y_train, val, y_val = data
    histories = []
    for _ in range(2):
        set_seed(3)
        model = TinyModel()
        result = fit(model, train, y_train, val, y_val, fast_config(epochs=4, seed=7), False)
        histories.append([{k: v for k, v in h.items() if k != "seconds"} for h in result.history])
    assert histories[0] == histories[1]


def test_fast_recipe_stops_early_on_plateau(data):
    train, y_train, val, y_val = data
    cfg = TrainConfig(recipe="fast", patience=3, batch_size=128, num_threads=1)
    result = fit(ConstantModel(), train, y_train, val, y_val, cfg, progress=True)
    assert result.settings["epochs"] == 100
    assert len(result.history) == 4  # best at epoch 1, then 3 epochs without improvement
    assert result.settings["stopped_early"]
    assert result.best_epoch == 1


def test_warmup_plateau_ramps_then_halves_on_a_plateau():
    param = nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=1.0)
    sched = get_recipe("plateau").scheduler(optimizer, steps_per_epoch=2, epochs=50, lr=1.0)
    lrs = [optimizer.param_groups[0]["lr"]]
    for _ in range(7):
        optimizer.step()
        sched.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    assert lrs == pytest.approx([1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6, 1, 1, 1])
    recipe = get_recipe("plateau")
    for mae in [1.0, 0.9, 0.95, 0.95, 0.95]:  # best at 0.9, then 3 epochs without a gain
        recipe.epoch_end(sched, mae)
    optimizer.step()
    sched.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1.0)
    recipe.epoch_end(sched, 0.95)  # the 4th: halve
    optimizer.step()
    sched.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.5)


def test_plateau_recipe_converges_before_its_cap(data):
    train, y_train, val, y_val = data
    set_seed(0)
    cfg = TrainConfig(recipe="plateau", batch_size=32, lr=1e-2, num_threads=1)
    result = fit(TinyModel(), train, y_train, val, y_val, cfg, progress=False)
    assert result.settings["epochs"] == 300 and result.settings["patience"] == 12
    assert result.settings["stopped_early"] and len(result.history) < 300
    assert len(result.history) - result.best_epoch == 12
    lrs = [h["lr"] for h in result.history]
    assert min(lrs) < max(lrs) / 2  # it halved at least twice on its way to the plateau
    baseline = float(np.mean(np.abs(y_val - y_train.mean())))
    assert result.best_val_mae < 0.1 * baseline


def test_crabnet_recipe_runs_with_swa(data):
    train, y_train, val, y_val = data
    set_seed(0)
    cfg = TrainConfig(recipe="crabnet", epochs=40, batch_size=150, num_threads=1)
    result = fit(TinyModel(), train, y_train, val, y_val, cfg, progress=False)
    swa_epochs = [h["epoch"] for h in result.history if h["swa"]]
    assert swa_epochs == [20, 40]
    assert all(h["swa_val_mae"] is not None for h in result.history if h["swa"])
    assert result.settings["recipe"] == "crabnet"
    assert result.settings["best_source"] in {"epoch", "swa"}
    assert max(h["lr"] for h in result.history) == pytest.approx(6e-3)
    assert result.best_val_mae < result.history[0]["val_mae"]


def test_fit_rejects_bad_input(data):
    train, y_train, val, y_val = data
    bad = y_train.copy()
    bad[5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fit(TinyModel(), train, bad, val, y_val, fast_config(), progress=False)
    bad_val = y_val.copy()
    bad_val[0] = np.inf
    with pytest.raises(ValueError, match="validation"):
        fit(TinyModel(), train, y_train, val, bad_val, fast_config(), progress=False)
    empty = EncodedCompositions(
        elements=np.zeros((0, 4), dtype=np.int64), fractions=np.zeros((0, 4), dtype=np.float32)
    )
    with pytest.raises(ValueError, match="empty"):
        fit(TinyModel(), train, y_train, empty, np.zeros(0), fast_config(), progress=False)
    with pytest.raises(ValueError, match="empty"):
        fit(TinyModel(), empty, np.zeros(0), val, y_val, fast_config(), progress=False)
    with pytest.raises(ValueError, match="targets"):
        fit(TinyModel(), train, y_train[:-1], val, y_val, fast_config(), progress=False)
    with pytest.raises(KeyError):
        fit(TinyModel(), train, y_train, val, y_val, TrainConfig(recipe="nope"), progress=False)
    with pytest.raises(ValueError):
        TrainConfig(epochs=0)
    cfg = fast_config()
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(TypeError, match="epoch"):
        TrainConfig.from_dict({"epoch": 3})


def test_padding_trim_does_not_change_predictions(data):
    _, _, val, _ = data
    torch.manual_seed(0)
    model = TinyModel()
    scaler = TargetScaler(1.0, 2.0)
    wide = EncodedCompositions(
        elements=np.pad(val.elements, ((0, 0), (0, 3))),
        fractions=np.pad(val.fractions, ((0, 0), (0, 3))),
    )
    empty = EncodedCompositions(
        elements=np.zeros((0, 4), dtype=np.int64), fractions=np.zeros((0, 4), dtype=np.float32)
    )
    assert predict(model, scaler, empty)[0].shape == (0,)
    m1, s1 = predict(model, scaler, val, batch_size=7)
    m2, s2 = predict(model, scaler, wide, batch_size=1000)
    np.testing.assert_allclose(m1, m2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(s1, s2, rtol=1e-5)


def test_configure_threads():
    before = torch.get_num_threads()
    try:
        assert configure_threads(1) == 1
        assert configure_threads(None) >= 1
    finally:
        torch.set_num_threads(before)


# ------------------------------------------------------------------------------ checkpoints


def test_checkpoint_round_trip(tmp_path, data):
    _, _, val, _ = data
    torch.manual_seed(1)
    model = TinyModel(d=6)
    scaler = TargetScaler(3.5, 0.25)
    path = save_checkpoint(
        tmp_path / "ck" / "m.pt", model, scaler, {"dataset": "x", "n": np.int64(3)}
    )
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.pt"]
    loaded, scaler2, meta = load_checkpoint(path, build_tiny)
    assert scaler2 == scaler
    assert meta == {"dataset": "x", "n": 3}
    assert loaded.config == {"d": 6, "n_elements": N_ELEMENTS}
    m1, s1 = predict(model, scaler, val)
    m2, s2 = predict(loaded, scaler2, val)
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(s1, s2)


def test_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt", build_tiny)
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(corrupt, build_tiny)
    path = save_checkpoint(tmp_path / "m.pt", TinyModel(d=4), TargetScaler(0.0, 1.0), {})
    with pytest.raises(CheckpointError, match="do not fit"):
        load_checkpoint(path, lambda name, config: TinyModel(d=5))


def test_fit_with_a_registered_model(data):
    """Integration with matfusion.models (skipped until it is importable)."""
    models = pytest.importorskip("matfusion.models")
    train, y_train, val, y_val = data
    vectors = np.random.default_rng(0).normal(size=(N_ELEMENTS + 1, 8)).astype(np.float32)
    vectors[0] = 0.0
    set_seed(0)
    model = models.build_model("LSTM", vectors, d_model=16)
    result = fit(model, train, y_train, val, y_val, fast_config(epochs=3), progress=False)
    mean, std = predict(result.model, result.scaler, val)
    assert np.isfinite(mean).all() and (std > 0).all()
    assert result.best_val_mae == pytest.approx(regression_metrics(y_val, mean)["mae"], rel=1e-4)


def test_fast_recipe_clips_gradients_and_crabnet_does_not(data, monkeypatch):
    """The fast recipe clips the gradient norm every step; the paper's recipe never does."""
    train, y_train, val, y_val = data
    calls = []
    real = torch.nn.utils.clip_grad_norm_

    def counting(params, max_norm, *args, **kwargs):
        calls.append(max_norm)
        return real(params, max_norm, *args, **kwargs)

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", counting)
    fit(TinyModel(), train, y_train, val, y_val, fast_config(epochs=2), progress=False)
    steps = 2 * math.ceil(len(y_train) / 32)
    assert calls == [1.0] * steps
    calls.clear()
    cfg = TrainConfig(recipe="crabnet", epochs=2, batch_size=32, num_threads=1)
    fit(TinyModel(), train, y_train, val, y_val, cfg, progress=False)
    assert calls == []


# ------------------------------------------------------------------ length bucketing, bf16


def _original_batches(lengths: torch.Tensor, batch_size: int, seed: int):
    """The batches ``fit`` formed before bucketing existed (its loop, verbatim)."""
    n = len(lengths)
    steps = math.ceil(n / batch_size)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    widths = torch.nn.functional.pad(lengths[perm], (0, steps * batch_size - n))
    widths = widths.view(steps, batch_size).amax(1).tolist()
    return [(perm[b * batch_size : (b + 1) * batch_size], w) for b, w in enumerate(widths)]


@pytest.mark.parametrize("n, batch_size", [(300, 32), (256, 64), (5, 8)])
def test_plain_batches_are_the_original_ones(n, batch_size):
    lengths = torch.randint(1, 7, (n,), generator=torch.Generator().manual_seed(n))
    perm, spans = epoch_batches(lengths, batch_size, torch.Generator().manual_seed(4))
    ours = [(perm[a:b], w) for a, b, w in spans]
    original = _original_batches(lengths, batch_size, 4)
    assert len(ours) == len(original)
    for (rows, width), (rows0, width0) in zip(ours, original, strict=True):
        assert torch.equal(rows, rows0) and width == width0


def test_bucketed_batches_hold_every_row_once_with_little_padding():
    n, batch_size = 5000, 32  # 4 chunks of BUCKET_BATCHES batches
    lengths = torch.randint(1, 8, (n,), generator=torch.Generator().manual_seed(0))
    perm, spans = epoch_batches(lengths, batch_size, torch.Generator().manual_seed(1), True)
    assert torch.equal(perm.sort().values, torch.arange(n))
    sizes = [b - a for a, b, _ in spans]
    assert len(spans) == math.ceil(n / batch_size) and sorted(sizes)[1:] == [batch_size] * (
        len(spans) - 1
    )
    assert [a for a, _, _ in spans] == [0, *np.cumsum(sizes)[:-1].tolist()]
    for a, b, width in spans:
        assert width == int(lengths[perm[a:b]].max())

    def padding(spans_, perm_):
        slots = sum((b - a) * w for a, b, w in spans_)
        return 1 - int(lengths.sum()) / slots

    plain_perm, plain_spans = epoch_batches(lengths, batch_size, torch.Generator().manual_seed(1))
    assert padding(spans, perm) < 0.05 < 0.3 < padding(plain_spans, plain_perm)
    # one length per batch, except where a length (or a chunk) ends: a few mixed batches
    mixed = sum(len(set(lengths[perm[a:b]].tolist())) > 1 for a, b, _ in spans)
    assert mixed <= 4 * 7
    # the batch order is shuffled, not sorted by width, and differs from epoch to epoch
    widths = [w for _, _, w in spans]
    assert widths != sorted(widths)
    gen = torch.Generator().manual_seed(1)
    first, second = (epoch_batches(lengths, batch_size, gen, True)[0] for _ in range(2))
    assert not torch.equal(first, second)
    # and repeats for a seed
    again, _ = epoch_batches(lengths, batch_size, torch.Generator().manual_seed(1), True)
    assert torch.equal(again, perm)


def test_train_config_flags_stay_out_of_the_dict_while_off():
    """Stored runs were keyed before ``autocast`` and ``bucket`` existed: off, they are not in
    ``to_dict`` (so a run keeps its key); on, they are, and ``from_dict`` reads them back."""
    plain = TrainConfig().to_dict()
    assert "autocast" not in plain and "bucket" not in plain and plain["device"] == "cpu"
    on = TrainConfig(autocast=True, bucket=True)
    assert on.to_dict()["autocast"] is True and on.to_dict()["bucket"] is True
    assert TrainConfig.from_dict(on.to_dict()) == on
    assert TrainConfig.from_dict(plain) == TrainConfig()


def test_fit_with_bucketing_learns_repeats_and_pads_less(data):
    train, y_train, val, y_val = data
    results = []
    for bucket in (False, True, True):
        set_seed(3)
        cfg = fast_config(seed=7, bucket=bucket)
        results.append(fit(TinyModel(), train, y_train, val, y_val, cfg, progress=False))
    plain, bucketed, again = results
    strip = [[{k: v for k, v in h.items() if k != "seconds"} for h in r.history] for r in results]
    assert strip[1] == strip[2]  # deterministic
    assert strip[0] != strip[1]  # another batch order
    assert bucketed.settings["bucket"] and not plain.settings["bucket"]
    assert bucketed.settings["padding_share"] < 0.1 < 0.2 < plain.settings["padding_share"]
    baseline = float(np.mean(np.abs(y_val - y_train.mean())))
    assert max(plain.best_val_mae, bucketed.best_val_mae) < 0.3 * baseline


def test_fit_under_bf16_autocast_learns_and_says_so(data):
    """bfloat16 autocast around forward and loss (validation stays float32)."""
    train, y_train, val, y_val = data
    set_seed(0)
    cfg = fast_config(autocast=True)
    result = fit(TinyModel(), train, y_train, val, y_val, cfg, progress=False)
    assert result.settings["autocast"] == "bfloat16"
    baseline = float(np.mean(np.abs(y_val - y_train.mean())))
    assert result.best_val_mae < 0.3 * baseline
    mean, _ = predict(result.model, result.scaler, val)
    assert regression_metrics(y_val, mean)["mae"] == pytest.approx(result.best_val_mae, rel=1e-5)
    assert result.settings["determinism"]["device"] == "cpu"


@pytest.mark.parametrize("steps", [2, 4, 10, 19])
def test_fast_recipe_runs_a_handful_of_optimiser_steps(steps):
    param = nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([param], lr=1e-3)
    sched = get_recipe("fast").scheduler(optimizer, steps_per_epoch=steps, epochs=1, lr=1e-3)
    lrs = []
    for _ in range(steps):
        optimizer.step()
        sched.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    assert max(lrs) <= 1e-3 + 1e-12 and lrs[-1] <= max(lrs)
