"""The config: the shipped files validate, bad keys, types and values are named, defaults filled.

The checks beyond JSON-schema types (method names and parameters against the registry, model
names against the zoo, CUDA, the test-bed's size against the data) are what stops a bad value
before any job runs (tests/workflow checks the dry run itself)."""

from pathlib import Path

import pytest
import torch
import yaml
from mnist_fixture import write_tiny_mnist

from saliency_sanity.config import ConfigError, method_errors, n_test_images, validate

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "config" / "schema.yaml"


def load(name):
    return yaml.safe_load((ROOT / "config" / name).read_text())


def merge(base: dict, overlay: dict) -> None:
    """Recursive update, as Snakemake merges --configfile overlays."""
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value


@pytest.mark.parametrize("name", ["config.yaml", "smoke.yaml", "paper.yaml"])
def test_shipped_configs_validate(name):
    cfg = load("config.yaml")
    if name != "config.yaml":
        merge(cfg, load(name))
    validate(cfg, SCHEMA)


def test_paper_config_runs_every_adebayo2018_method_at_the_papers_settings():
    """config/paper.yaml leaves no method below the paper's samples, steps and images (the
    claims then carry no "run at ..." note), while the CPU default does say so."""
    from saliency_sanity.figures.adebayo2018 import paper_settings_note

    def notes(cfg):
        size = cfg["testbed"]["size"]
        return {key: paper_settings_note(spec, spec.get("images") or size)
                for key, spec in cfg["adebayo2018"]["methods"].items()}  # fmt: skip

    paper = load("config.yaml")
    merge(paper, load("paper.yaml"))
    assert not any(notes(paper).values()), notes(paper)
    default = notes(load("config.yaml"))
    assert "10 samples, 10 steps, 10 images" in default["smoothgrad_integrated_gradients"]
    assert paper["randomization_variants"]["smooth_samples"] == 50
    assert paper["models"]["cnn"]["normal"]["epochs"] == 50


def rejected(overlay: dict) -> str:
    cfg = load("config.yaml")
    merge(cfg, overlay)
    with pytest.raises(ConfigError) as err:
        validate(cfg, SCHEMA)
    return str(err.value)


def test_unknown_key_is_named():
    assert "'testbed.sizes'" in rejected({"testbed": {"sizes": 10}})


def test_wrong_type_is_named():
    message = rejected({"models": {"cnn": {"normal": {"epochs": "fifty"}}}})
    assert "'models.cnn.normal.epochs'" in message and "not of type 'integer'" in message


def test_unknown_model_is_named():
    assert "'models.lenet'" in rejected({"models": {"lenet": load("config.yaml")["models"]["cnn"]}})


IG = "adebayo2018.methods.integrated_gradients"


@pytest.mark.parametrize(
    ("overlay", "key", "words"),
    [
        # a misspelt parameter of a method
        ({"adebayo2018": {"methods": {"integrated_gradients": {"params": {"stesp": 4}}}}},
         f"{IG}.params.stesp", "unknown parameter 'stesp'"),
        # a count that is not positive, passed on to the base method of a noise tunnel
        ({"adebayo2018": {"methods": {"smoothgrad_gradient": {"params": {"samples": -3}}}}},
         "adebayo2018.methods.smoothgrad_gradient.params.samples", "positive"),
        # a wrong type
        ({"adebayo2018": {"methods": {"integrated_gradients": {"params": {"steps": "many"}}}}},
         f"{IG}.params.steps", "must be integer"),
        # a misspelt method name, in each place that holds one
        ({"adebayo2018": {"methods": {"gradient": {"method": "gradeint"}}}},
         "adebayo2018.methods.gradient.method", "unknown attribution method 'gradeint'"),
        ({"samek2020": {"lrp_rules": {"methods": {"lrp_epsilom": {}}}}},
         "samek2020.lrp_rules.methods.lrp_epsilom", "unknown attribution method"),
        ({"gupta2019": {"cascading_clrp": {"method": "clrp"}}},
         "gupta2019.cascading_clrp.method", "unknown attribution method 'clrp'"),
        # a model the zoo does not have, or that the config does not train
        ({"samek2020": {"model": "resnet"}}, "samek2020.model", "unknown model 'resnet'"),
        ({"adebayo2018": {"models": ["mlp", "vgg"]}}, "adebayo2018.models.1", "unknown model"),
        # more test-bed images than the test-bed has
        ({"gupta2019": {"cgi_maps": {"images": 500}}}, "gupta2019.cgi_maps.images",
         "testbed.size = 200"),
    ],
)  # fmt: skip
def test_bad_values_name_their_key(overlay, key, words):
    message = rejected(overlay)
    assert f"'{key}'" in message, message
    assert words in message, message


def test_untrained_model_is_named():
    cfg = load("config.yaml")
    del cfg["models"]["softmax_regression"]
    with pytest.raises(ConfigError, match=r"'samek2020\.linear_model\.model'.*not trained"):
        validate(cfg, SCHEMA)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: 'cuda' is valid")
def test_cuda_without_cuda_is_named():
    assert "'device'" in rejected({"device": "cuda"})


