"""The catalogue: one registry of the pipeline's experiments and figures (FIGURES.md).

Every experiment function (``saliency_sanity.experiments.*``) and every figure function
(``saliency_sanity.figures.*``) is registered here by a decorator next to it::

    @experiment("adebayo2018", "{order}_maps_{model}",
                over={"order": ORDERS, "model": C("adebayo2018.models")},
                inputs={"checkpoint": Model("{model}"), "testbed": Testbed("{model}")},
                params={"methods": C("adebayo2018.methods"), "order": Field("order")},
                resources=Resources(gpu=1, threads=2, mem_mb=4000, runtime=30))
    def randomization(*, checkpoint, testbed, out, methods, order, device): ...

    @figure("adebayo2018", "{order}_rank_{model}", caption="{order}_rank", over=...,
            inputs={"maps": Result("adebayo2018/{order}_maps_{model}")})
    def rank_figure(*, maps, png, pdf, csv, entry): ...

:class:`Catalogue` expands the registered specs for one configuration into concrete rows
(``adebayo2018/cascading_maps_cnn``, ...), each with its input files, its keyword arguments and
its resources. The workflow (``workflow/rules/``) generates its rules from these rows: one
wildcard experiment rule (``<results>/<doc>/<name>.npz``), one wildcard figure rule
(``<figures>/<doc>/<name>.png|pdf|csv``), inputs and params looked up by name; the tests and the
gallery read the same rows. Functions are keyword-only: the adapter calls
``fn(**inputs, **outputs, **params)``, so a rule and its function cannot disagree on an
argument's position. The library never sees Snakemake; this module only builds paths.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import pkgutil
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: the models of the ImageNet tier (torchvision; see :mod:`saliency_sanity.imagenet`)
IMAGENET_MODELS = ("inception_v3", "vgg16", "vgg19")
#: the outputs of every figure rule
FIGURE_OUTPUTS = ("png", "pdf", "csv")


@dataclass(frozen=True)
class Resources:
    """What a job needs: ``gpu`` (placed on a GPU by a cluster profile), ``threads``,
    ``mem_mb`` and ``runtime`` (minutes; used by the SLURM profile)."""

    gpu: int = 0
    threads: int = 1
    mem_mb: int = 1000
    runtime: int = 10


#: what a figure job needs (reads saved results, draws with matplotlib; no GPU)
FIGURE_RESOURCES = Resources(mem_mb=2000, runtime=10)


# --- references inside specs ---------------------------------------------------------------


def lookup(config: Mapping, path: str) -> Any:
    """``config["a"]["b"]`` for ``"a.b"``; KeyError naming the path."""
    node: Any = config
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise KeyError(f"config has no key {path!r}")
        node = node[part]
    return node


def _fmt(template: str, fields: Mapping[str, str]) -> str:
    def sub(m: re.Match) -> str:
        if m[1] not in fields:
            raise KeyError(f"{template!r}: no field {m[1]!r} (fields: {sorted(fields)})")
        return str(fields[m[1]])

    return re.sub(r"\{(\w+)\}", sub, template)


@dataclass(frozen=True)
class C:
    """A config value, by dotted path (which may use the row's fields: ``"a.{model}.b"``)."""

    path: str

    def value(self, config: Mapping, fields: Mapping[str, str]) -> Any:
        return lookup(config, _fmt(self.path, fields))


@dataclass(frozen=True)
class Field:
    """The value of one of the row's fields (``Field("model")`` -> ``"cnn"``)."""

    name: str

    def value(self, config: Mapping, fields: Mapping[str, str]) -> Any:
        return fields[self.name]


@dataclass(frozen=True)
class Ref:
    """A file a row reads. ``files``: what Snakemake waits for; ``value``: what the function
    gets (the same path, except MNIST: the folder of its four files)."""

    kind: str
    name: str | C = ""
    variant: str = "normal"

    def resolve(self, cat: Catalogue, fields: Mapping[str, str]) -> tuple[list[str], Any]:
        name = (self.name.value(cat.config, fields) if isinstance(self.name, C)
                else _fmt(self.name, fields))  # fmt: skip
        variant = _fmt(self.variant, fields)
        res = cat.results
        if self.kind == "mnist":
            files = cat.mnist_files()
            return files, cat.mnist_root
        if self.kind == "testbed":
            path = (f"{res}/data/imagenet_{name}.npz" if name in IMAGENET_MODELS
                    else f"{res}/data/testbed.npz")  # fmt: skip
        elif self.kind == "model":
            path = (f"{res}/models/{name}/imagenet.json" if name in IMAGENET_MODELS
                    else f"{res}/models/{name}/{variant}.pt")  # fmt: skip
        elif self.kind == "metrics":
            path = f"{res}/models/{name}/{variant}.json"
        elif self.kind == "result":
            path = f"{res}/{name}.npz"
        else:  # pragma: no cover - the constructors below are the only way in
            raise ValueError(f"unknown reference kind {self.kind!r}")
        return [path], path


MNIST = Ref("mnist")


def Testbed(model: str | C = "") -> Ref:
    """The test-bed of ``model``: MNIST's (``results/data/testbed.npz``) or the ImageNet
    tier's images preprocessed for that model."""
    return Ref("testbed", model)


def Model(name: str | C, variant: str = "normal") -> Ref:
    """A trained checkpoint (MNIST tier) or an ImageNet model spec."""
    return Ref("model", name, variant)


def Metrics(name: str | C, variant: str = "normal") -> Ref:
    return Ref("metrics", name, variant)


def Result(name: str) -> Ref:
    """The ``.npz`` of the experiment ``"<doc>/<name>"``."""
    return Ref("result", name)


# --- specs and rows ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    kind: str
    doc: str
    name: str
    fn: str
    over: Mapping[str, Any]
    inputs: Any
    params: Any
    resources: Resources
    when: Any
    caption: str | None
    fields: Any = None


SPECS: list[Spec] = []


def _register(kind, doc, name, over, inputs, params, resources, when, caption, fields=None):
    def deco(fn: Callable) -> Callable:
        path = f"{fn.__module__}:{fn.__qualname__}"
        positional = [p.name for p in inspect.signature(fn).parameters.values()
                      if p.kind not in (p.KEYWORD_ONLY, p.VAR_KEYWORD)]  # fmt: skip
        if positional:
            raise TypeError(f"{kind} {doc}/{name}: {path} must take keyword-only arguments (the "
                            f"adapter calls it with keywords), but {positional} can be passed "
                            f"by position: write def {fn.__name__}(*, ...)")  # fmt: skip
        if any((s.kind, s.doc, s.name, s.fn) == (kind, doc, name, path) for s in SPECS):
            raise ValueError(f"{kind} {doc}/{name} ({path}) registered twice")
        spec = Spec(kind, doc, name, path, dict(over or {}), inputs or {}, params or {},
                    resources, when, caption, fields)  # fmt: skip
        SPECS.append(spec)
        return fn

    return deco


def experiment(doc: str, name: str, *, over=None, inputs=None, params=None,
               resources: Resources = Resources(), when=None):  # fmt: skip
    """Register an experiment: its function writes ``<results>/<doc>/<name>.npz`` (``out``).

    ``over``: field -> values (a tuple, a :class:`C` list, or ``f(config)``); one row per
    combination. ``inputs``/``params``: name -> reference / value (:class:`C`, :class:`Field`,
    a literal), or ``f(config, **fields)`` giving that mapping. ``when``: ``f(config,
    **fields)`` -> bool (e.g. :func:`imagenet_on`)."""
    return _register("experiment", doc, name, over, inputs, params, resources, when, None)


def figure(doc: str, name: str, *, over=None, inputs=None, params=None, caption=None,
           when=None, fields=None, resources: Resources = FIGURE_RESOURCES):  # fmt: skip
    """Register a figure: its function writes png, pdf, csv and the gallery entry; its fixed
    text is ``workflow/report/<doc>/<caption>.rst`` (default: its name), whose ``{field}``
    placeholders are the row's fields, plus ``fields(config)`` (e.g. the weights' name)."""
    return _register("figure", doc, name, over, inputs, params, resources, when,
                     caption or name, fields)  # fmt: skip


@dataclass(frozen=True)
class Row:
    """One concrete experiment or figure of the catalogue, for one configuration."""

    kind: str
    doc: str
    name: str
    fn: str
    fields: Mapping[str, str]
    inputs: Mapping[str, Any]  # name -> (files, value)
    params: Mapping[str, Any]
    resources: Resources
    caption: str | None = None
    outputs: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.doc}/{self.name}"

    def files(self) -> dict[str, list[str]]:
        """Input files by name (what Snakemake waits for)."""
        return {k: files for k, (files, _) in self.inputs.items()}

    def call(self) -> dict[str, Any]:
        """What the adapter needs: the function and its keyword arguments (outputs aside)."""
        values = {k: value for k, (_, value) in self.inputs.items()}
        return {"fn": self.fn, "kwargs": {**values, **self.params}}


