# Saliency-method sanity checks: one DAG from MNIST to every figure of the four documents.
#
# results/
#   data/testbed.json                      fixed test-bed (indices of test images)
#   models/{model}/{variant}.pt|.json      trained checkpoints and their metrics
#   report/{doc}/{figure}.json             gallery entries (caption, statement, claims)
#   logs/{rule}/...log, benchmarks/{rule}/...tsv
# figures/{doc}/{figure}.png|pdf|csv, figures/claims.csv, figures/README.md  (committed)
from snakemake.utils import min_version

min_version("8.10")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/kindermans2017.smk"
include: "workflow/rules/adebayo2018.smk"
include: "workflow/rules/gupta2019.smk"
include: "workflow/rules/samek2020.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        "figures/claims.csv",
        "figures/README.md",
        "results/data/testbed.json",
