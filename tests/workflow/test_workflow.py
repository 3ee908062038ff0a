"""The Snakemake workflow: the dry run of the default config, bad values stopped before any job
(and nothing already computed touched), and the smoke DAG on a tiny synthetic MNIST: every
deliverable under its own prefix, a deleted one rebuilt, the user's umask, no timings, a
rerun that does nothing, and the HTML report."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest
import yaml
from _smk import (
    SMOKE_CONFIGS,
    SMOKE_CORES,
    copy_smoke_run,
    job_stats,
    local_threads,
    recorded_threads,
    scratch,
    smoke_catalogue,
    snakemake,
    tail,
)

from saliency_sanity.report import read_caption

pytestmark = pytest.mark.workflow


def test_dry_run_lists_every_deliverable_of_the_default_config(tmp_path):
    from _smk import default_catalogue

    work = scratch(tmp_path)
    result = snakemake(work, "-n")
    assert result.returncode == 0, tail(result)
    out = result.stdout + result.stderr
    cat = default_catalogue()
    missing = [f for f in cat.figure_files() if f not in out]
    assert not missing, missing[:10]
    assert "figures/claims.csv" in out and "figures/README.md" in out


def _existing_results(work):
    """A results/ tree as a finished earlier run would have left it."""
    files = {}
    for rel in ("results/models/cnn/normal.pt", "results/adebayo2018/cascading_maps_cnn.npz",
                "results/data/testbed.npz", "figures/claims.csv"):  # fmt: skip
        path = work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"computed earlier: {rel}".encode())
        os.utime(path, (1_000_000_000, 1_000_000_000))
        files[path] = path.read_bytes()
    return files


BAD_VALUES = [
    ({"adebayo2018": {"methods": {"integrated_gradients": {"params": {"stesp": 4}}}}},
     "adebayo2018.methods.integrated_gradients.params.stesp"),
    ({"adebayo2018": {"methods": {"smoothgrad_gradient": {"params": {"samples": -3}}}}},
     "adebayo2018.methods.smoothgrad_gradient.params.samples"),
    ({"adebayo2018": {"methods": {"gradient": {"method": "gradeint"}}}},
     "adebayo2018.methods.gradient.method"),
    ({"samek2020": {"model": "resnet"}}, "samek2020.model"),
    ({"testbed": {"size": 20000}}, "testbed.size"),
]  # fmt: skip
if not __import__("torch").cuda.is_available():  # on a CUDA machine 'cuda' is a good value
    BAD_VALUES.append(({"device": "cuda"}, "device"))


@pytest.mark.parametrize(("overlay", "key"), BAD_VALUES, ids=[k for _, k in BAD_VALUES])
def test_a_bad_value_stops_before_any_job_and_touches_nothing(tmp_path, overlay, key):
    work = scratch(tmp_path)
    before = _existing_results(work)
    (work / "bad.yaml").write_text(yaml.safe_dump(overlay))
    for args in (["-n"], ["--cores", "1"]):  # the dry run, and a real run
        result = snakemake(work, *args, "--configfile", "config/config.yaml", "bad.yaml")
        out = result.stdout + result.stderr
        assert result.returncode != 0, tail(result)
        assert f"config key '{key}'" in out, tail(result)
    for path, content in before.items():
        assert path.read_bytes() == content, f"{path} was changed"
        assert path.stat().st_mtime == 1_000_000_000, f"{path} was touched"
    assert not (work / "results" / "logs").exists(), "a job ran"


def test_smoke_run_writes_every_deliverable_under_its_own_prefix(local_smoke_run):
    cat = smoke_catalogue()
    missing = [f for f in cat.figure_files() if not (local_smoke_run / f).is_file()]
    assert not missing, missing
    assert not (local_smoke_run / "figures").exists(), "the smoke run wrote into figures/"
    claims = pd.read_csv(local_smoke_run / cat.figures_dir / "claims.csv")
    columns = ["id", "doc", "figure", "kind", "claim", "measured", "null", "expected", "holds"]
    assert list(claims.columns) == columns
    assert set(claims["kind"]) <= {"empirical", "identity", "beyond"}
    assert claims["kind"].notna().all() and claims["measured"].notna().all()
    assert not claims["id"].str.contains("_mass_").any()
    gallery = (local_smoke_run / cat.figures_dir / "README.md").read_text()
    for row in cat.figures.values():
        assert f"`{row.key}`" in gallery, row.key


def test_a_rerun_does_nothing(local_smoke_run):
    result = snakemake(local_smoke_run, "-n", "--cores", str(SMOKE_CORES), *SMOKE_CONFIGS,
                       env=smoke_env(local_smoke_run))  # fmt: skip
    assert "Nothing to be done" in result.stdout + result.stderr, tail(result)


def smoke_env(work):
    return {"SALIENCY_SANITY_MNIST_MIRROR": str(work.parent / "mirror")}


def test_a_deleted_deliverable_is_rebuilt(local_smoke_run, tmp_path):
    work, env = copy_smoke_run(local_smoke_run, tmp_path)
    cat = smoke_catalogue()
    png = work / cat.figures["samek2020/occlusion"].outputs["png"]
    original = png.read_bytes()
    png.unlink()
    result = snakemake(work, "--cores", str(SMOKE_CORES), *SMOKE_CONFIGS, env=env)
    assert result.returncode == 0, tail(result)
    assert png.read_bytes() == original, "the rebuilt figure differs"
    # that figure alone (and the report and gallery that list it), although the copy reads its
    # MNIST mirror from another folder: the mirror is not a rerun trigger, the checksums are
    stats = job_stats(result.stdout + result.stderr)
    assert stats.get("figure") == 1 and set(stats) <= {"figure", "report", "all"}, stats


def test_jobs_run_with_the_threads_this_machine_gives_them(local_smoke_run):
    """A training and an experiment declare two threads: here they run with what the
    workflow's packing gives (one each on a 2-core machine, so that two run at once), and a
    figure with one."""
    logs = local_smoke_run / "results" / "smoke" / "logs"
    scorecard = smoke_catalogue().experiments["beyond/scorecard"].resources.threads
    jobs = {"train/cnn/normal.log": 2, "experiment/beyond/scorecard.log": scorecard}
    for log, declared in jobs.items():
        assert recorded_threads(logs / log) == local_threads(declared), log
    assert recorded_threads(logs / "figure" / "beyond" / "scorecard.log") == 1


def test_files_keep_the_users_umask(local_smoke_run):
    """Every file and folder the run writes under its prefix (data, models, experiments, figures,
    gallery entries, logs, benchmarks) has the mode the user's umask gives."""
    mask = os.umask(0)
    os.umask(mask)
    root = local_smoke_run / smoke_catalogue().results
    paths = sorted(root.rglob("*"))
    wrong = [
        f"{p.relative_to(root)}: {oct(stat.S_IMODE(p.stat().st_mode))}"
        for p in paths
        if stat.S_IMODE(p.stat().st_mode) != (0o777 if p.is_dir() else 0o666) & ~mask
    ]
    assert not wrong, f"umask {oct(mask)}: " + ", ".join(wrong[:20])
    written = {p.relative_to(root).parts[0] for p in paths if p.is_file()}
    assert {"data", "models", "logs", "benchmarks", "report", "figures"} <= written, written
    assert any(p.suffix == ".pt" for p in paths) and any(p.suffix == ".tsv" for p in paths)


