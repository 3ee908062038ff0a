"""Claims and the gallery.

Every figure rule writes an *entry* (what this run measured: the settings-dependent part of the
caption, the claim rows, a sentence for every claim that does not hold); the fixed text of each
figure (title, caption, the paper's statement) is data, in ``workflow/report/<doc>/<name>.rst``.
The report rule gathers both into ``figures/claims.csv`` and the gallery ``figures/README.md``.
Nothing here computes a result: it only collects what the rules measured.

A claim is read against its null where one exists (FIGURES.md, "Claims"): its rule is a small
formula in ``measured`` and ``null`` (:func:`evaluate`), written into the ``expected`` column
before the words, so that the CSV can be re-checked by anyone (the tests do).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from saliency_sanity.io import atomic_path, load_json, save_csv, save_json

CLAIM_COLUMNS = ["id", "doc", "figure", "kind", "claim", "measured", "null", "expected", "holds"]
#: empirical: the paper reports it from an experiment (the evidence); identity: true by
#: construction or analytically (a check of the implementation, never counted as evidence);
#: beyond: our own addition (including the ImageNet tier's random-weight smoke checks)
KINDS = ("empirical", "identity", "beyond")
DOCS = {
    "kindermans2017": "Kindermans et al. (2017), The (Un)reliability of saliency methods",
    "adebayo2018": "Adebayo et al. (2018), Local explanation methods for deep neural networks "
    "lack sensitivity to parameter values",
    "samek2020": "Samek & Montavon (2020), Methods for explaining DNNs (tutorial)",
    "gupta2019": "Competition for pixels (CGI), ICLR 2020 submission",
    "beyond": "Beyond the papers",
}

_OPS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
}
_NUMBER = r"-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?"
_LINEAR = re.compile(
    rf"^(?:(?P<a>{_NUMBER}) \* )?null(?: (?P<sign>[-+]) (?P<b>{_NUMBER}))?$|^(?P<c>{_NUMBER})$"
)
_RULE = re.compile(
    r"^(?:\|measured - (?P<center>[^|]+)\||measured) (?P<op><=|>=|==|<|>) (?P<rhs>.+)$"
)


def _linear(expr: str, null: float | None) -> float:
    """Value of ``c``, ``null``, ``null + b``, ``a * null - b`` ... for the given null."""
    m = _LINEAR.match(expr.strip())
    if m is None:
        raise ValueError(f"cannot read {expr!r} (a number, or a * null + b)")
    if m["c"] is not None:
        return float(m["c"])
    if null is None or not math.isfinite(null):
        raise ValueError(f"{expr!r} needs a null value")
    value = float(m["a"] or 1.0) * null
    if m["b"] is not None:
        value += float(m["b"]) if m["sign"] == "+" else -float(m["b"])
    return value


def evaluate(rule: str, measured: float, null: float | None = None) -> bool | None:
    """Apply a claim's rule, e.g. ``"measured <= null + 0.1"``, ``"measured < 0.001"``,
    ``"|measured - 0.1| < 0.05"``, ``"measured < 0.5 * null + 0.5"``.

    Returns None when ``measured`` (or a needed null) is not a finite number.
    """
    m = _RULE.match(rule.strip())
    if m is None:
        raise ValueError(f"cannot read the claim rule {rule!r}")
    if measured is None or not math.isfinite(measured):
        return None
    try:
        lhs = measured if m["center"] is None else abs(measured - _linear(m["center"], null))
        return bool(_OPS[m["op"]](lhs, _linear(m["rhs"], null)))
    except ValueError:
        if null is None or not math.isfinite(null):
            return None
        raise


@dataclass(frozen=True)
class Claim:
    """One row of ``figures/claims.csv``: a paper's claim and the number this run measured.

    ``rule`` is the formula :func:`evaluate` applies, ``why`` its reading in words; the CSV's
    ``expected`` is ``"<rule> (<why>)"``. ``on_failure`` says, for an empirical claim that does
    not hold, whether that is a genuine non-replication or a limit of the MNIST analogue (with
    the number); the gallery prints it under the figure.
    """

    id: str
    doc: str
    figure: str
    kind: str
    claim: str
    measured: float
    rule: str
    why: str
    null: float | None = None
    on_failure: str = ""
    holds: bool | None = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.measured, int | float) or isinstance(self.measured, bool):
            raise TypeError(f"claim {self.id}: measured must be a number, got {self.measured!r}")
        if not self.id.startswith(f"{self.doc}."):
            raise ValueError(f"claim id {self.id!r} must start with its doc {self.doc!r}")
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.id}: kind must be one of {KINDS}, got {self.kind!r}")
        object.__setattr__(self, "measured", float(self.measured))
        if self.null is not None:
            object.__setattr__(self, "null", float(self.null))
        object.__setattr__(self, "holds", evaluate(self.rule, self.measured, self.null))

    @property
    def expected(self) -> str:
        return f"{self.rule} ({self.why})"

    def row(self) -> dict:
        d = asdict(self)
        d["expected"] = self.expected
        for key in ("measured", "null"):
            if d[key] is not None and not math.isfinite(d[key]):
                d[key] = None
        return d


def tier_claims(claims: Iterable[Claim], *, suffix: str = "", random_weights: bool = False):
    """The claims of an ImageNet-tier figure: ids get the model's ``suffix`` (they must not
    collide with the MNIST rows), and with random weights every row is a ``beyond`` smoke
    check (it runs the paper's code path; it is no replication of the paper's networks)."""
    out = []
    for c in claims:
        changes = {"id": c.id + suffix}
        if random_weights:
            changes.update(kind="beyond", claim=f"ImageNet smoke check (random weights): {c.claim}")
        fields = {k: v for k, v in asdict(c).items() if k != "holds"}
        out.append(Claim(**{**fields, **changes}))
    return out


def write_entry(
    path: str | Path,
    *,
    doc: str,
    name: str,
    details: str,
    measured: str,
    files: Iterable[str | Path],
    claims: Iterable[Claim] = (),
) -> None:
    """Write a figure's gallery entry (JSON) for the report rule: ``details`` is the
    settings-dependent part of the caption (sizes, what the run used), ``measured`` the
    headline numbers in words."""
    if doc not in DOCS:
        raise ValueError(f"unknown document {doc!r}; known: {sorted(DOCS)}")
    claims = list(claims)
    missing = [c.id for c in claims if c.kind == "empirical" and c.holds is False
               and not c.on_failure]  # fmt: skip
    if missing:
        raise ValueError(f"empirical claims that fail need an on_failure sentence: {missing}")
    save_json(
        path,
        {
            "doc": doc,
            "name": name,
            "details": details,
            "measured": measured,
            "files": [str(f) for f in files],
            "claims": [c.row() for c in claims],
        },
    )


# --- captions: fixed text as data ------------------------------------------------------------

_FIELD = re.compile(r"^:(\w+):\s*(.*)$")


def read_caption(path: str | Path, fields: Mapping[str, str] | None = None) -> dict[str, str]:
    """The fixed text of a figure: ``{"title", "paper", "caption"}`` from its ``.rst``.

    The file starts with the field list ``:title:`` and ``:paper:`` (continuation lines
    indented), then the caption's paragraphs. ``{field}`` placeholders of the row (e.g.
    ``{model}``) are filled in; no other brace is touched.
    """
    text = Path(path).read_text()
    for key, value in (fields or {}).items():
        text = text.replace(f"{{{key}}}", str(value))
    out, current, body = {}, None, []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _FIELD.match(line)
        if m and not body:
            current = m[1]
            out[current] = m[2].strip()
        elif current and line.startswith((" ", "\t")) and line.strip() and not body:
            out[current] += " " + line.strip()
        elif not line.strip() and not body:
            current = None
        else:
            body.append(line)
        i += 1
    for key in ("title", "paper"):
        if key not in out:
            raise ValueError(f"{path}: missing the :{key}: field")
    out["caption"] = " ".join(" ".join(body).split())
    return out


def rst_escape(text: str) -> str:
    """Plain caption text made literal for reStructuredText (``snakemake --report``): the
    captions use |x|, x_i and * as mathematics, which RST would read as markup."""
    return re.sub(r"([\\|*_`])", r"\\\1", text)


# --- the report --------------------------------------------------------------------------------


def claims_table(entries: list[dict]) -> pd.DataFrame:
    rows = [row for e in entries for row in e["claims"]]
    frame = pd.DataFrame(rows, columns=CLAIM_COLUMNS)
    duplicated = frame["id"][frame["id"].duplicated()].tolist()
    if duplicated:
        raise ValueError(f"claim ids reported twice: {duplicated}")
    return frame


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return str(value)
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def tally(table: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Per kind: how many rows hold, do not hold, and have no verdict."""
    out = {}
    for kind in KINDS:
        sub = table[table["kind"] == kind]["holds"]
        out[kind] = {
            "holds": int((sub == True).sum()),  # noqa: E712 (object column with None)
            "fails": int((sub == False).sum()),  # noqa: E712
            "open": int(sub.isna().sum()),
        }
    return out


