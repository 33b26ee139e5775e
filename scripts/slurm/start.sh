#!/usr/bin/env bash
# Brings up a one-node SLURM cluster on this machine, for docket's SLURM tests and for trying
# `docket submit --scheduler slurm` without a real cluster. Debian packages: slurm-wlm (slurmctld,
# slurmd, slurm-client), slurmdbd, munge, mariadb-server. Runs as root, without systemd:
#
#   munged -> private mariadbd (127.0.0.1:3307) -> slurmdbd -> slurmctld -> slurmd -N localhost
#
# Idempotent and fast: a daemon already running is left alone (about 0.3 s in all); configs are
# rewritten only when their content changes, which restarts the daemons this script started.
# Concurrent runs are serialised with a lock. `--install` first apt-get installs missing packages.
#
# Environment (all optional): SLURM_CLUSTER_NAME [docket], SLURM_NODE_CPUS [nproc],
# SLURM_NODE_MEM_MB [MemTotal], SLURM_DB_PORT [3307], SLURM_WAIT_SECS [60].
set -euo pipefail
export LC_ALL=C

CLUSTER=${SLURM_CLUSTER_NAME:-docket}
NODE=localhost
CPUS=${SLURM_NODE_CPUS:-$(nproc)}
MEM_MB=${SLURM_NODE_MEM_MB:-$(awk '/^MemTotal:/{printf "%d", $2/1024}' /proc/meminfo)}
DB_PORT=${SLURM_DB_PORT:-3307}
DB_PASS=docket-slurmdb
WAIT=${SLURM_WAIT_SECS:-60}

ETC=/etc/slurm
LOGDIR=/var/log/slurm
MARK=/run/docket-slurm            # <daemon>.ours: started by this script (stop.sh stops only those)
DB_DIR=/var/lib/slurm/mariadb
DB_RUN=/run/docket-slurm-mariadb
DB_SOCK=$DB_RUN/mysqld.sock
DB_PIDF=$DB_RUN/mysqld.pid
export SLURM_CONF=$ETC/slurm.conf

T0=${EPOCHREALTIME/[.,]/}
now_us() { echo "${EPOCHREALTIME/[.,]/}"; }
elapsed() { local t=$(($(now_us) - T0)); printf '%d.%02ds' $((t / 1000000)) $(((t % 1000000) / 10000)); }
log() { printf '[slurm start %s] %s\n' "$(elapsed)" "$*"; }
die() { printf 'slurm start: %s\n' "$*" >&2; exit 1; }

PACKAGES=(slurm-wlm slurmdbd munge mariadb-server)
missing_binaries() {
	local b missing=()
	for b in munged munge unmunge mungekey mariadbd mariadb-install-db mariadb mariadb-admin \
		slurmdbd slurmctld slurmd sinfo scontrol sacctmgr sbatch squeue sacct; do
		command -v "$b" >/dev/null || missing+=("$b")
	done
	echo "${missing[*]}"
}
if [[ ${1:-} == --install && -n $(missing_binaries) ]]; then
	[[ $EUID -eq 0 ]] || die "installing packages needs root"
	log "installing ${PACKAGES[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${PACKAGES[@]}" >/tmp/docket-slurm-apt.log 2>&1 ||
		{ apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${PACKAGES[@]}" >/tmp/docket-slurm-apt.log 2>&1; } ||
		die "apt-get install ${PACKAGES[*]} failed; see /tmp/docket-slurm-apt.log"
fi
missing=$(missing_binaries)
[[ -z $missing ]] || die "missing programs: $missing (install with: apt-get install ${PACKAGES[*]}, or run $0 --install)"
[[ $EUID -eq 0 ]] || die "must run as root (it starts munged, mariadbd and the SLURM daemons)"
for user in slurm munge mysql; do getent passwd "$user" >/dev/null || die "user '$user' is missing (it comes with the packages ${PACKAGES[*]})"; done
[[ $CPUS =~ ^[1-9][0-9]*$ ]] || die "SLURM_NODE_CPUS=$CPUS is not a positive integer"
[[ $MEM_MB =~ ^[0-9]+$ && $MEM_MB -ge 256 ]] || die "SLURM_NODE_MEM_MB=$MEM_MB must be at least 256"
DEF_MEM_PER_CPU=$((MEM_MB / CPUS)); ((DEF_MEM_PER_CPU > 1024)) && DEF_MEM_PER_CPU=1024

# A process that is not a zombie (PID 1 of a container may reap killed daemons late).
running() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != [ZX] ]]
}
# alive PIDFILE COMM: the pid in the file is a live process with that name.
alive() {
	local pid
	[[ -s $1 ]] || return 1
	pid=$(tr -dc '0-9' <"$1")
	[[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == "$2" ]] && running "$pid"
}
# wait_until WHAT COMMAND...: polls every 0.1 s for at most $WAIT seconds.
wait_until() {
	local what=$1 deadline=$(($(now_us) + WAIT * 1000000))
	shift
	until "$@" >/dev/null 2>&1; do
		(($(now_us) < deadline)) || return 1
		sleep 0.1
	done
}
stop_ours() { # NAME PIDFILE COMM
	[[ -e $MARK/$1.ours ]] || return 0
	if alive "$2" "$3"; then
		local pid i
		pid=$(tr -dc '0-9' <"$2")
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 300; i++)); do running "$pid" || break; sleep 0.1; done
		running "$pid" && kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$MARK/$1.ours"
}
# write_if_changed FILE OWNER MODE < content: returns 0 when the file was (re)written.
write_if_changed() {
	local tmp
	tmp=$(mktemp "$1.XXXXXX")
	cat >"$tmp"
	if [[ -f $1 ]] && cmp -s "$tmp" "$1"; then
		rm -f "$tmp"; chown "$2" "$1"; chmod "$3" "$1"
		return 1
	fi
	chown "$2" "$tmp"; chmod "$3" "$tmp"; mv -f "$tmp" "$1"
}