def test_testbed_larger_than_the_test_set_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("SALIENCY_SANITY_MNIST_MIRROR", raising=False)  # CI points it at MNIST
    write_tiny_mnist(tmp_path / "mnist", n_train=20, n_test=30)
    overlay = {"data": {"root": str(tmp_path / "nothing"), "mirror": str(tmp_path / "mnist")}}
    message = rejected(overlay)  # the default test-bed: 200 images
    assert "'testbed.size'" in message and "only 30" in message


def test_test_set_size_read_from_the_files(tmp_path, monkeypatch):
    monkeypatch.delenv("SALIENCY_SANITY_MNIST_MIRROR", raising=False)
    assert n_test_images({"data": {"root": str(tmp_path)}}) == 10_000  # nothing there: MNIST's
    write_tiny_mnist(tmp_path / "gz", n_train=5, n_test=7)
    assert n_test_images({"data": {"root": str(tmp_path / "gz")}}) == 7
    write_tiny_mnist(tmp_path / "raw", n_train=5, n_test=9, gz=False)
    assert n_test_images({"data": {"root": str(tmp_path / "raw")}}) == 9


# --- the ImageNet tier, checked when the workflow loads (config._imagenet_errors) -----------------

#: torchvision's weights files of the tier (the file names of the weights' URLs)
WEIGHTS_FILES = ("inception_v3_google-0cc3c7bd.pth", "vgg16-397923af.pth", "vgg19-dcbb9e9d.pth")


@pytest.fixture
def empty_torch_home(tmp_path, monkeypatch):
    """The environment's TORCH_HOME: an empty folder (torch.hub.get_dir() reads it)."""
    home = tmp_path / "env_home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    return home


def tier(**keys) -> dict:
    return {"imagenet": {"enabled": True, **keys}}


def test_imagenet_folder_that_does_not_exist_is_named(tmp_path):
    folder = tmp_path / "imagenet" / "val"
    message = rejected(tier(weights=None, testbed={"folder": str(folder)}))
    assert "'imagenet.testbed.folder'" in message and str(folder) in message
    (tmp_path / "a_file").write_text("")  # a file is no folder either
    assert "'imagenet.testbed.folder'" in rejected(
        tier(weights=None, testbed={"folder": str(tmp_path / "a_file")})
    )
    folder.mkdir(parents=True)
    cfg = load("config.yaml")
    merge(cfg, tier(weights=None, testbed={"folder": str(folder)}))
    validate(cfg, SCHEMA)


def test_imagenet_weights_missing_offline_are_named_each_with_its_path(empty_torch_home):
    message = rejected(tier(weights="DEFAULT", allow_download=False))
    for name in WEIGHTS_FILES:
        assert str(empty_torch_home / "hub" / "checkpoints" / name) in message, message
    assert message.count("'imagenet.weights'") == 3 and "allow_download is false" in message


def test_imagenet_torch_home_is_where_offline_weights_are_looked_for(empty_torch_home, tmp_path):
    home = tmp_path / "tier_home"
    message = rejected(tier(weights="DEFAULT", allow_download=False, torch_home=str(home)))
    assert str(home / "hub" / "checkpoints" / "vgg16-397923af.pth") in message, message
    assert str(empty_torch_home) not in message
    (home / "hub" / "checkpoints").mkdir(parents=True)
    for name in WEIGHTS_FILES:  # pre-filled: the dry run passes (the environment's is empty)
        (home / "hub" / "checkpoints" / name).write_bytes(b"")
    cfg = load("config.yaml")
    merge(cfg, tier(weights="DEFAULT", allow_download=False, torch_home=str(home)))
    validate(cfg, SCHEMA)


def test_imagenet_weights_need_no_file_when_downloads_are_allowed_or_random(empty_torch_home):
    for keys in ({"weights": "DEFAULT", "allow_download": True},
                 {"weights": None, "allow_download": False}):  # fmt: skip
        cfg = load("config.yaml")
        merge(cfg, tier(**keys))
        validate(cfg, SCHEMA)


def test_imagenet_unknown_weights_are_named():
    message = rejected(tier(weights="IMAGENET2K"))
    assert "'imagenet.weights'" in message and "IMAGENET2K" in message


def test_imagenet_tier_off_is_not_checked(tmp_path, empty_torch_home):
    cfg = load("config.yaml")
    merge(cfg, {"imagenet": {"enabled": False, "allow_download": False,
                             "testbed": {"folder": str(tmp_path / "missing")}}})  # fmt: skip
    validate(cfg, SCHEMA)


def test_method_errors_accept_good_parameters():
    assert list(method_errors("integrated_gradients", {"steps": 5, "baseline": "black"})) == []
    assert list(method_errors("smoothgrad", {"base": "integrated_gradients", "steps": 3})) == []
    assert list(method_errors("competitive_gradient_input", {})) == []


def test_method_errors_check_the_base_of_a_noise_tunnel():
    errors = dict(method_errors("vargrad", {"base": "integrated_gradients", "stepz": 3}))
    assert "stepz" in errors and "integrated_gradients" in errors["stepz"]
    assert "base" in dict(method_errors("smoothgrad", {"base": "nonsense"}))


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
    cfg = validate({"models": load("config.yaml")["models"]}, SCHEMA)
    assert cfg["testbed"] == {"size": 200, "seed": 0}
    assert cfg["device"] == "auto"
    assert cfg["data"]["mirror"] is None
    assert cfg["paths"] == {"results": "results", "figures": "figures"}
