"""Load and validate the workflow configuration against ``config/schema.yaml``.

Validation runs when the workflow loads, dry run included, so a bad value stops before any job
(and before Snakemake deletes any earlier output to rerun a job). Errors name the offending
key by its dotted path (``testbed.size``). Besides JSON-schema types and ranges, the schema
marks keys that hold names the library knows, and :func:`validate` checks them:

* ``x-method``: an attribution method name (a key of ``attribution.METHODS``);
* ``x-method-spec``: ``{method: <name>, params: {...}}``, the parameters checked against the
  method's signature (unknown keyword, wrong type, a count that is not positive);
* ``x-methods``: a mapping ``<name>: {params}``, each checked the same way;
* ``x-model``: a model name (or a list of them) of the zoo that ``models:`` trains;
* ``x-testbed-count``: a number of test-bed images, at most ``testbed.size``;

and, outside the schema: ``device: cuda`` needs CUDA; ``testbed.size`` is at most the number of
test images (read from the MNIST files when they are already there, else MNIST's 10 000).
Defaults from the schema are filled in, so code downstream can index every documented key.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import yaml

MNIST_TEST_IMAGES = 10_000


class ConfigError(ValueError):
    """The configuration does not match the schema."""


def _key(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return ".".join(filter(None, [path, *extra[:1]]))
    if error.validator == "required":
        return ".".join(filter(None, [path, error.message.split("'")[1]]))
    return path or "<top level>"


def _fill_defaults(instance: Any, schema: dict, root: dict) -> None:
    if "$ref" in schema:
        schema = root["definitions"][schema["$ref"].split("/")[-1]]
    if not isinstance(instance, dict):
        return
    for name, sub in schema.get("properties", {}).items():
        if name not in instance and "default" in sub:
            instance[name] = _copy(sub["default"])
        if name in instance:
            _fill_defaults(instance[name], sub, root)


def _copy(value: Any) -> Any:
    return yaml.safe_load(yaml.safe_dump(value))


# --- method parameters against the method's signature ------------------------------------------

_TYPES = {"int": int, "float": (int, float), "str": str, "bool": bool, "None": type(None)}


def _allowed(param: inspect.Parameter) -> tuple | None:
    """Python types a config value of ``param`` may have (None: anything)."""
    ann = param.annotation
    if isinstance(ann, str) and ann:
        names = [t.strip() for t in ann.split("|")]
        if any(n not in _TYPES for n in names if not n.startswith(("torch.", "Tensor"))):
            return None
        types = []
        for n in names:
            if n in _TYPES:
                types += list(_TYPES[n]) if isinstance(_TYPES[n], tuple) else [_TYPES[n]]
        return tuple(types) or None
    default = param.default
    if default is inspect.Parameter.empty or default is None:
        return None
    if isinstance(default, bool):
        return (bool,)
    return (int, float) if isinstance(default, float) else (type(default),)


def _type_name(types: tuple) -> str:
    names = {int: "integer", float: "number", str: "string", bool: "boolean", type(None): "null"}
    return " or ".join(dict.fromkeys(names.get(t, t.__name__) for t in types))


def _signature(fn) -> dict[str, inspect.Parameter]:
    params = list(inspect.signature(fn).parameters.values())[3:]  # model, x, target
    return {p.name: p for p in params}


def method_errors(name: Any, params: Any) -> Iterator[tuple[str, str]]:
    """(sub-key, message) for everything wrong with ``name`` and its ``params``."""
    from saliency_sanity.attribution import METHODS

    if not isinstance(name, str) or name not in METHODS:
        yield "", f"unknown attribution method {name!r}; known: {', '.join(sorted(METHODS))}"
        return
    params = params or {}
    if not isinstance(params, dict):
        yield "params", f"parameters of {name!r} must be a mapping, got {params!r}"
        return
    signature = _signature(METHODS[name].fn)
    forwards = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.values())
    own = {k: v for k, v in params.items() if k in signature}
    rest = {k: v for k, v in params.items() if k not in signature}
    for key, value in own.items():
        yield from _value_errors(name, key, value, signature[key])
    if rest and not forwards:
        known = ", ".join(k for k, p in signature.items() if p.kind is not p.VAR_KEYWORD)
        for key in rest:
            yield key, f"unknown parameter {key!r} of method {name!r} (known: {known})"
    elif rest:  # noise tunnels and competitive methods pass the rest to their base method
        base = own.get("base", signature.get("base") and signature["base"].default)
        if name.startswith("competitive_"):
            base = name[len("competitive_") :]
        if isinstance(base, str) and base in METHODS:
            for key, message in method_errors(base, rest):
                yield key, message + f" (passed by {name!r} to its base method)"


def _value_errors(name: str, key: str, value: Any, param: inspect.Parameter):
    if key == "base":
        from saliency_sanity.attribution import METHODS

        if value not in METHODS:
            yield key, f"unknown base method {value!r} of {name!r}"
        return
    types = _allowed(param)
    if types is not None and (not isinstance(value, types) or
                              (isinstance(value, bool) and bool not in types)):  # fmt: skip
        yield key, f"{name}.{key} must be {_type_name(types)}, got {value!r}"
        return
    default = param.default
    if not _is_number(value) or not _is_number(default):
        return
    if isinstance(default, int) and default >= 1 and value < 1:  # a count
        yield key, f"{name}.{key} must be a positive count, got {value!r}"
    elif default >= 0 and value < 0:  # a size or scale whose default is not negative
        yield key, f"{name}.{key} must be >= 0, got {value!r}"


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


# --- schema keywords ----------------------------------------------------------------------------


def _trained_models(config: dict) -> set[str]:
    return set((config.get("models") or {}).keys())


def _extended_validator(schema: dict, config: dict):
    from saliency_sanity.models import MNIST_MODELS

    def x_method(validator, value, instance, schema):
        if value:
            for sub, message in method_errors(instance, {}):
                yield jsonschema.ValidationError(message, path=[sub] if sub else [])

    def x_method_spec(validator, value, instance, schema):
        if value and isinstance(instance, dict):
            for sub, message in method_errors(instance.get("method"), instance.get("params")):
                path = {"": ["method"], "params": ["params"]}.get(sub, ["params", sub])
                yield jsonschema.ValidationError(message, path=path)

    def x_methods(validator, value, instance, schema):
        if value and isinstance(instance, dict):
            for name, params in instance.items():
                for sub, message in method_errors(name, params):
                    yield jsonschema.ValidationError(message, path=[name, sub] if sub else [name])

    def x_model(validator, value, instance, schema):
        names = instance if isinstance(instance, list) else [instance]
        trained = _trained_models(config)
        for i, model in enumerate(names):
            path = [i] if isinstance(instance, list) else []
            if model not in MNIST_MODELS:
                yield jsonschema.ValidationError(
                    f"unknown model {model!r}; the zoo has {', '.join(sorted(MNIST_MODELS))}",
                    path=path,
                )
            elif value == "trained" and model not in trained:
                yield jsonschema.ValidationError(
                    f"model {model!r} is not trained by this config (add it under 'models')",
                    path=path,
                )

    def x_testbed_count(validator, value, instance, schema):
        size = (config.get("testbed") or {}).get("size", 200)
        if value and _is_number(instance) and instance > size:
            yield jsonschema.ValidationError(
                f"{instance} images, but the test-bed has testbed.size = {size}"
            )

    keywords = {"x-method": x_method, "x-method-spec": x_method_spec, "x-methods": x_methods,
                "x-model": x_model, "x-testbed-count": x_testbed_count}  # fmt: skip
    cls = jsonschema.validators.extend(jsonschema.Draft202012Validator, keywords)
    return cls(schema)


# --- checks outside the schema ---------------------------------------------------------------


def _idx_length(path: Path) -> int | None:
    try:
        with open(path, "rb") as fh:
            header = fh.read(8)
    except OSError:
        return None
    return int.from_bytes(header[4:8], "big") if len(header) == 8 else None


def n_test_images(config: dict) -> int:
    """Test images the data will have: read from the labels file where it is already on disk
    (the data root, or the offline mirror), else MNIST's 10 000."""
    import gzip

    from saliency_sanity.data import resolve_mirror

    name = "t10k-labels-idx1-ubyte"
    data = config.get("data") or {}
    folders = [data.get("root"), resolve_mirror(data.get("mirror"))]
    for folder in filter(None, folders):
        for candidate in (Path(folder) / name, Path(folder) / f"{name}.gz"):
            if candidate.suffix == ".gz" and candidate.is_file():
                with gzip.open(candidate, "rb") as fh:
                    header = fh.read(8)
                return int.from_bytes(header[4:8], "big")
            n = _idx_length(candidate) if candidate.is_file() else None
            if n is not None:
                return n
    return MNIST_TEST_IMAGES