install -d -m 0755 "$MARK" "$ETC"
exec 9>"$MARK/lock"
flock -w "$WAIT" 9 || die "another start or stop holds $MARK/lock"
install -d -o slurm -g slurm -m 0755 /var/lib/slurm /var/lib/slurm/slurmctld /var/lib/slurm/slurmd "$LOGDIR"
install -d -o munge -g munge -m 0755 /run/munge
install -d -o munge -g munge -m 0700 /etc/munge /var/log/munge
install -d -o munge -g munge -m 0711 /var/lib/munge
install -d -o mysql -g mysql -m 0755 "$DB_RUN"
install -d -o mysql -g mysql -m 0750 "$DB_DIR" /var/log/slurm-mariadb

# munge: the key must be readable by munge alone; munged runs as the munge user.
KEY=/etc/munge/munge.key
[[ -s $KEY ]] || mungekey --create --keyfile="$KEY"
chown munge:munge "$KEY"; chmod 0400 "$KEY"
if ! alive /run/munge/munged.pid munged; then
	rm -f /run/munge/munged.pid
	runuser -u munge -- /usr/sbin/munged </dev/null >/dev/null 2>>/var/log/munge/munged.stderr 9>&-
	touch "$MARK/munged.ours"
fi
munge_ok() { munge -n </dev/null | unmunge; }
wait_until munge munge_ok || die "munge does not work; see /var/log/munge/munged.log"
log "munged up"

# A private MariaDB for slurmdbd, apart from any system one (own datadir, socket and port).
if [[ ! -d $DB_DIR/mysql ]]; then
	mariadb-install-db --no-defaults --user=mysql --datadir="$DB_DIR" --auth-root-authentication-method=socket \
		--skip-test-db >/var/log/slurm-mariadb/install-db.log 2>&1 ||
		die "mariadb-install-db failed; see /var/log/slurm-mariadb/install-db.log"
	log "accounting database created"
fi
db_ping() { mariadb-admin --no-defaults --socket="$DB_SOCK" -u root ping; }
if ! { alive "$DB_PIDF" mariadbd && db_ping >/dev/null 2>&1; }; then
	if ss -Hltn "sport = :$DB_PORT" 2>/dev/null | grep -q .; then die "TCP port $DB_PORT is taken; set SLURM_DB_PORT"; fi
	rm -f "$DB_PIDF" "$DB_SOCK"
	setsid -f /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$DB_DIR" --socket="$DB_SOCK" \
		--pid-file="$DB_PIDF" --port="$DB_PORT" --bind-address=127.0.0.1 --skip-name-resolve \
		--log-error=/var/log/slurm-mariadb/mariadb.log --innodb-buffer-pool-size=128M \
		--innodb-lock-wait-timeout=900 </dev/null >/dev/null 2>&1 9>&-
	touch "$MARK/mariadbd.ours"
	wait_until mariadb db_ping || die "mariadbd did not come up; see /var/log/slurm-mariadb/mariadb.log"
