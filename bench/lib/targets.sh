# shellcheck shell=bash
# bench/lib/targets.sh: the targets of bench/run.sh (sourced, not run): their ports, the
# config files generated into the run directory, and start_target, which starts one and
# checks that it serves every path the scenarios use. Needs run.sh's settings and lib/proc.sh.

# port_of TARGET [SCENARIO]: the port wrk talks to. nginx and HAProxy serve the routes
# scenario from a second server/frontend; sluice routes on its normal port.
port_of() {
    case $1:${2:-} in
        nginx:routes) echo "$NGINX_ROUTES_PORT" ;;
        haproxy:routes) echo "$HAPROXY_ROUTES_PORT" ;;
        direct:* | upstream:*) echo "$UP_PORT" ;;
        nginx:*) echo "$NGINX_PORT" ;;
        haproxy:*) echo "$HAPROXY_PORT" ;;
        "$SLUICE_NAME":* | sluice-plain:*) echo "$SLUICE_PORT" ;;
        sluice-obs:*) echo "$OBS_PORT" ;;
        sluice-l2:*) echo "$L2_PORT" ;;
    esac
}

# pid_of TARGET: the process whose CPU a run of TARGET measures (empty for direct, which is
# measured by the upstream's CPU).
pid_of() {
    case $1 in
        direct) echo "" ;;
        sluice-plain) echo "${PID_OF[$SLUICE_NAME]:-}" ;;
        *) echo "${PID_OF[$1]:-}" ;;
    esac
}

# route_lines FORMAT: FORMAT (printf, %d = route index) once per route, 0..ROUTES-1.
# shellcheck disable=SC2059 # the format is the point
route_lines() { local i; for (( i = 0; i < ROUTES; i++ )); do printf "$1\n" "$i"; done; }

# fill_template SRC DST ROUTE_FORMAT sed-args...: DST = SRC with the sed substitutions applied
# and its "# @ROUTES@" line replaced by route_lines ROUTE_FORMAT (indented like the marker).
fill_template() {
    local src=$1 dst=$2 fmt=$3; shift 3
    route_lines "$fmt" >"$dst.routes"
    sed "$@" "$src" | awk -v f="$dst.routes" '
        /^[ \t]*# @ROUTES@[ \t]*$/ { ind = $0; sub(/#.*/, "", ind); while ((getline l < f) > 0) print ind l; next }
        { print }' >"$dst"
    rm -f "$dst.routes"
    local left
    left=$(grep -v '^[[:space:]]*#' "$dst" | grep -m1 '@[A-Z_]*@') && die "unfilled placeholder in $dst: $left"
    return 0
}

# sluice_config PORT DST [sed-args...]: SLUICE_CONFIG on another port, key paths made absolute
# (the copy lives in $RUN), plus any extra substitutions (sluice-obs turns on metrics and logs).
sluice_config() {
    local port=$1 dst=$2; shift 2
    sed -e "s|^listen: .*|listen: 127.0.0.1:$port|" -e "s|\.\./bench/\.keys|$ROOT/bench/.keys|g" "$@" \
        "$SLUICE_CONFIG_ABS" >"$dst"
}

# check_get PORT PATH LEN: wait (5 s) until PATH answers 200 with LEN body bytes.
check_get() { "$TOOL" wait -url "http://127.0.0.1:$1$2" -len "$3" -timeout 5s; }

