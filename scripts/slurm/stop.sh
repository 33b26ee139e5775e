#!/usr/bin/env bash
# Stops the one-node SLURM cluster that start.sh brought up: only the daemons it started (marker
# files in /run/docket-slurm), each by its pid, after cancelling the jobs still queued.
#   stop.sh          keep state: job ids continue, sacct keeps its history
#   stop.sh --purge  also delete SLURM's state, the accounting database, the logs and the
#                    generated configs, so that the next start is a cold start
set -uo pipefail
export LC_ALL=C
PURGE=0
case ${1:-} in
--purge) PURGE=1 ;;
"") ;;
*) echo "usage: $0 [--purge]" >&2; exit 2 ;;
esac
[[ $EUID -eq 0 ]] || { echo "slurm stop: must run as root" >&2; exit 1; }
MARK=/run/docket-slurm
export SLURM_CONF=/etc/slurm/slurm.conf

running() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != [ZX] ]]
}
pid_of() { # PIDFILE COMM -> the pid, if it is a live process with that name
	local pid
	[[ -s $1 ]] || return 1
	pid=$(tr -dc '0-9' <"$1")
	[[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == "$2" ]] && running "$pid" && echo "$pid"
}
# stop "NAME PIDFILE COMM"...: SIGTERM those this side started, wait (SIGKILL after 30 s).
stop() {
	local spec name pidf comm pid i pids=()
	for spec in "$@"; do
		read -r name pidf comm <<<"$spec"
		[[ -e $MARK/$name.ours ]] || continue
		if pid=$(pid_of "$pidf" "$comm"); then kill -TERM "$pid" 2>/dev/null; pids+=("$pid"); fi
		rm -f "$MARK/$name.ours"
	done
	for ((i = 0; i < 300 && ${#pids[@]}; i++)); do
		local left=()
		for pid in "${pids[@]}"; do running "$pid" && left+=("$pid"); done
		pids=("${left[@]}")
		((${#pids[@]})) && sleep 0.1
	done
	for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
}

mkdir -p "$MARK"
exec 9>"$MARK/lock"
flock -w 60 9 || { echo "slurm stop: another start or stop holds $MARK/lock" >&2; exit 1; }

if [[ -e $MARK/slurmctld.ours ]] && pid_of /run/slurmctld.pid slurmctld >/dev/null; then
	ids=$(squeue -h -o '%A' 2>/dev/null | tr '\n' ' ')
	if [[ -n ${ids// /} ]]; then
		# shellcheck disable=SC2086
		scancel $ids 2>/dev/null
		for ((i = 0; i < 200; i++)); do [[ -z $(squeue -h -o '%A' 2>/dev/null) ]] && break; sleep 0.1; done
	fi
fi
stop "slurmd /run/slurmd.pid slurmd" "slurmctld /run/slurmctld.pid slurmctld"
stop "slurmdbd /run/slurmdbd.pid slurmdbd"
stop "mariadbd /run/docket-slurm-mariadb/mysqld.pid mariadbd" "munged /run/munge/munged.pid munged"
if ((PURGE)); then
	rm -rf /var/lib/slurm/slurmctld/* /var/lib/slurm/slurmd/* /var/lib/slurm/mariadb /var/log/slurm/* \
		/var/log/slurm-mariadb /run/docket-slurm-mariadb /etc/slurm/slurm.conf /etc/slurm/slurmdbd.conf
fi
echo "slurm stopped${PURGE:+}$( ((PURGE)) && echo ' and purged')"
