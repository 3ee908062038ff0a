# Every figure of the catalogue: one wildcard rule, <figures>/{doc}/{name}.png|pdf|csv and its
# gallery entry; drawn from saved results only (figure functions never compute attributions).
# The PNG goes into `snakemake --report` with the figure's caption (workflow/report/).


rule figure:
    input:
        unpack(row_input("figure")),
    output:
        png=report(
            f"{FIGURES}/{{doc}}/{{name}}.png",
            caption="../report/figure.rst",
            category="{doc}",
            labels={"figure": "{name}"},
        ),
        pdf=f"{FIGURES}/{{doc}}/{{name}}.pdf",
        csv=f"{FIGURES}/{{doc}}/{{name}}.csv",
        entry=f"{RESULTS}/report/{{doc}}/{{name}}.json",
    log:
        f"{RESULTS}/logs/figure/{{doc}}/{{name}}.log",
    conda:
        ENV
    resources:
        mem_mb=row_resource("figure", "mem_mb"),
        runtime=row_resource("figure", "runtime"),
    params:
        call=row_call("figure"),
        caption=figure_caption,
    message:
        "figure {wildcards.doc}/{wildcards.name}"
    script:
        ADAPTER