start_target() { # name: start it and wait until it serves every path correctly
    local name=$1 port pid
    port=$(port_of "$name")
    case $name in
        upstream)
            start_server upstream "$CPU_CLIENT" env GOMAXPROCS=1 "$BIN/upstream" -listen "127.0.0.1:$UP_PORT"
            ;;
        nginx)
            mkdir -p "$RUN/nginx/tmp"
            fill_template "$BENCH/nginx-proxy.conf" "$RUN/nginx/nginx.conf" \
                'location /svc%d/ { proxy_pass http://backend; }' \
                -e "s|@UPSTREAM@|127.0.0.1:$UP_PORT|" -e "s|@LISTEN@|127.0.0.1:$NGINX_PORT|" \
                -e "s|@ROUTES_LISTEN@|127.0.0.1:$NGINX_ROUTES_PORT|" -e "s|@KEEPALIVE@|$UP_POOL|" \
                -e "s|@WORKERS@|$NGINX_WORKERS|"
            start_server nginx "$CPU_PROXY" "$NGINX_BIN" -p "$RUN/nginx/" -c "$RUN/nginx/nginx.conf" -e "$RUN/nginx/error.log"
            ;;
        haproxy)
            fill_template "$BENCH/haproxy-proxy.cfg" "$RUN/haproxy.cfg" \
                'use_backend be if { path_beg /svc%d/ }' \
                -e "s|@UPSTREAM@|127.0.0.1:$UP_PORT|" -e "s|@LISTEN@|127.0.0.1:$HAPROXY_PORT|" \
                -e "s|@ROUTES_LISTEN@|127.0.0.1:$HAPROXY_ROUTES_PORT|" -e "s|@KEEPALIVE@|$UP_POOL|g" \
                -e "s|@THREADS@|$HAPROXY_THREADS|" -e "s|@MAXCONN@|$HAPROXY_MAXCONN|g"
            "$HAPROXY_BIN" -c -q -f "$RUN/haproxy.cfg" >"$RUN/haproxy-check.log" 2>&1 ||
                { cat "$RUN/haproxy-check.log" >&2; die "haproxy rejects $RUN/haproxy.cfg"; }
            start_server haproxy "$CPU_PROXY" "$HAPROXY_BIN" -db -f "$RUN/haproxy.cfg"
            ;;
        "$SLUICE_NAME")
            # GATEWAY_LISTEN / UPSTREAM_ADDR let stand-ins written to the anchors' contract run here too.
            # shellcheck disable=SC2016 # $0 is expanded by the inner bash
            start_server "$SLUICE_NAME" "$CPU_PROXY" env ${SLUICE_GOMAXPROCS:+GOMAXPROCS=$SLUICE_GOMAXPROCS} \
                SLUICE_BENCH_HS_SECRET="$BENCH_SECRET" \
                GATEWAY_LISTEN="127.0.0.1:$SLUICE_PORT" UPSTREAM_ADDR="127.0.0.1:$UP_PORT" \
                bash -c 'cd "$0" && exec '"$SLUICE_CMD" "$ROOT"
            ;;
        sluice-obs)
            # The same config with metrics and an access log file on.
            sluice_config "$OBS_PORT" "$RUN/sluice-obs.yaml" -e 's|^metrics: false|metrics: true|' \
                -e "s|^access_log: .*|access_log: {path: $RUN/access.log}|"
            start_server sluice-obs "$CPU_PROXY" env ${SLUICE_GOMAXPROCS:+GOMAXPROCS=$SLUICE_GOMAXPROCS} \
                SLUICE_BENCH_HS_SECRET="$BENCH_SECRET" \
                "$ROOT/bin/sluice" -config "$RUN/sluice-obs.yaml" -loops "$SLUICE_LOOPS"
            ;;
        sluice-l2)
            # The same config with L2_LOOPS event loops on CPU_L2 (the scale scenario).
            sluice_config "$L2_PORT" "$RUN/sluice-l2.yaml"
            start_server sluice-l2 "$CPU_L2" env ${L2_GOMAXPROCS:+GOMAXPROCS=$L2_GOMAXPROCS} \
                SLUICE_BENCH_HS_SECRET="$BENCH_SECRET" \
                "$ROOT/bin/sluice" -config "$RUN/sluice-l2.yaml" -loops "$L2_LOOPS"
            ;;
        *) die "unknown target $name" ;;
    esac
    pid=${PID_OF[$name]}
    "$TOOL" wait -url "http://127.0.0.1:$port/" -len 12 -timeout 30s -pid "$pid" ||
        { tail -20 "$RUN/$name.log" >&2; die "$name did not serve GET / on 127.0.0.1:$port"; }
    if ! check_get "$port" /4k.bin 4096 || ! check_get "$port" /64k.bin 65536; then
        die "$name returns wrong bodies for /4k.bin or /64k.bin"
    fi
    if [[ " $SC_BODIES " == *" routes "* ]]; then # the first and the last route, and a miss
        local rp last=/svc$(( ROUTES - 1 ))/items/1 st
        rp=$(port_of "$name" routes)
        case $name in
            upstream | nginx | haproxy | "$SLUICE_NAME")
                if ! check_get "$rp" /svc0/items/1 12 || ! check_get "$rp" "$last" 12; then
                    die "$name does not serve /svc0/items/1 and $last on 127.0.0.1:$rp"
                fi
                ;;
        esac
        if [[ $name == nginx || $name == haproxy ]]; then
            st=$(http_status "$rp" /nope/items/1)
            [[ $st == 404 ]] || die "$name answers $st, not 404, for a path no route matches on 127.0.0.1:$rp"
        fi
    fi
    return 0
}
