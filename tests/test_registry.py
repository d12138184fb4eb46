"""The one registry type behind every kind of named thing: order, duplicates, the one-line
unknown-name error, and that each kind is such a registry."""

from __future__ import annotations

import pytest

from matfusion.registry import Registry, UnknownNameError, close_matches, unknown_name


def _fruit() -> Registry[int]:
    return Registry("fruit", [("apple", 1), ("banana", 2), ("cherry", 3)])


def test_lookup_and_mapping_reads() -> None:
    reg = _fruit()
    assert reg["banana"] == 2 and reg.get("cherry") == 3
    assert reg.get("durian", None) is None and reg.get("durian", 0) == 0
    assert "apple" in reg and "durian" not in reg and ["x"] not in reg  # unhashable: no error
    assert len(reg) == 3 and list(reg) == ["apple", "banana", "cherry"]
    assert list(reg.items()) == [("apple", 1), ("banana", 2), ("cherry", 3)]
    assert list(reg.values()) == [1, 2, 3] and dict(reg) == {"apple": 1, "banana": 2, "cherry": 3}
    assert sorted(reg) == ["apple", "banana", "cherry"]


def test_names_keep_registration_order() -> None:
    reg: Registry[str] = Registry("letter")
    for name in ("zeta", "alpha", "mu"):
        assert reg.register(name, name.upper()) == name.upper()
    assert reg.names() == ["zeta", "alpha", "mu"] == list(reg)


def test_duplicate_registration_is_an_error() -> None:
    reg = _fruit()
    with pytest.raises(ValueError, match="fruit 'apple' is already registered"):
        reg.register("apple", 9)
    assert reg["apple"] == 1  # the first stays
    with pytest.raises(ValueError, match="already registered"):
        Registry("fruit", [("a", 1), ("a", 2)])


def test_unknown_name_is_one_line_with_close_matches() -> None:
    reg = _fruit()
    with pytest.raises(UnknownNameError) as info:
        reg["banan"]
    err = info.value
    assert isinstance(err, KeyError)
    assert (
        str(err) == "unknown fruit 'banan'; did you mean 'banana'? (valid: apple, banana, cherry)"
    )
    assert err.args == (str(err),) and (err.kind, err.name) == ("fruit", "banan")
    with pytest.raises(KeyError, match=r"^unknown fruit 'kiwi' \(valid: apple, banana, cherry\)$"):
        reg.get("kiwi")  # nothing close: no suggestion, still the list
    with pytest.raises(UnknownNameError, match="did you mean 'cherry'"):
        reg["CHERRY"]  # case is forgiven in the suggestion, not in the lookup
    with pytest.raises(UnknownNameError, match=r"^unknown fruit \"\['x'\]\" \(valid"):
        reg[["x"]]  # type: ignore[index]


def test_several_suggestions_and_a_merged_namespace() -> None:
    names = ["L-G-DCNN", "L-G-DCNN-V1", "LDCNN", "CrabNet"]
    assert close_matches("l-g-dcn", names) == ["L-G-DCNN", "L-G-DCNN-V1", "LDCNN"]
    err = unknown_name("model", "L-G-DCN", names)
    assert str(err) == (
        "unknown model 'L-G-DCN'; did you mean 'L-G-DCNN', 'L-G-DCNN-V1' or 'LDCNN'? "
        "(valid: L-G-DCNN, L-G-DCNN-V1, LDCNN, CrabNet)"
    )


def test_named_registers_under_each_items_own_name() -> None:
    from matfusion.profiles import Profile

    made = [
        Profile(name, "", "fast", 1, None, None, ()) for name in ("one", "two")
    ]  # fmt: skip
    reg = Registry.named("profile", made)
    assert reg.names() == ["one", "two"] and reg["two"] is made[1]
    with pytest.raises(ValueError, match="profile 'one' is already registered"):
        Registry.named("profile", [*made, made[0]])


def test_every_kind_is_a_registry_with_its_kind_in_the_error() -> None:
    from matfusion.baselines import PEERS
    from matfusion.data import DATASETS
    from matfusion.ecd.density import DENSITY_SOURCES, PROVIDERS
    from matfusion.ecd.models import ECD_MODELS, ECD_VARIANTS
    from matfusion.ecd.settings import ECD_PROFILES
    from matfusion.models import MODELS
    from matfusion.profiles import PROFILES
    from matfusion.train import RECIPES

    kinds = {
        "model": MODELS,
        "peer": PEERS,
        "dataset": DATASETS,
        "recipe": RECIPES,
        "profile": PROFILES,
        "ECD profile": ECD_PROFILES,
        "density provider": PROVIDERS,
        "density source": DENSITY_SOURCES,
        "ECD model": ECD_MODELS,
        "ECD architecture variant": ECD_VARIANTS,
    }
    for kind, reg in kinds.items():
        assert isinstance(reg, Registry) and reg.kind == kind
        with pytest.raises(UnknownNameError, match=f"^unknown {kind} 'nope'"):
            reg["nope"]
    # items registered under their own names: the name in the record is the registry's
    named = (MODELS, PEERS, DATASETS, RECIPES, PROFILES, ECD_PROFILES, PROVIDERS, DENSITY_SOURCES,
             ECD_MODELS)  # fmt: skip
    for reg in named:
        assert all(item.name == name for name, item in reg.items())


def test_density_providers_satisfy_the_declared_protocol() -> None:
    from matfusion.ecd.density import PROVIDERS, DensityProvider, get_provider

    for name in PROVIDERS:
        provider = get_provider(name)
        assert isinstance(provider, DensityProvider) and provider.name == name
        assert isinstance(provider.settings(), dict)