fi
mariadb --no-defaults --socket="$DB_SOCK" -u root <<SQL
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
SQL
log "mariadbd up (127.0.0.1:$DB_PORT)"

SLURM_CHANGED=0
DBD_CHANGED=0
write_if_changed "$ETC/slurm.conf" root:root 0644 <<CONF && SLURM_CHANGED=1
# Written by docket's scripts/slurm/start.sh: a one-node cluster on localhost.
ClusterName=$CLUSTER
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
MpiDefault=none
MailProg=/bin/true
# No cgroups needed: /proc process tracking, no containment (so --mem is not enforced).
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldPort=6817
SlurmdPort=6818
SlurmctldLogFile=$LOGDIR/slurmctld.log
SlurmdLogFile=$LOGDIR/slurmd.log
ReturnToService=2
SlurmdParameters=config_overrides
SchedulerType=sched/backfill
# Start a job as soon as it is submitted (the default waits up to 3 s).
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=$DEF_MEM_PER_CPU
KillWait=5
MinJobAge=300
InactiveLimit=0
Waittime=0
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
JobCompType=jobcomp/none
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF
# slurmdbd refuses a config not owned by SlurmUser or readable by others.
write_if_changed "$ETC/slurmdbd.conf" slurm:slurm 0600 <<CONF && DBD_CHANGED=1
# Written by docket's scripts/slurm/start.sh
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=slurm
LogFile=$LOGDIR/slurmdbd.log
PidFile=/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db
CONF
if ((SLURM_CHANGED)); then
	log "slurm.conf changed: restarting the daemons this script started"
	stop_ours slurmd /run/slurmd.pid slurmd
	stop_ours slurmctld /run/slurmctld.pid slurmctld
fi
((DBD_CHANGED)) && stop_ours slurmdbd /run/slurmdbd.pid slurmdbd

if ! alive /run/slurmdbd.pid slurmdbd; then
	rm -f /run/slurmdbd.pid
	/usr/sbin/slurmdbd </dev/null >/dev/null 2>>"$LOGDIR/slurmdbd.stderr" 9>&-
	touch "$MARK/slurmdbd.ours"
fi
dbd_ok() { sacctmgr -n -P list cluster format=cluster; }
wait_until slurmdbd dbd_ok || die "slurmdbd does not answer; see $LOGDIR/slurmdbd.log"
log "slurmdbd up"

if ! alive /run/slurmctld.pid slurmctld; then
	rm -f /run/slurmctld.pid
	/usr/sbin/slurmctld </dev/null >/dev/null 2>>"$LOGDIR/slurmctld.stderr" 9>&-
	touch "$MARK/slurmctld.ours"
fi
ctld_ok() { scontrol ping | grep -q 'is UP'; }
wait_until slurmctld ctld_ok || die "slurmctld does not answer; see $LOGDIR/slurmctld.log"
log "slurmctld up"

if ! alive /run/slurmd.pid slurmd; then
	rm -f /run/slurmd.pid
	/usr/sbin/slurmd -N "$NODE" </dev/null >/dev/null 2>>"$LOGDIR/slurmd.stderr" 9>&-
	touch "$MARK/slurmd.ours"
fi
node_state() { sinfo -h -N -n "$NODE" -o '%T' 2>/dev/null | head -n1; }
resumed=0
deadline=$(($(now_us) + WAIT * 1000000))
until [[ $(node_state) =~ ^(idle|mixed|allocated|completing)$ ]]; do
	state=$(node_state)
	if ((!resumed)) && [[ $state =~ ^(down|drained|draining|drain)$ ]]; then
		# Left down or drained by an unclean stop: slurmd has registered, so give the node back.
		scontrol update NodeName="$NODE" State=RESUME || true
		resumed=1
	fi
	(($(now_us) < deadline)) || die "node $NODE is '$state', not usable; see $LOGDIR/slurmd.log and slurmctld.log"
	sleep 0.1
done
log "cluster '$CLUSTER' ready: node $NODE, $CPUS CPUs, ${MEM_MB} MiB ($(node_state))"
