# The report: every claim, measured (claims.csv), and the gallery (README.md), gathered from
# the figure rules' entries and the fixed captions in workflow/report/.


rule report:
    input:
        entries=[r.outputs["entry"] for r in CAT.figures.values()],
        captions=[CAT.caption_file(r, REPORT_DIR) for r in CAT.figures.values()],
    output:
        claims=CLAIMS,
        gallery=GALLERY,
    log:
        f"{RESULTS}/logs/report.log",
    conda:
        ENV
    params:
        call=call(
            "saliency_sanity.report:write_report",
            entries=[r.outputs["entry"] for r in CAT.figures.values()],
            captions={
                r.key: CAT.caption_file(r, REPORT_DIR) for r in CAT.figures.values()
            },
            fields={r.key: dict(r.fields) for r in CAT.figures.values()},
        ),
    message:
        "claims.csv and the gallery"
    script:
        ADAPTER