def test_committed_outputs_carry_no_timings(local_smoke_run):
    cat = smoke_catalogue()
    for path in cat.figure_files():
        if path.endswith(".csv"):
            header = (local_smoke_run / path).read_text().splitlines()[0].lower()
            for word in ("second", "wall", "time_s", "elapsed"):
                assert word not in header, f"{path} has a timing column: {header}"
    gallery = (local_smoke_run / cat.figures_dir / "README.md").read_text()
    assert " s per image" not in gallery and "seconds" not in gallery


def test_html_report_shows_every_figure_with_its_caption(local_smoke_run, tmp_path):
    from _smk import REPORT_DIR

    report = tmp_path / "report.html"
    result = snakemake(local_smoke_run, *SMOKE_CONFIGS, "--report", str(report),
                       env=smoke_env(local_smoke_run))  # fmt: skip
    assert result.returncode == 0, tail(result)
    html = report.read_text(errors="replace")
    cat = smoke_catalogue()
    for row in cat.figures.values():
        assert row.name in html, f"{row.key} is not in the report"
        title = read_caption(cat.caption_file(row, str(REPORT_DIR)), row.fields)["title"]
        assert title.split(" (")[0] in html, f"{row.key}: caption missing from the report"
    print(f"\nreport: {report.stat().st_size / 1e6:.1f} MB, {len(cat.figures)} figures")
