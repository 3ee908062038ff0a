#!/usr/bin/env bash
# CI: a real single-node SLURM for tests/workflow/test_slurm.py, as root, without systemd.
#
#   .ci/start-slurm.sh        install slurm-wlm + munge if missing, start munged, slurmctld and
#                             slurmd on loopback: one node "localhost" (all CPUs, one fake GPU),
#                             one partition "debug" (the partition workflow/profiles/slurm uses)
#
# The GPU is a GRES backed by a character device made with mknod (NVIDIA's major number 195); no
# job ever opens it, it only lets SLURM place jobs that ask for --gpus=1 / --gres=gpu:1. Nothing
# is accounted (no slurmdbd): finished jobs stay in the controller for three hours (MinJobAge),
# which is what squeue (Snakemake's status command here) and `scontrol show job` read; the test
# reads them after its run (timeout 90 min) and refuses a shorter MinJobAge. The node's memory is
# the machine's less 1 GB; the test lowers the smoke jobs' mem_mb requests to fit it.
# Idempotent: a cluster that already answers with its node idle or busy is left running.
set -euo pipefail

STATE=/var/lib/slurm
FAKE_GPU=$STATE/fake-gpu0
CONF=/etc/slurm

[ "$(id -u)" = 0 ] || { echo "start-slurm.sh: needs root" >&2; exit 1; }

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

node_ready() { sinfo -h -n localhost -o %t 2>/dev/null | grep -Eq '^(idle|mix|alloc)'; }
if pgrep -x slurmctld >/dev/null && pgrep -x slurmd >/dev/null && node_ready; then
    echo "start-slurm.sh: SLURM already running"
    sinfo -o "%P %N %c %m %G %t"
    exit 0
fi

# --- munge: the key (Debian's postinst normally creates it) and the daemon ---
if [ ! -s /etc/munge/munge.key ]; then
    /usr/sbin/mungekey --create --force
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
fi
install -d -o munge -g munge -m 0755 /run/munge
pgrep -x munged >/dev/null || su -s /bin/sh munge -c /usr/sbin/munged
munge -n | unmunge >/dev/null

# --- the fake GPU and the configuration ---
install -d -m 0755 "$STATE" "$STATE/slurmctld" "$STATE/slurmd" /var/log/slurm "$CONF"
[ -c "$FAKE_GPU" ] || mknod "$FAKE_GPU" c 195 0
CPUS=$(nproc)
TOTAL_MB=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
MEM_MB=$(( TOTAL_MB > 2048 ? TOTAL_MB - 1024 : TOTAL_MB / 2 ))  # leave the daemons some room

echo "NodeName=localhost Name=gpu Type=fake File=$FAKE_GPU" > "$CONF/gres.conf"
cat > "$CONF/slurm.conf" <<EOF
# written by .ci/start-slurm.sh: a single-node cluster on loopback
ClusterName=local
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/slurmctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
# no cgroups, no accounting database: plain processes, job records kept in the controller
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
# cores and GPUs are the consumable resources (memory is requested, not enforced)
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
# a node that went down because its slurmd restarted comes back by itself
ReturnToService=2
# finished jobs stay visible to squeue/scontrol for 3 h: longer than the SLURM test's 90 min
MinJobAge=10800
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB Gres=gpu:fake:1 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF

# --- the daemons: stale ones (e.g. from an older configuration) are stopped first ---
for d in slurmd slurmctld; do
    pid=$(cat "/run/$d.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$d" ]; then
        kill "$pid"
        for _ in $(seq 20); do [ -d "/proc/$pid" ] || break; sleep 0.5; done
    fi
done
/usr/sbin/slurmctld -c -i   # daemonises; -c: a fresh job table, -i: ignore missing state
/usr/sbin/slurmd -N localhost   # node name independent of the machine's hostname
for _ in $(seq 60); do node_ready && break; sleep 1; done
if ! node_ready; then
    echo "start-slurm.sh: the node did not come up" >&2
    tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2
    exit 1
fi
sinfo -o "%P %N %c %m %G %t"
