"""Density sources (provider x valence setting): the registry, parsing with one-line errors,
the comparison of sources on the same folds (stored runs keep their identity), and the
command line that runs it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from matfusion.cli import main
from matfusion.ecd.density import (
    DENSITY_SOURCES,
    get_source,
    parse_sources,
    source_name,
)
from matfusion.ecd.experiments import (
    _config,
    comparison_sources,
    pair_sources,
    run_cv,
    run_provider_comparison,
    select_sources,
)
from matfusion.ecd.fitting import prepare_inputs
from matfusion.ecd.settings import (
    comparison_profile,
    ecd_profile,
    profile_source,
    provider_settings,
    with_source,
)
from matfusion.registry import Registry, UnknownNameError
from matfusion.results import ResultsStore

PROMOLECULAR = ["promolecular-all-electron", "promolecular-valence"]


def test_sources_are_a_registry_of_provider_and_valence() -> None:
    assert isinstance(DENSITY_SOURCES, Registry) and DENSITY_SOURCES.kind == "density source"
    assert DENSITY_SOURCES.names() == [
        "promolecular-all-electron", "promolecular-valence", "gpaw-all-electron", "gpaw-valence",
    ]  # fmt: skip
    for name, source in DENSITY_SOURCES.items():
        assert source.name == name and name == source_name(source.provider, source.valence)
        assert source.provider_instance().settings().get("valence", False) is source.valence
    assert get_source("gpaw-valence").settings() == {"valence": True}
    assert get_source("gpaw-all-electron").settings() == {}  # all-electron keys unchanged
    with pytest.raises(ValueError, match="no density source"):
        source_name("chgcar", False)
    with pytest.raises(UnknownNameError, match="unknown density provider 'gpw'"):
        source_name("gpw", True)


def test_parsing_sources_names_an_unknown_one_in_one_line() -> None:
    assert parse_sources("gpaw-valence, promolecular-valence") == [
        "gpaw-valence", "promolecular-valence",
    ]  # fmt: skip
    assert parse_sources(["gpaw-all-electron"]) == ["gpaw-all-electron"]
    with pytest.raises(UnknownNameError) as err:
        parse_sources("promolecular-valence,gpaw-valance")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("unknown density source 'gpaw-valance'; did you mean 'gpaw-valence'")
    assert "(valid: promolecular-all-electron, promolecular-valence," in message
    with pytest.raises(ValueError, match="named twice: gpaw-valence"):
        parse_sources("gpaw-valence,gpaw-valence")
    with pytest.raises(ValueError, match="at least one density source"):
        parse_sources(" , ")


def test_a_source_is_a_profile_setting_and_the_defaults_follow_the_valence() -> None:
    standard = ecd_profile("standard")
    valence = with_source(standard, "gpaw-valence")
    assert (valence.provider, valence.valence) == ("gpaw", True)
    assert provider_settings(valence) == {"valence": True}
    assert profile_source(standard) == "promolecular-valence"
    assert profile_source(standard, "gpaw") == "gpaw-valence"
    # standard's comparisons keep its first (all-electron) settings: the stored pair plus GPAW
    # valence, for CV and LOEO. Standard with an override runs them as it is.
    first = comparison_profile(standard)
    assert (first.valence, first.variant, first.epochs, first.repeats) == (
        False, "matfusion-v1", 25, 1,
    )  # fmt: skip
    assert comparison_profile(first) == first
    longer = replace(standard, epochs=200)
    assert comparison_profile(longer) == longer
    assert pair_sources(longer) == ("promolecular-valence", "gpaw-valence")
    assert comparison_sources(standard) == (
        "promolecular-all-electron", "gpaw-all-electron", "gpaw-valence",
    )  # fmt: skip
    assert comparison_sources(standard, "loeo") == comparison_sources(standard)
    with pytest.raises(ValueError, match="design must be 'cv' or 'loeo'"):
        comparison_sources(standard, "holdout")
    assert pair_sources(standard) == ("promolecular-all-electron", "gpaw-all-electron")
    assert comparison_sources("smoke") == (
        "promolecular-valence", "gpaw-valence", "gpaw-all-electron",
    )  # fmt: skip
    sources = comparison_sources(standard)
    assert select_sources(None, sources) == list(sources)
    assert select_sources(["gpaw"], sources) == ["gpaw-all-electron", "gpaw-valence"]
    assert select_sources(["gpaw-valence"], sources) == ["gpaw-valence"]
    with pytest.raises(ValueError, match="outside the comparison"):
        select_sources(["promolecular-valence"], sources)
    with pytest.raises(UnknownNameError, match="did you mean 'gpaw-valence'"):
        select_sources(["gpaw-valenc"], sources)


def test_the_stored_standard_pair_is_found_through_its_sources() -> None:
    """The committed promolecular/GPAW comparison (all-electron, 501 materials) is read
    through the sources without retraining: every expected run is a stored record."""
    pair = ["promolecular-all-electron", "gpaw-all-electron"]
    table, info = run_provider_comparison(
        ["bulk", "shear"], "standard", pair, progress=False, missing="skip"
    )
    runs = info["per_fold"]
    assert info["materials"] == {s: 501 for s in pair}
    assert runs.groupby("source").size().to_dict() == {s: 50 for s in pair}
    assert set(table["source"]) == set(pair) and set(table["provider"]) == {"promolecular", "gpaw"}


def test_promolecular_sources_on_smoke_train_paired_runs(tmp_path, monkeypatch) -> None:
    """Both promolecular valence settings on the same smoke folds, trained into a temporary
    store: a density model has one run per source, a Magpie model one run shared by both,
    each source's configs are those of the profile with its settings (so stored runs keep
    their identity), and a second call finds them all."""
    monkeypatch.setenv("MATFUSION_RESULTS", str(tmp_path / "results"))
    prof = replace(ecd_profile("smoke"), compare_max_materials=8, epochs=1, patience=1)
    models = ["RF+Magpie", "3D-CNN+ECD"]
    table, info = run_provider_comparison(["bulk"], prof, PROMOLECULAR, models=models,
                                          progress=False)  # fmt: skip
    assert info["sources"] == PROMOLECULAR and info["left_out_elements"] == []
    assert info["materials"] == {s: 8 for s in PROMOLECULAR}
    store = ResultsStore()
    assert store.root == tmp_path / "results"
    records = store.records("ecd_cv")
    assert len(records) == 2 + 2 * 2  # RF shared by both sources; the 3D-CNN once per source
    runs = info["per_fold"]
    assert len(runs) == 2 * 2 * 2 and set(runs["source"]) == set(PROMOLECULAR)
    density = {r["config"]["density"]["settings"].get("valence") for r in records
               if r["config"]["density"] is not None}  # fmt: skip
    assert density == {None, True}  # all-electron configs carry no valence key, as before
    by_key = {r["key"] for r in records}
    for source in PROMOLECULAR:  # the records a plain CV of that profile would look up
        inputs = prepare_inputs(
            with_source(prof, source),
            need_density=False,
            mp_ids=sorted({i for r in records for i in r["predictions"]["mp_id"]}),
            progress=False,
            verbose=False,
        )
        again = run_cv(["3D-CNN+ECD"], ["bulk"], inputs, progress=False, missing="skip")
        assert len(again) == 2 and {r["key"] for r in again} <= by_key
        config = _config("ecd_cv", "3D-CNN+ECD", "bulk", inputs, 0, fold=0, folds=prof.folds)
        assert config in [r["config"] for r in again]
    paired = runs.pivot_table(index=["model", "fold"], columns="source", values="R2")
    rf = paired.loc["RF+Magpie"]
    assert (rf[PROMOLECULAR[0]] == rf[PROMOLECULAR[1]]).all()  # one shared Magpie run
    _, stored = run_provider_comparison(["bulk"], prof, PROMOLECULAR, models=models,
                                        progress=False, missing="skip")  # fmt: skip
    assert stored["per_fold"].equals(runs)
    half = ResultsStore(tmp_path / "half")
    _, one = run_provider_comparison(["bulk"], prof, PROMOLECULAR, models=["3D-CNN+ECD"],
                                     only=["promolecular-valence"], store=half,
                                     progress=False, missing="skip")  # fmt: skip
    assert one["materials"] == {"promolecular-valence": 8} and one["per_fold"].empty
    assert list(one["per_fold"].columns) == [
        "target", "model", "repeat", "fold", "source", "provider", "R2", "RMSE", "at_cap",
    ]  # fmt: skip


def test_the_cli_names_an_unknown_or_outside_source_before_any_run(tmp_path, monkeypatch,
                                                                    capsys) -> None:  # fmt: skip
    monkeypatch.setenv("MATFUSION_RESULTS", str(tmp_path))
    code = main(["ecd", "compare", "--profile", "smoke", "--sources",
                 "promolecular-valence,gpaw-valance"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("matfusion ecd: error: unknown density source 'gpaw-valance'; "
                          "did you mean 'gpaw-valence'")  # fmt: skip
    code = main(["ecd", "compare", "--profile", "smoke", "--sources", ",".join(PROMOLECULAR),
                 "--only", "gpaw-valence"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "outside the comparison" in err and err.count("\n") == 1
    assert not any(tmp_path.iterdir())  # nothing trained or stored
