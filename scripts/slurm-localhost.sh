#!/usr/bin/env bash
# A private, real Slurm 22.05 on 127.0.0.1 for kite's Slurm executor tests (Debian 12, as root,
# no systemd): one cluster per name in KITE_SLURM_CLUSTERS, each its own slurmctld + slurmd,
# sharing one slurmdbd on a private MariaDB so that `-M CLUSTER` and `sacct` work.
#
#   KITE_SLURM_DIR=DIR [KITE_SLURM_CLUSTERS="eu us"] [KITE_SLURM_PORT=16900] scripts/slurm-localhost.sh up
#   KITE_SLURM_DIR=DIR scripts/slurm-localhost.sh down
#
# Everything lives under DIR: its own munged (own key and socket, AuthInfo=socket=...), its own
# MariaDB datadir on 127.0.0.1:PORT, slurmdbd on PORT+1, cluster i's slurmctld/slurmd on
# PORT+2+2i / PORT+3+2i. Nothing system-wide is used or stopped, so it can run beside a system
# Slurm, MariaDB or munged. `down` stops only what DIR's PID files name.
# After `up`: SLURM_CONF=DIR/<cluster>/slurm.conf for the client commands (any cluster's file
# works with -M). Packages: slurm-wlm slurmctld slurmd slurm-client munge mariadb-server slurmdbd.
# Our variables are KITE_SLURM_*: Slurm's clients read SLURM_* ones (SLURM_CLUSTERS acts like -M).
# Learned from a recipe tested on this machine kind: sched_interval=2 (else jobs start ~14 s after
# their begin time); ConsumedEnergy stays empty without RAPL/IPMI energy plugins.
set -euo pipefail
: "${KITE_SLURM_DIR:?set KITE_SLURM_DIR to a directory for the daemon files}"
D=$(realpath -m "$KITE_SLURM_DIR")
read -r -a CLUSTERS <<<"${KITE_SLURM_CLUSTERS:-eu us}"
PORT=${KITE_SLURM_PORT:-16900}

wait_for() { # wait_for <tries> <cmd...>, 0.1 s apart
    local n=$1
    shift
    for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    return 1
}
fail() { # fail <message> <logs...>
    echo "slurm-localhost: $1" >&2
    shift
    for l in "$@"; do [ -f "$l" ] && { echo "--- $l" >&2; tail -n 20 "$l" >&2; }; done
    exit 1
}
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

