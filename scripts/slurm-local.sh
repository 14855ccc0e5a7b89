#!/usr/bin/env bash
# A private single-node Slurm cluster on this machine, for tests and trials:
#
#   scripts/slurm-local.sh start DIR   writes DIR/slurm.conf, starts munged,
#                                      slurmctld and slurmd with their keys,
#                                      sockets, pid files, logs and spool in
#                                      DIR, and waits until the node is idle
#   scripts/slurm-local.sh stop DIR    stops those three daemons (pid files)
#
# Clients then need SLURM_CONF=DIR/slurm.conf (sbatch, squeue, scontrol).
# Installs slurm-wlm and munge when missing (apt-get, with sudo when not
# root). The daemons run as root (SlurmUser=root): without root, or where
# the container forbids them, start exits 77 with the reason on stderr (the
# meson code for a skipped test), never pretending a cluster is up.
# Ports: 6817/6818 + an offset chosen free (SLURM_LOCAL_PORT overrides).
set -uo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
dir=$2

skip() { echo "slurm-local: cannot start a local cluster: $*" >&2; exit 77; }

stop_daemons() {
  local d=$1 name pid
  for name in slurmd slurmctld munged; do
    [ -f "$d/$name.pid" ] || continue
    pid=$(cat "$d/$name.pid" 2>/dev/null)
    [ -n "$pid" ] || continue
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null
    fi
    rm -f "$d/$name.pid"
  done
}

# Cancels what still runs on the cluster (its slurmstepd and the jobs'
# processes end with the jobs) and waits up to 30 s for it to drain.
cancel_jobs() {
  local d=$1
  [ -f "$d/slurm.conf" ] && [ -f "$d/slurmctld.pid" ] || return 0
  export SLURM_CONF="$d/slurm.conf"
  scancel --user="$(id -un)" 2> /dev/null || return 0
  for _ in $(seq 1 60); do
    [ -z "$(squeue -h -t running,completing 2> /dev/null)" ] && break
    sleep 0.5
  done
}

case "$action" in
stop)
  cancel_jobs "$dir"
  stop_daemons "$dir"
  exit 0
  ;;
start) ;;
*) usage ;;
esac

[ "$(id -u)" -eq 0 ] || skip "the daemons need root (SlurmUser=root, munged key), and this is uid $(id -u)"

need=()
command -v slurmctld > /dev/null || need+=(slurm-wlm)
command -v munged > /dev/null || need+=(munge)
if ((${#need[@]})); then
  echo "slurm-local: installing ${need[*]}" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" > /dev/null ||
    skip "apt-get install ${need[*]} failed"
fi

mkdir -p "$dir" || skip "cannot create $dir"
dir=$(cd "$dir" && pwd)
chmod 0700 "$dir"
mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
chmod 0700 "$dir/munge"

# munge: a fresh key of our own and a private socket
if [ ! -f "$dir/munge/munge.key" ]; then
  head -c 1024 /dev/urandom > "$dir/munge/munge.key" && chmod 0400 "$dir/munge/munge.key"
fi
socket="$dir/munge/munge.socket"
munged --force --socket="$socket" --key-file="$dir/munge/munge.key" --pid-file="$dir/munged.pid" \
  --log-file="$dir/munged.log" --seed-file="$dir/munge/munged.seed" 2> "$dir/munged.start" ||
  skip "munged did not start: $(tr '\n' ' ' < "$dir/munged.start")"

host=$(hostname -s)
node=$(slurmd -C 2> /dev/null | grep '^NodeName=') || { stop_daemons "$dir"; skip "slurmd -C failed"; }
node=$(echo "$node" | sed -E "s/^NodeName=[^ ]+/NodeName=$host/; s/RealMemory=[0-9]+/RealMemory=1000/")

port_free() { ! (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
base=${SLURM_LOCAL_PORT:-}
if [ -z "$base" ]; then
  for _ in $(seq 1 50); do
    base=$((20000 + (RANDOM % 2000) * 2))
    port_free "$base" && port_free $((base + 1)) && break
  done
fi

cat > "$dir/slurm.conf" << CONF
# A single-node cluster for engram-scale's tests (scripts/slurm-local.sh).
ClusterName=engram-local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$base
SlurmdPort=$((base + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket,cred_expire=10
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
MpiDefault=none
ReturnToService=2
JobRequeue=1
KillWait=20
MinJobAge=3600
SlurmctldTimeout=30
SlurmdTimeout=30
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"

slurmctld -f "$SLURM_CONF" -i > "$dir/slurmctld.start" 2>&1 ||
  { stop_daemons "$dir"; skip "slurmctld did not start: $(tail -3 "$dir/slurmctld.log" 2>/dev/null | tr '\n' ' ')"; }
slurmd -f "$SLURM_CONF" > "$dir/slurmd.start" 2>&1 ||
  { stop_daemons "$dir"; skip "slurmd did not start: $(tail -3 "$dir/slurmd.log" 2>/dev/null | tr '\n' ' ')"; }

# wait for the node to register as idle
for _ in $(seq 1 60); do
  state=$(sinfo -h -N -o '%T' 2> /dev/null | head -1)
  case "$state" in idle*) echo "slurm-local: node $host idle, SLURM_CONF=$SLURM_CONF (ports $base, $((base + 1)))"; exit 0 ;; esac
  sleep 0.5
done
reason="node state '${state:-none}' after 30 s: $(tail -3 "$dir/slurmd.log" 2>/dev/null | tr '\n' ' ')"
stop_daemons "$dir"
skip "$reason"
