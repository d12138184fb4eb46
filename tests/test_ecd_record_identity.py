"""Paper B's stored runs still resolve: configs and checkpoint tags rebuilt by the current code
from a stored record's settings hash to the record's key and to the part checkpoints' names.

About 700 committed records under ``results/ecd_*`` are found by these hashes; a changed byte
in a config (or in a checkpoint tag) would make every one of them a miss and retrain."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from matfusion.config import repo_root
from matfusion.ecd.data import dataset_sha256, load_ecd_dataset
from matfusion.ecd.experiments import _config, _part_tag
from matfusion.ecd.fitting import (
    PRETRAINED_PARTS,
    EcdInputs,
    _checkpoint_path,
    checkpoint_tag,
    kfold_indices,
)
from matfusion.ecd.settings import EcdProfile, ecd_profile
from matfusion.results import key_for

RESULTS = repo_root() / "results"


@pytest.fixture(scope="module")
def full_inputs() -> EcdInputs:
    """The whole ECD dataset as the standard runs saw it (no features: configs need none)."""
    frame = load_ecd_dataset(verbose=False, progress=False)
    return EcdInputs(frame, np.zeros((len(frame), 0)), None, [], ecd_profile("standard"),
                     dataset_sha256(frame, None))  # fmt: skip


def _profile(config: dict[str, Any]) -> EcdProfile:
    """The standard profile with the overrides a stored run's config records."""
    prof = replace(ecd_profile("standard"), **config["train"])
    density = config["density"]
    if density is not None:
        prof = replace(
            prof,
            provider=density["provider"],
            grid=density["grid"],
            valence=bool(density["settings"].get("valence")),
        )
    return prof


def _records(experiment: str, data_sha256: str) -> list[dict[str, Any]]:
    """Stored standard records of ``experiment`` made on the whole dataset."""
    folder = RESULTS / experiment / "standard"
    docs = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    return [d for d in docs if d["config"]["data_sha256"] == data_sha256]


def _rebuilt(doc: dict[str, Any], inputs: EcdInputs) -> dict[str, Any]:
    config = doc["config"]
    inputs = replace(inputs, profile=_profile(config))
    split = {"fold": config["fold"], "folds": config["folds"]} if "fold" in config else {}
    split = split or {"element": config["element"]}
    return _config(
        config["experiment"], config["model"], config["target"], inputs, config["repeat"], **split
    )


@pytest.mark.parametrize("experiment", ["ecd_cv", "ecd_loeo"])
def test_stored_records_keys_are_rebuilt_byte_for_byte(
    experiment: str, full_inputs: EcdInputs
) -> None:
    docs = _records(experiment, full_inputs.data_sha256)
    if experiment == "ecd_cv":  # the committed CV sweep: hundreds of runs on the whole set
        assert len(docs) >= 400
    assert docs, f"no stored {experiment} records on the whole dataset"
    models = set()
    for doc in docs:
        config = _rebuilt(doc, full_inputs)
        assert key_for(config) == doc["key"], json.dumps(doc["config"], sort_keys=True)
        assert config == doc["config"]
        models.add(config["model"])
    assert "RF+Magpie" in models and "2D-CNN+ECD" in models


#: Part checkpoint names of two stored fusion runs since the tag left out the profile's
#: description and repeat count (before, every edit of ``standard``'s description orphaned the
#: cached parts).
FUSION_PART_CHECKPOINTS = {
    "095d41a9bcd15edb": ["CNN_Magpie-36ea8d74f6e58c58.pt", "2D-CNN_ECD-c07fb7721984ed87.pt"],
    "0297704ada2ef1d2": ["CNN_Magpie-7aa126b2c3ccdee5.pt", "2D-CNN_ECD-573423b7013a7ec6.pt"],
}


@pytest.mark.parametrize("key", sorted(FUSION_PART_CHECKPOINTS))
def test_fusion_part_checkpoint_tags_are_unchanged(key: str, full_inputs: EcdInputs) -> None:
    doc = json.loads((RESULTS / "ecd_cv" / "standard" / f"{key}.json").read_text())
    config = _rebuilt(doc, full_inputs)
    assert key_for(config) == key and config["model"] == "Fusion(Magpie+ECD)"
    prof = _profile(config)
    inputs = replace(full_inputs, profile=prof)
    train_rows, _ = kfold_indices(len(inputs.frame), prof.folds, prof.seed + config["repeat"])[
        config["fold"]
    ]
    tag = checkpoint_tag(inputs, config["target"], train_rows, config["seed"], _part_tag(config))
    names = [Path(_checkpoint_path({**tag, "model": part})).name for part in PRETRAINED_PARTS]
    assert names == FUSION_PART_CHECKPOINTS[key]


def test_checkpoint_tag_ignores_the_profiles_description_and_repeat_count(
    full_inputs: EcdInputs,
) -> None:
    rows = np.arange(10)
    tag = checkpoint_tag(full_inputs, "bulk", rows, 0, {"repeat": 0})
    edited = replace(full_inputs.profile, description="another text", repeats=3)
    assert (
        checkpoint_tag(replace(full_inputs, profile=edited), "bulk", rows, 0, {"repeat": 0}) == tag
    )
    longer = replace(full_inputs.profile, epochs=full_inputs.profile.epochs + 1)
    assert (
        checkpoint_tag(replace(full_inputs, profile=longer), "bulk", rows, 0, {"repeat": 0}) != tag
    )