up() {
    for p in $(seq "$PORT" $((PORT + 1 + 2 * ${#CLUSTERS[@]}))); do
        port_free "$p" || fail "port $p on 127.0.0.1 is taken: pick another base with KITE_SLURM_PORT"
    done
    mkdir -p "$D"/{munge,db,dbd}
    chmod 755 "$D"
    local sock="$D/munge/munge.sock"
    # munged: its own key (random per run) and socket; it insists on a private key file.
    dd if=/dev/urandom of="$D/munge/munge.key" bs=1024 count=1 status=none
    chmod 400 "$D/munge/munge.key"
    munged --force --socket="$sock" --key-file="$D/munge/munge.key" --pid-file="$D/munge/munged.pid" \
        --log-file="$D/munge/munged.log" --seed-file="$D/munge/munged.seed" 2>>"$D/munge/munged.log" \
        || fail "munged did not start" "$D/munge/munged.log"
    wait_for 50 sh -c "munge -S '$sock' -n | unmunge -S '$sock'" || fail "munged does not answer" "$D/munge/munged.log"

    # MariaDB: a private datadir, TCP on 127.0.0.1 only, run as root (it is our throwaway copy).
    mariadb-install-db --user=root --datadir="$D/db/data" --auth-root-authentication-method=socket \
        --skip-test-db >"$D/db/install.log" 2>&1 || fail "mariadb-install-db failed" "$D/db/install.log"
    setsid mariadbd --no-defaults --user=root --datadir="$D/db/data" --bind-address=127.0.0.1 \
        --port="$PORT" --socket="$D/db/mysqld.sock" --pid-file="$D/db/mysqld.pid" \
        --innodb-buffer-pool-size=32M --skip-log-bin --skip-name-resolve >"$D/db/mariadb.log" 2>&1 </dev/null &
    local sql=(mariadb --no-defaults --socket="$D/db/mysqld.sock" -u root)
    wait_for 200 "${sql[@]}" -e 'select 1' || fail "MariaDB did not start" "$D/db/mariadb.log"
    "${sql[@]}" -e "CREATE DATABASE slurm_acct_db;
        CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm';
        GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"

    cat >"$D/dbd/slurmdbd.conf" <<EOF
AuthType=auth/munge
AuthInfo=socket=$sock
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$((PORT + 1))
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$PORT
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
PidFile=$D/dbd/slurmdbd.pid
LogFile=$D/dbd/slurmdbd.log
EOF
    chmod 600 "$D/dbd/slurmdbd.conf"
    # slurmdbd has no -f: it reads slurmdbd.conf beside $SLURM_CONF.
    SLURM_CONF="$D/dbd/slurm.conf" slurmdbd || fail "slurmdbd did not start" "$D/dbd/slurmdbd.log"
    wait_for 200 bash -c "exec 3<>/dev/tcp/127.0.0.1/$((PORT + 1))" || fail "slurmdbd does not listen" "$D/dbd/slurmdbd.log"

    local i=0
    for c in "${CLUSTERS[@]}"; do
        local C="$D/$c"
        mkdir -p "$C"/{ctld,spool,log}
        cat >"$C/slurm.conf" <<EOF
ClusterName=$c
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$sock
CredType=cred/munge
StateSaveLocation=$C/ctld
SlurmdSpoolDir=$C/spool
SlurmctldPidFile=$C/slurmctld.pid
SlurmdPidFile=$C/slurmd.pid
SlurmctldLogFile=$C/log/slurmctld.log
SlurmdLogFile=$C/log/slurmd.log
SlurmctldPort=$((PORT + 2 + 2 * i))
SlurmdPort=$((PORT + 3 + 2 * i))
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=64
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1,sched_interval=2
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=5
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$((PORT + 1))
AccountingStoragePass=$sock
ReturnToService=2
MinJobAge=600
KillWait=2
NodeName=$c-n1 NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=2048 State=UNKNOWN
PartitionName=batch Nodes=$c-n1 Default=YES MaxTime=INFINITE State=UP
EOF
        i=$((i + 1))
        # Started side by side: each registers with slurmdbd (~2.5 s) before it answers.
        SLURM_CONF="$C/slurm.conf" slurmctld || fail "slurmctld ($c) did not start" "$C/log/slurmctld.log"
    done
    for c in "${CLUSTERS[@]}"; do
        local C="$D/$c"
        wait_for 200 sh -c "SLURM_CONF='$C/slurm.conf' scontrol ping | grep -q UP" \
            || fail "slurmctld ($c) does not answer" "$C/log/slurmctld.log"
        SLURM_CONF="$C/slurm.conf" slurmd -N "$c-n1" || fail "slurmd ($c) did not start" "$C/log/slurmd.log"
    done
    for c in "${CLUSTERS[@]}"; do
        local C="$D/$c"
        wait_for 100 sh -c "SLURM_CONF='$C/slurm.conf' sinfo -h -o %t | grep -Eq '^(idle|mix|alloc)$'" \
            || fail "the node of cluster $c is not idle" "$C/log/slurmctld.log" "$C/log/slurmd.log"
        # -M looks the cluster's controller up in slurmdbd: wait until it has registered.
        wait_for 300 sh -c "SLURM_CONF='$C/slurm.conf' squeue -M '$c' -h" \
            || fail "cluster $c is not registered in slurmdbd" "$C/log/slurmctld.log" "$D/dbd/slurmdbd.log"
        echo "cluster $c up: SLURM_CONF=$C/slurm.conf"
    done
}

down() {
    [ -d "$D" ] || return 0
    # Jobs still running would outlive slurmd in their slurmstepd: cancel them first.
    for conf in "$D"/*/slurm.conf; do
        [ -s "$(dirname "$conf")/slurmctld.pid" ] || continue
        SLURM_CONF="$conf" timeout 5 scancel --user=root >/dev/null 2>&1 || true
    done
    # The files are thrown away, so all daemons are stopped at once (each takes ~2 s to exit on
    # SIGTERM; one after another took 14 s); whatever is left after 5 s gets SIGKILL.
    local pids=() f p
    for f in "$D"/*/slurmd.pid "$D"/*/slurmctld.pid "$D"/dbd/slurmdbd.pid "$D"/db/mysqld.pid "$D"/munge/munged.pid; do
        [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && pids+=("$(cat "$f")")
    done
    [ ${#pids[@]} -gt 0 ] || return 0
    kill "${pids[@]}" 2>/dev/null || true
    for p in "${pids[@]}"; do
        wait_for 50 sh -c "! kill -0 $p" || kill -9 "$p" 2>/dev/null || true
    done
}

case "${1:-}" in
up | down) "$1" ;;
*)
    echo "usage: KITE_SLURM_DIR=DIR $0 up|down" >&2
    exit 2
    ;;
esac
