"""The catalogue: one registry of experiments and figures drives the DAG, the tests and the
gallery. These tests read its rows for the shipped configs (no Snakemake involved)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_config import load, merge

from saliency_sanity import catalogue
from saliency_sanity.catalogue import C, Catalogue, Field, Model, Resources, Result, Testbed
from saliency_sanity.config import validate
from saliency_sanity.report import read_caption

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "workflow" / "report"

#: the MNIST tier of FIGURES.md: every figure the default run must produce
MNIST_FIGURES = {
    "adebayo2018": [f"{o}_{k}_{m}" for o in ("cascading", "independent")
                    for k in ("grid", "rank") for m in ("mlp", "cnn")],
    "kindermans2017": ["networks", "reference_points", "gradient_signal", "attribution_shift",
                       "checkerboard_shift", "cat_shift"],
    "samek2020": ["linear_model", "occlusion", "ig_equals_gi", "gradient_input_practice",
                  "shattered_gradients", "shattered_table", "smoothgrad", "deconvnet",
                  "lrp_rules", "method_connections", "other_methods"],
    "gupta2019": ["all_logits", "score_histogram", "approximate_completeness", "cgi_maps",
                  "layerwise_cgi", "cascading_cgi", "cascading_clrp", "cascading_cdasp",
                  "data_randomization", "competition_rank"],
}  # fmt: skip


def config(*overlays: str) -> dict:
    cfg = load("config.yaml")
    for name in overlays:
        merge(cfg, load(name))
    return validate(cfg, ROOT / "config" / "schema.yaml")


@pytest.fixture(scope="module")
def default():
    return Catalogue(config())


def test_every_mnist_figure_of_the_catalogue_is_a_row(default):
    for doc, names in MNIST_FIGURES.items():
        for name in names:
            assert f"{doc}/{name}" in default.figures, f"{doc}/{name} missing"


def test_every_figure_has_its_caption_text(default):
    for row in default.figures.values():
        path = Path(default.caption_file(row, str(REPORT)))
        text = read_caption(path, row.fields)
        assert text["title"] and text["paper"] and text["caption"], row.key
        assert "{" not in text["title"], f"{row.key}: unfilled placeholder in {text['title']}"


def test_every_result_read_is_written_and_every_experiment_is_read(default):
    written = {r.outputs["out"] for r in default.experiments.values()}
    read = {f for r in [*default.experiments.values(), *default.figures.values()]
            for files in r.files().values() for f in files}  # fmt: skip
    assert {f for f in read if f.startswith("results/") and f.count("/") == 2
            and f.endswith(".npz") and "/data/" not in f} <= written  # fmt: skip
    assert written <= read, sorted(written - read)


def test_outputs_follow_the_configured_prefixes():
    smoke = Catalogue(config("smoke.yaml"))
    for row in [*smoke.experiments.values(), *smoke.figures.values()]:
        for path in row.outputs.values():
            assert path.startswith("results/smoke/"), path
        for files in row.files().values():
            assert all(f.startswith("results/smoke/") for f in files), row.key
    assert all(not p.startswith("figures/") for p in smoke.figure_files())


def test_a_row_calls_its_function_with_keywords(default):
    row = default.experiments["samek2020/occlusion"]
    call = row.call()
    assert call["fn"] == "saliency_sanity.experiments.samek2020:occlusion"
    kwargs = call["kwargs"]
    assert kwargs["mnist"] == "data/mnist"  # MNIST: the folder, its four files are the inputs
    assert len(row.files()["mnist"]) == 4
    assert kwargs["checkpoint"] == "results/models/cnn/normal.pt"
    assert kwargs["testbed"] == "results/data/testbed.npz"
    assert kwargs["patches"] == [2, 4, 7] and kwargs["device"] == "auto"


def test_references_resolve(default):
    fields = {"model": "cnn"}
    assert Model("{model}").resolve(default, fields)[1] == "results/models/cnn/normal.pt"
    assert Model("vgg16").resolve(default, {})[1] == "results/models/vgg16/imagenet.json"
    assert Testbed("vgg16").resolve(default, {})[1] == "results/data/imagenet_vgg16.npz"
    assert Result("a/b").resolve(default, {})[1] == "results/a/b.npz"
    assert Model(C("samek2020.model")).resolve(default, {})[1] == "results/models/cnn/normal.pt"
    assert C("gupta2019.{key}.images").value(default.config, {"key": "cgi_maps"}) == 6
    assert Field("model").value(default.config, fields) == "cnn"


def broken_experiment(*, out):  # pragma: no cover - registered, never called
    """An experiment whose spec passes a keyword it does not take."""


def test_a_spec_that_does_not_fit_its_function_is_refused(monkeypatch):
    monkeypatch.setattr(catalogue, "SPECS", list(catalogue.SPECS))
    catalogue.experiment("samek2020", "broken", params={"not_an_argument": 1})(broken_experiment)
    with pytest.raises(TypeError, match=r"does not accept.*not_an_argument"):
        Catalogue(config())


def test_a_spec_registered_twice_is_refused(monkeypatch):
    monkeypatch.setattr(catalogue, "SPECS", list(catalogue.SPECS))
    catalogue.experiment("samek2020", "twice")(lambda *, out: None)
    with pytest.raises(ValueError, match="registered twice"):
        catalogue.experiment("samek2020", "twice")(lambda *, out: None)


def positional_figure(results, *, png, pdf, csv, entry):  # pragma: no cover - never called
    """A figure function whose first argument can be passed by position."""


@pytest.mark.parametrize("kind", ["experiment", "figure"])
def test_a_function_that_is_not_keyword_only_is_refused(monkeypatch, kind):
    monkeypatch.setattr(catalogue, "SPECS", list(catalogue.SPECS))
    register = getattr(catalogue, kind)("samek2020", "positional")
    with pytest.raises(TypeError, match=r"positional_figure must take keyword-only.*'results'"):
        register(positional_figure)
    with pytest.raises(TypeError, match=r"<lambda> must take keyword-only.*'args'"):
        register(lambda *args, out: None)
    assert not [s for s in catalogue.SPECS if s.name == "positional"]


def test_heavy_rows_declare_resources(default):
    for row in default.experiments.values():
        assert isinstance(row.resources, Resources)
        assert row.resources.mem_mb >= 500 and row.resources.runtime >= 5, row.key


# --- the ImageNet tier's rows ---------------------------------------------------------------


@pytest.fixture(scope="module")
def imagenet_on():
    return Catalogue(config("imagenet.yaml"))


def tier_only(on: Catalogue, default: Catalogue, table: str) -> dict:
    """The rows the switch adds (absent with the tier off)."""
    return {k: r for k, r in getattr(on, table).items() if k not in getattr(default, table)}


def test_every_imagenet_experiment_declares_a_gpu(imagenet_on, default):
    rows = tier_only(imagenet_on, default, "experiments")
    assert len(rows) >= 16, sorted(rows)  # 18 figures from 16 experiments
    for key, row in rows.items():
        assert row.resources.gpu == 1, (key, row.resources)
        reads = [f for files in row.files().values() for f in files]
        assert any(f.endswith("/imagenet.json") for f in reads), (key, reads)


def _imagenet_captions(cat: Catalogue, default: Catalogue) -> dict[str, dict[str, str]]:
    rows = tier_only(cat, default, "figures")
    assert len(rows) == 18, sorted(rows)
    return {k: read_caption(Path(cat.caption_file(r, str(REPORT))), r.fields)
            for k, r in rows.items()}  # fmt: skip


def test_imagenet_captions_name_the_weights_and_the_image_source(imagenet_on, default, tmp_path):
    from saliency_sanity import imagenet

    photos = catalogue.imagenet_images(imagenet_on.config)
    labelled = [n for n, c in imagenet.SKIMAGE_PHOTOGRAPHS.items() if c is not None]
    assert "scikit-image" in photos and "five" in photos and "only three" in photos
    assert len(imagenet.SKIMAGE_PHOTOGRAPHS) == 5 and len(labelled) == 3
    cfg = load("config.yaml")
    merge(cfg, load("imagenet.yaml"))
    merge(cfg, {"imagenet": {"testbed": {"folder": str(tmp_path)}}})
    folder = Catalogue(validate(cfg, ROOT / "config" / "schema.yaml"))
    val = catalogue.imagenet_images(folder.config)
    assert str(tmp_path) in val and "20 images" in val and "accordion" in val
    for cat, images in ((imagenet_on, photos), (folder, val)):
        weights = catalogue.imagenet_weights(cat.config)
        for key, text in _imagenet_captions(cat, default).items():
            assert weights in text["caption"] and images in text["caption"], key
            assert not any("{" in v for v in text.values()), (key, text)
    assert "scikit-image" not in val


def test_no_vgg19_row_runs_dasp_and_its_captions_say_so(imagenet_on, default):
    for key, row in tier_only(imagenet_on, default, "experiments").items():
        assert "dasp" not in str(row.params).lower(), key
    captions = _imagenet_captions(imagenet_on, default)
    for key in ("gupta2019/competition_rank_vgg19", "gupta2019/approximate_completeness_vgg19"):
        text = captions[key]["caption"]
        assert "DASP" in text and "not run on VGG-19" in text and "150 528" in text, key


def test_schema_documents_the_paths_key():
    schema = yaml.safe_load((ROOT / "config" / "schema.yaml").read_text())
    assert set(schema["properties"]["paths"]["properties"]) == {"results", "figures"}


def test_a_figure_job_never_loads_torch():
    """The adapter's imports, its set_threads and every figure function's module (both tiers)
    leave torch unloaded: figures only read saved results, and torch's import was half of a
    figure job's time. A torch imported afterwards gets the rule's thread count."""
    cat = Catalogue(config("imagenet.yaml"))
    modules = sorted({r.call()["fn"].partition(":")[0] for r in cat.figures.values()})
    assert any(k.endswith("_vgg16") for k in cat.figures) and len(modules) >= 5
    code = (
        "import importlib, sys\n"
        "from saliency_sanity.io import setup_logging\n"
        "from saliency_sanity.runtime import set_threads\n"
        "set_threads(1)\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "    assert 'torch' not in sys.modules, m\n"
        "import torch\n"
        "assert torch.get_num_threads() == 1, torch.get_num_threads()\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