def _imagenet_errors(tier: dict) -> Iterator[str]:
    """A missing weights file (offline) or image folder stops the dry run, naming it."""
    from saliency_sanity import imagenet

    folder = (tier.get("testbed") or {}).get("folder")
    if folder is not None and not Path(folder).is_dir():
        yield f"config key 'imagenet.testbed.folder': {folder} is not a folder"
    weights = tier.get("weights")
    if weights is None:
        return
    for model in imagenet.MODELS:
        try:
            path = imagenet.weights_file(model, weights)
        except (KeyError, ValueError, AttributeError) as err:
            yield f"config key 'imagenet.weights': {err}"
            return
        if tier.get("torch_home"):
            path = Path(tier["torch_home"]) / "hub" / "checkpoints" / path.name
        if not tier.get("allow_download", True) and not path.is_file():
            yield (
                f"config key 'imagenet.weights': the {weights} weights of {model} are not at "
                f"{path} and imagenet.allow_download is false"
            )


def _semantic_errors(config: dict) -> Iterator[str]:
    device = config.get("device", "auto")
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            yield "config key 'device': 'cuda' but no CUDA device is available here (use auto)"
    size = (config.get("testbed") or {}).get("size")
    if isinstance(size, int):
        n = n_test_images(config)
        if size > n:
            yield f"config key 'testbed.size': {size} images, but the test set has only {n}"
    tier = config.get("imagenet") or {}
    if tier.get("enabled"):
        yield from _imagenet_errors(tier)


def validate(config: dict, schema_path: str | Path) -> dict:
    """Validate ``config`` (in place: defaults are filled in); raise :class:`ConfigError`."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = _extended_validator(schema, config)
    errors = sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path])
    lines = [f"  config key '{_key(e)}': {e.message}" for e in errors]
    if not errors:
        _fill_defaults(config, schema, schema)
        lines = [f"  {m}" for m in _semantic_errors(config)]
    if lines:
        raise ConfigError("invalid configuration:\n" + "\n".join(lines))
    return config