def _value(v: Any, config: Mapping, fields: Mapping[str, str]) -> Any:
    if isinstance(v, C | Field):
        return v.value(config, fields)
    if isinstance(v, dict):
        return {k: _value(x, config, fields) for k, x in v.items()}
    if isinstance(v, list | tuple) and not isinstance(v, str):
        return type(v)(_value(x, config, fields) for x in v)
    return v


def imagenet_on(config: Mapping, **_: str) -> bool:
    """``when=`` of the ImageNet tier's rows."""
    return bool(config["imagenet"]["enabled"])


def imagenet_weights(config: Mapping) -> str:
    """The ImageNet tier's weights in words, for captions."""
    tier = config["imagenet"]
    if tier["weights"] is None:
        return f"random weights (seed {tier['seed']}; a smoke check, not the paper's networks)"
    return f"torchvision's {tier['weights']} pretrained weights"


def imagenet_images(config: Mapping) -> str:
    """The ImageNet tier's image source in words, for captions: the configured folder (its
    classes and images per class) or scikit-image's photographs (no folder configured)."""
    bed = config["imagenet"]["testbed"]
    if bed["folder"] is None:
        return ("scikit-image's five bundled colour photographs (astronaut, cat, coffee, rocket, "
                "motorcycle; no ImageNet folder is configured, and only three have an ImageNet "
                "class)")  # fmt: skip
    classes = bed.get("classes")
    which = (f"{len(classes)} classes: {', '.join(classes)}" if classes
             else "every class sub-folder")  # fmt: skip
    per = bed.get("per_class")
    each = "all images of each" if per is None else f"the first {per} images of each"
    return f"images of the ImageNet folder {bed['folder']} ({which}; {each})"


