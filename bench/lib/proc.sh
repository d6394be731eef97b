# shellcheck shell=bash
# bench/lib/proc.sh: logging and process control for bench/run.sh (sourced, not run).
#
# Every server is started by start_server, which records its PID; cleanup (the EXIT trap)
# stops each recorded PID and its descendants: TERM, then KILL after 5 s. Nothing is ever
# stopped by name. Needs: T0, OUT_DIR, TOOL, PIN (set by run.sh before sourcing).

declare -a STARTED=()                   # server PIDs we started, in order
declare -A PID_OF=()                    # name -> PID
CHILD=                                  # the foreground client (wrk / idle) while it runs

log() {
    local line
    line=$(printf '[%3ds] %s' "$(( $(date +%s) - T0 ))" "$*")
    printf '%s\n' "$line" >&2
    [[ -d $OUT_DIR ]] && printf '%s\n' "$line" >>"$OUT_DIR/run.log"
    return 0
}
die() { log "ERROR: $*"; exit 1; }

# alive PID: the process exists and is not a zombie.
alive() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; s=${s##*) }; [[ ${s:0:1} != Z ]]; }

stop_pid() { # TERM the PID and its descendants, KILL whatever is left after 5 s
    local pid=$1 pids p left='' i
    [[ -n $pid ]] || return 0
    if alive "$pid"; then
        pids=$("$TOOL" tree -pid "$pid" 2>/dev/null) || pids=$pid
        # shellcheck disable=SC2086 # a list of PIDs
        kill -TERM $pids 2>/dev/null
        for i in $(seq 50); do
            left=
            for p in $pids; do alive "$p" && left+=" $p"; done
            [[ -z $left ]] && break
            sleep 0.1
        done
        # shellcheck disable=SC2086
        [[ -n $left ]] && kill -KILL $left 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    return 0
}

cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    [[ -n $CHILD ]] && stop_pid "$CHILD"
    for pid in "${STARTED[@]}"; do stop_pid "$pid"; done
    (( ${#STARTED[@]} > 0 )) && log "stopped ${#STARTED[@]} process(es) started by this run"
    exit "$rc"
}

# pin_prefix CPUS: sets PREFIX=(taskset -c CPUS), or () with PIN=0 or an empty CPUS. An
# array to put before a command rather than a wrapper function, so that a backgrounded
# "${PREFIX[@]}" cmd & leaves the command's own PID in $! (taskset execs it).
pin_prefix() {
    PREFIX=()
    if [[ $PIN == 1 && -n $1 ]]; then PREFIX=(taskset -c "$1"); fi
}

start_server() { # name CPUS cmd...  (output to $RUN/<name>.log; PID recorded)
    local name=$1 cpus=$2; shift 2
    pin_prefix "$cpus"
    # A plain command, not a function, is backgrounded, so $! is the process itself
    # (taskset and env exec it), not a subshell around it.
    "${PREFIX[@]}" "$@" >"$RUN/$name.log" 2>&1 </dev/null &
    STARTED+=("$!")
    PID_OF[$name]=$!
}

stop_server() {
    local name=$1 pid=${PID_OF[$1]:-} i
    [[ -n $pid ]] || return 0
    stop_pid "$pid"
    for i in "${!STARTED[@]}"; do [[ ${STARTED[$i]} == "$pid" ]] && unset 'STARTED[i]'; done
    STARTED=("${STARTED[@]}")
    unset 'PID_OF[$name]'
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# http_status PORT PATH: the status code of one HTTP/1.0 GET on 127.0.0.1 (empty on failure).
http_status() {
    local line
    line=$(exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET %s HTTP/1.0\r\nHost: bench\r\n\r\n' "$2" >&3 &&
        timeout 5 head -1 <&3) 2>/dev/null
    line=${line#HTTP/1.? }
    echo "${line%% *}"
}

# ticks PID: "<utime+stime> <stime>" of the process tree in clock ticks ("0 0" when it is gone).
ticks() {
    local s t st
    s=$("$TOOL" proc -pid "$1" 2>/dev/null) || { echo "0 0"; return; }
    t=${s#ticks=}; t=${t%% *}
    st=0; [[ $s == *" sys_ticks="* ]] && { st=${s#* sys_ticks=}; st=${st%% *}; }
    echo "$t $st"
}
