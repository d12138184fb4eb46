"""Caches hold data, not code: a file planted in a shared cache cannot run code."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import torch

from matfusion.ecd import data as ecd_data
from matfusion.ecd import fitting as ecd_fitting


class _Planted:
    """Unpickling this creates ``marker``: proof that a load ran code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_planted_pickle_checkpoint_is_not_run_and_means_retrain(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "part.pt"
    torch.save({"state": {}, "info": _Planted(marker)}, path)
    assert ecd_fitting._load_checkpoint(path) is None
    assert not marker.exists()


def test_checkpoint_round_trip_as_tensors_and_text(tmp_path):
    path = tmp_path / "part.pt"
    net = torch.nn.Linear(3, 1)
    info = {"mean": np.float64(1.5), "std": 2.0, "history": [{"val_mae": 0.25}]}
    torch.save({"state": net.state_dict(), "info": json.dumps(info, default=float)}, path)
    saved = ecd_fitting._load_checkpoint(path)
    assert json.loads(saved["info"]) == {"mean": 1.5, "std": 2.0, "history": [{"val_mae": 0.25}]}
    assert torch.equal(saved["state"]["weight"], net.weight.detach())


def test_table_cache_is_json_and_round_trips_exactly(tmp_path):
    frame = pd.DataFrame(
        {
            "mp_id": ["mp-1", "mp-2"],
            "bulk_modulus": [0.1 + 0.2, 1 / 3],
            "spacegroup": np.array([225, 225], dtype=np.int64),
        }
    )
    path = tmp_path / "t.json"
    ecd_data._write_table(path, frame, ["a line"])
    back, log = ecd_data._read_table(path)
    pd.testing.assert_frame_equal(back, frame)
    assert log == ["a line"]
    path.write_bytes(pickle.dumps(frame))  # not JSON: unreadable, so recomputed
    assert ecd_data._read_table(path) is None