def imagenet_fields(config: Mapping) -> dict[str, str]:
    """Caption fields of the ImageNet tier's figures: ``{weights}`` and ``{images}``."""
    return {"weights": imagenet_weights(config), "images": imagenet_images(config)}


def _evaluate(spec_value: Any, config: Mapping, fields: Mapping[str, str]) -> Any:
    if callable(spec_value) and not isinstance(spec_value, C | Field | Ref):
        return spec_value(config, **fields)
    return _value(spec_value, config, fields)


def _function(path: str) -> Callable:
    module, _, name = path.partition(":")
    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def discover() -> None:
    """Import every module that registers rows (idempotent)."""
    import saliency_sanity.experiments as experiments
    import saliency_sanity.figures as figures

    for package in (experiments, figures):
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"{package.__name__}.{info.name}")


class Catalogue:
    """The rows of one configuration (a validated config dict with its defaults)."""

    def __init__(self, config: Mapping) -> None:
        discover()
        self.config = config
        self.results = config["paths"]["results"]
        self.figures_dir = config["paths"]["figures"]
        self.mnist_root = config["data"]["root"]
        rows = [row for spec in SPECS for row in self._expand(spec)]
        for kind in ("experiment", "figure"):
            keys = [r.key for r in rows if r.kind == kind]
            twice = sorted({k for k in keys if keys.count(k) > 1})
            if twice:
                raise ValueError(f"{kind} rows defined twice: {twice}")
        self.experiments = {r.key: r for r in rows if r.kind == "experiment"}
        self.figures = {r.key: r for r in rows if r.kind == "figure"}
        self._check_reads()

    def mnist_files(self) -> list[str]:
        from saliency_sanity.data import MNIST_FILES

        return [f"{self.mnist_root}/{n}" for n in MNIST_FILES]

    # --- expansion ---------------------------------------------------------------------------

    def _expand(self, spec: Spec) -> Iterable[Row]:
        axes = {k: list(_evaluate(v, self.config, {})) for k, v in spec.over.items()}
        for combo in itertools.product(*axes.values()):
            fields = {k: str(v) for k, v in zip(axes, combo, strict=True)}
            if spec.when is not None and not _evaluate(spec.when, self.config, fields):
                continue
            row = self._row(spec, fields)
            if spec.fields is not None:
                row = Row(**{**row.__dict__, "fields": {**row.fields, **spec.fields(self.config)}})
            yield row

    def _row(self, spec: Spec, fields: Mapping[str, str]) -> Row:
        name = _fmt(spec.name, fields)
        inputs = {}
        for key, ref in _evaluate(spec.inputs, self.config, fields).items():
            inputs[key] = self._resolve(ref, fields)
        params = dict(_evaluate(spec.params, self.config, fields))
        fn = _function(spec.fn)
        accepted = inspect.signature(fn).parameters
        if "device" in accepted and "device" not in params:
            params["device"] = self.config["device"]
        if spec.kind == "experiment":
            outputs = {"out": f"{self.results}/{spec.doc}/{name}.npz"}
        else:
            base = f"{self.figures_dir}/{spec.doc}/{name}"
            outputs = {kind: f"{base}.{kind}" for kind in FIGURE_OUTPUTS}
            outputs["entry"] = f"{self.results}/report/{spec.doc}/{name}.json"
        missing = set(inputs) | set(params) | set(outputs)
        unknown = sorted(k for k in missing if k not in accepted)
        if unknown and not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
            raise TypeError(f"{spec.fn} does not accept {unknown} ({spec.doc}/{name})")
        caption = _fmt(spec.caption, fields) if spec.caption else None
        return Row(spec.kind, spec.doc, name, spec.fn, dict(fields), inputs, params,
                   spec.resources, caption, outputs)  # fmt: skip

    def _resolve(self, ref: Any, fields: Mapping[str, str]) -> tuple[list[str], Any]:
        if isinstance(ref, Ref):
            return ref.resolve(self, fields)
        if isinstance(ref, Mapping):
            parts = {k: self._resolve(r, fields) for k, r in ref.items()}
            return [f for files, _ in parts.values() for f in files], {
                k: v for k, (_, v) in parts.items()
            }
        if isinstance(ref, list | tuple):
            parts = [self._resolve(r, fields) for r in ref]
            return [f for files, _ in parts for f in files], [v for _, v in parts]
        raise TypeError(f"cannot read input {ref!r}")

    def _check_reads(self) -> None:
        """Every result a row reads is written by an experiment row of this configuration."""
        written = {r.outputs["out"] for r in self.experiments.values()}
        prefix = f"{self.results}/"
        for row in [*self.experiments.values(), *self.figures.values()]:
            for files in row.files().values():
                for f in files:
                    result = f.endswith(".npz") and f.startswith(prefix) and "/data/" not in f
                    if result and f not in written:
                        raise KeyError(f"{row.key} reads {f}, which no experiment writes")

    # --- lookups for the workflow ------------------------------------------------------------

    def row(self, kind: str, doc: str, name: str) -> Row:
        table = self.experiments if kind == "experiment" else self.figures
        try:
            return table[f"{doc}/{name}"]
        except KeyError:
            raise KeyError(f"no {kind} {doc}/{name} in the catalogue") from None

    def caption_file(self, row: Row, root: str = "workflow/report") -> str:
        return f"{root}/{row.doc}/{row.caption}.rst"

    def figure_files(self) -> list[str]:
        """Every deliverable of every figure (the targets of ``rule all``)."""
        return [path for r in self.figures.values() for k, path in r.outputs.items()
                if k in FIGURE_OUTPUTS]  # fmt: skip