def _summary(table: pd.DataFrame) -> list[str]:
    t = tally(table)
    e, i, b = t["empirical"], t["identity"], t["beyond"]
    return [
        "| kind | rows | hold | do not hold | no verdict |",
        "|---|---|---|---|---|",
        f"| empirical (the papers' evidence) | {sum(e.values())} | {e['holds']} | {e['fails']} | "
        f"{e['open']} |",
        f"| identity (true by construction; implementation checks, not evidence) | "
        f"{sum(i.values())} | {i['holds']} | {i['fails']} | {i['open']} |",
        f"| beyond the papers | {sum(b.values())} | {b['holds']} | {b['fails']} | {b['open']} |",
        "",
    ]


def gallery_markdown(
    entries: list[dict], captions: Mapping[tuple[str, str], Mapping[str, str]], figures_root
) -> str:
    """The gallery page: per document, each figure with its caption, the paper's statement,
    what this run measured, its claims and, for every empirical claim that does not hold, why."""
    root = Path(figures_root)
    table = claims_table(entries)
    lines = [
        "# Gallery",
        "",
        "Generated by the `report` rule from the figure rules' entries and the captions in",
        "`workflow/report/`; do not edit by hand. Every number below was measured by this run of",
        "the pipeline. All claims are in [claims.csv](claims.csv); a claim is read against its",
        "null (`null` column) where one exists, by the formula that starts its `expected` text.",
        "",
        *_summary(table),
    ]
    for doc, doc_title in DOCS.items():
        doc_entries = sorted((e for e in entries if e["doc"] == doc), key=lambda e: e["name"])
        if not doc_entries:
            continue
        lines += [f"## {doc}: {doc_title}", ""]
        for e in doc_entries:
            text = captions[(doc, e["name"])]
            lines += [f"### {text['title']} (`{doc}/{e['name']}`)", ""]
            for f in e["files"]:
                rel = Path(f).relative_to(root) if Path(f).is_relative_to(root) else Path(f)
                if rel.suffix == ".png":
                    lines += [f"![{e['name']}]({rel.as_posix()})", ""]
            lines += [f"**Caption.** {text['caption']} {e['details']}".rstrip(), ""]
            lines += [f"**Paper.** {text['paper']}", "", f"**Measured.** {e['measured']}", ""]
            if e["claims"]:
                lines += ["| claim | kind | measured | null | expected | holds |",
                          "|---|---|---|---|---|---|"]  # fmt: skip
                lines += [
                    f"| `{c['id']}` | {c['kind']} | {_fmt(c['measured'])} | {_fmt(c['null'])} | "
                    f"{c['expected']} | {_fmt(c['holds'])} |"
                    for c in e["claims"]
                ]
                lines.append("")
                notes = [c for c in e["claims"] if c["kind"] == "empirical" and c["holds"] is False]
                for c in notes:
                    lines += [f"- `{c['id']}` does not hold: {c['on_failure']}"]
                if notes:
                    lines.append("")
            others = [Path(f).name for f in e["files"] if Path(f).suffix != ".png"]
            if others:
                lines += ["Files: " + ", ".join(f"`{o}`" for o in others), ""]
    return "\n".join(lines)


def write_report(
    *,
    entries: Iterable[str | Path],
    captions: Mapping[str, str | Path],
    fields: Mapping[str, Mapping[str, str]] | None = None,
    claims: str | Path,
    gallery: str | Path,
) -> pd.DataFrame:
    """Gather entries into ``claims.csv`` and the gallery ``README.md`` (both atomic).

    ``captions`` maps ``"<doc>/<name>"`` to the figure's ``.rst``; ``fields`` to the
    placeholder values of that row (e.g. ``{"model": "cnn"}``).
    """
    loaded = [load_json(p) for p in entries]
    texts = {
        tuple(key.split("/", 1)): read_caption(path, (fields or {}).get(key))
        for key, path in captions.items()
    }
    table = claims_table(loaded)
    save_csv(claims, table)
    with atomic_path(gallery) as tmp:
        Path(tmp).write_text(gallery_markdown(loaded, texts, Path(gallery).parent))
    return table
