# Every experiment of the catalogue: one wildcard rule, <results>/{doc}/{name}.npz; its inputs,
# keyword arguments and resources are looked up in the catalogue row {doc}/{name}.


rule experiment:
    input:
        unpack(row_input("experiment")),
    output:
        out=f"{RESULTS}/{{doc}}/{{name}}.npz",
    log:
        f"{RESULTS}/logs/experiment/{{doc}}/{{name}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/{{doc}}/{{name}}.tsv"
    # the longest jobs first (runtime: the catalogue's estimate, minutes), so that none is left
    # running alone at the end on a machine that runs two jobs at once
    priority: row_resource("experiment", "runtime")
    conda:
        ENV
    threads: job_threads(row_resource("experiment", "threads"))
    resources:
        gpu=row_resource("experiment", "gpu"),
        mem_mb=row_resource("experiment", "mem_mb"),
        runtime=row_resource("experiment", "runtime"),
    params:
        call=row_call("experiment"),
    message:
        "experiment {wildcards.doc}/{wildcards.name}"
    script:
        ADAPTER
