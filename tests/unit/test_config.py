"""The config: the shipped files validate, bad keys and types are named, defaults filled in."""

from pathlib import Path

import pytest
import yaml

from saliency_sanity.config import ConfigError, validate

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "config" / "schema.yaml"


def load(name):
    return yaml.safe_load((ROOT / "config" / name).read_text())


@pytest.mark.parametrize("name", ["config.yaml", "smoke.yaml", "paper.yaml"])
def test_shipped_configs_validate(name):
    cfg = load("config.yaml")
    if name != "config.yaml":  # overlays, merged recursively as Snakemake does
        merge(cfg, load(name))
    validate(cfg, SCHEMA)


def merge(base: dict, overlay: dict) -> None:
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value


def test_unknown_key_is_named():
    cfg = load("config.yaml")
    cfg["testbed"]["sizes"] = 10
    with pytest.raises(ConfigError, match=r"'testbed\.sizes'"):
        validate(cfg, SCHEMA)


def test_wrong_type_is_named():
    cfg = load("config.yaml")
    cfg["models"]["cnn"]["normal"]["epochs"] = "fifty"
    with pytest.raises(ConfigError, match=r"'models\.cnn\.normal\.epochs'.*not of type 'integer'"):
        validate(cfg, SCHEMA)


def test_unknown_model_is_named():
    cfg = load("config.yaml")
    cfg["models"]["lenet"] = {"normal": cfg["models"]["cnn"]["normal"]}
    with pytest.raises(ConfigError, match=r"'models\.lenet'"):
        validate(cfg, SCHEMA)


def test_every_schema_key_documented():
    schema = yaml.safe_load(SCHEMA.read_text())

    def walk(node, path):
        for key, sub in node.get("properties", {}).items():
            if "$ref" in sub:
                continue
            assert "description" in sub, f"{path}{key} lacks a description"
            assert "default" in sub, f"{path}{key} lacks a default"
            walk(sub, f"{path}{key}.")

    walk(schema, "")
    walk(schema["definitions"]["recipe"], "recipe.")


def test_defaults_filled_in():
    cfg = validate({"models": {}}, SCHEMA)
    assert cfg["testbed"] == {"size": 200, "seed": 0}
    assert cfg["device"] == "auto"
    assert cfg["data"]["mirror"] is None
