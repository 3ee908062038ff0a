"""Run-time choices: how many threads a job gets on a machine of a given size."""

import pytest

from saliency_sanity.runtime import job_threads, machine_cpus


@pytest.mark.parametrize(
    ("declared", "cpus", "expected"),
    [
        (2, 1, 1),  # one CPU: one thread, whatever is declared
        (2, 2, 1),  # a 2-core machine: two 1-thread jobs at once
        (2, 3, 1),  # three 1-thread jobs at once
        (2, 4, 2),  # room for two jobs as declared
        (2, 64, 2),  # a large machine: as declared
        (1, 1, 1),
        (1, 2, 1),
        (4, 6, 3),  # two 3-thread jobs fill 6 CPUs
        (4, 8, 4),
    ],
)
def test_a_job_keeps_its_threads_only_where_two_such_jobs_fit(declared, cpus, expected):
    assert job_threads(declared, cpus) == expected


@pytest.mark.parametrize(("declared", "cpus"), [(0, 2), (2, 0), (-1, 4)])
def test_threads_and_cpus_below_one_are_refused(declared, cpus):
    with pytest.raises(ValueError, match="must be >= 1"):
        job_threads(declared, cpus)


def test_machine_cpus_counts_the_cpus_this_process_may_use():
    import os

    cpus = machine_cpus()
    assert 1 <= cpus <= (os.cpu_count() or cpus)
