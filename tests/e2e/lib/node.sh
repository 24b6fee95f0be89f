# shellcheck shell=bash
# A throwaway node: containerd with its own root, state, sockets and NRI
# socket under one temporary directory, the CRI plugin on cgroupfs with a
# bridge CNI network, images imported from a local archive, and the plugin
# either pre-started by containerd from an NRI plugin directory with a drop-in
# config, or run as an external plugin on the node's NRI socket.
#
#   node_start prestarted|external   set up and start; sets NODE, NODE_* vars
#   node_start nested                prestarted, one level down (lib/nested.sh)
#   node_stop                        tear everything down (idempotent, trap-safe)
#   node_leaks                       print what teardown left behind; 1 if any
#   ncrictl ARGS...                  crictl against this node
#   nctr ARGS...                     ctr against this node (namespace k8s.io)
#
# Only one node runs on the machine at a time (a lock), so the bridge name and
# the subnet below are fixed and a node killed mid-run is cleaned by the next.

E2E_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_DIR=$(dirname "$E2E_LIB")
E2E_REPO=$(cd "$E2E_DIR/../.." && pwd)
# shellcheck source=tests/e2e/lib/images.sh
. "$E2E_LIB/images.sh"

E2E_BRIDGE=uidm-e2e0
E2E_NET_NAME=uid-mapper-e2e
E2E_SUBNET=10.88.77.0/24
E2E_CGROUP=uid-mapper-e2e
E2E_LOCK=/run/lock/uid-mapper-e2e.lock
# The plugin's pool; set it empty for the default (the node's whole map).
E2E_POOL=${E2E_POOL-0-2047}
E2E_PLUGIN_NAME=00-uid-mapper
# The plugin under test: $BUILD/uid-mapper (BUILD as in the Makefile, default
# build/), or UID_MAPPER_BIN.
E2E_BUILD=${BUILD:-build}
case $E2E_BUILD in /*) ;; *) E2E_BUILD=$E2E_REPO/$E2E_BUILD ;; esac
E2E_PLUGIN_BIN=${UID_MAPPER_BIN:-$E2E_BUILD/uid-mapper}
# Where each node's logs (containerd, plugin, image import) are kept.
E2E_LOG_DIR=${E2E_LOG_DIR:-$E2E_REPO/build/results/e2e-nodes}

NODE=
NODE_BIN=
NODE_MODE=
NODE_LOG_MARK=0

log() { echo "e2e: $*" >&2; }

ncrictl() { "$NODE_BIN/crictl" --config "$NODE/crictl.yaml" "$@"; }
nctr() { "$NODE_BIN/ctr" --address "$NODE/containerd.sock" --namespace k8s.io "$@"; }

# wait_for SECONDS CMD...: polls CMD every 0.2 s until it succeeds.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.2
    done
}

node_render() { # TEMPLATE OUTPUT
    sed -e "s|@NODE@|$NODE|g" -e "s|@BIN@|$NODE_BIN|g" \
        -e "s|@PAUSE_IMAGE@|$E2E_IMAGE_REPO:pause|g" -e "s|@BRIDGE@|$E2E_BRIDGE|g" \
        -e "s|@NET_NAME@|$E2E_NET_NAME|g" -e "s|@SUBNET@|$E2E_SUBNET|g" "$1" >"$2"
}

# The drop-in config the plugin reads (Configure string or --config FILE).
node_plugin_config() {
    cat <<EOF
# uid-mapper for the e2e node $NODE
${E2E_POOL:+pool: \"$E2E_POOL\"}
state_dir: $NODE/plugin-state
on_error: fail
log_level: debug
EOF
}

node_start() {
    NODE_MODE=$1
    NODE_BIN=$("$E2E_REPO/scripts/components.sh") || return 1
    export PATH="$NODE_BIN:$PATH"
    [ -x "$E2E_PLUGIN_BIN" ] || { log "$E2E_PLUGIN_BIN is missing: run make"; return 1; }

    exec 8>"$E2E_LOCK"
    if ! flock -w 600 8; then
        log "another e2e node has held $E2E_LOCK for 10 minutes; giving up"
        return 1
    fi
    node_sweep_stale
    : >"$E2E_TRACK"

    NODE=$(mktemp -d /tmp/uid-mapper-e2e.XXXXXX)
    log "node $NODE ($NODE_MODE plugin), components $NODE_BIN"
    mkdir -p "$NODE/nri/plugins" "$NODE/nri/conf.d" "$NODE/cni/net.d" "$NODE/logs" "$NODE/plugin-state"
    node_render "$E2E_DIR/containerd.toml.in" "$NODE/containerd.toml"
    node_render "$E2E_DIR/cni.conflist.in" "$NODE/cni/net.d/10-$E2E_NET_NAME.conflist"
    cat >"$NODE/crictl.yaml" <<EOF
runtime-endpoint: unix://$NODE/containerd.sock
image-endpoint: unix://$NODE/containerd.sock
timeout: 60
EOF
    node_plugin_config >"$NODE/plugin.conf"
    if [ "$NODE_MODE" != external ]; then
        node_install_prestarted
    fi

    images_build "$NODE" || return 1
    node_start_containerd || return 1
    nctr images import --base-name "$E2E_IMAGE_REPO" "$NODE/images.tar" >"$NODE/logs/import.log" 2>&1 ||
        { log "ctr images import failed:"; cat "$NODE/logs/import.log" >&2; return 1; }
    [ "$NODE_MODE" = external ] && { node_start_external_plugin || return 1; }
    node_wait_plugin
}

# containerd runs IDX-NAME from plugin_path with only the NRI environment and
# discards its output; a one-line wrapper that execs the real binary keeps the
# plugin's log (fd 3, the NRI socket, passes through the exec).
node_install_prestarted() {
    install -m 0755 "$E2E_PLUGIN_BIN" "$NODE/uid-mapper"
    cat >"$NODE/nri/plugins/$E2E_PLUGIN_NAME" <<EOF
#!/bin/sh
exec $NODE/uid-mapper "\$@" 2>>$NODE/logs/plugin.log
EOF
    chmod 0755 "$NODE/nri/plugins/$E2E_PLUGIN_NAME"
    cp "$NODE/plugin.conf" "$NODE/nri/conf.d/$E2E_PLUGIN_NAME.conf"
}

node_start_containerd() {
    touch "$NODE/logs/containerd.log"
    NODE_LOG_MARK=$(wc -l <"$NODE/logs/containerd.log")
    setsid "$NODE_BIN/containerd" --config "$NODE/containerd.toml" >>"$NODE/logs/containerd.log" 2>&1 8>&- &
    echo $! >"$NODE/containerd.pid"
    disown
    if ! wait_for 60 ncrictl info; then
        log "containerd did not answer within 60 s; its log ends with:"
        tail -20 "$NODE/logs/containerd.log" >&2
        return 1
    fi
}

node_start_external_plugin() {
    [ -x "$NODE/uid-mapper" ] || install -m 0755 "$E2E_PLUGIN_BIN" "$NODE/uid-mapper"
    NODE_LOG_MARK=$(wc -l <"$NODE/logs/containerd.log")
    setsid "$NODE/uid-mapper" run --socket "$NODE/nri.sock" --config "$NODE/plugin.conf" \
        >>"$NODE/logs/plugin.log" 2>&1 8>&- &
    echo $! >"$NODE/plugin.pid"
    disown
}

# The plugin has registered once containerd's log (since containerd last
# started) says so; without that the first pods would race the plugin and run
# unmapped.
node_wait_plugin() {
    if ! wait_for 30 node_log_since_start_has \
        'pre-installed NRI plugin .*uid-mapper.* synchronization success|plugin .*uid-mapper.* connected and synchronized'; then
        log "the plugin did not register with containerd within 30 s"
        tail -20 "$NODE/logs/containerd.log" >&2
        [ -f "$NODE/logs/plugin.log" ] && tail -20 "$NODE/logs/plugin.log" >&2
        return 1
    fi
}

# After a scenario that failed half-way: containerd and the plugin are up again.
node_ensure_up() {
    if ! node_running containerd; then
        node_start_containerd && node_wait_plugin
    elif [ -z "$(node_plugin_pid)" ]; then
        if [ "$NODE_MODE" = external ]; then
            node_start_external_plugin
        else
            node_restart_containerd
        fi && node_wait_plugin
    fi
}

node_log_since_start_has() {
    tail -n +"$((NODE_LOG_MARK + 1))" "$NODE/logs/containerd.log" | grep -qE "$1"
}

# Restart containerd on the same root and state: running pods must survive.
node_restart_containerd() {
    node_stop_process containerd TERM
    node_start_containerd
}

# node_stop_process containerd|plugin [SIGNAL]: SIGNAL (TERM by default),
# then KILL after 10 s. The pids live in files so that scenarios, which run in
# subshells, can restart them.
node_stop_process() {
    local pidfile="$NODE/$1.pid" pid
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    rm -f "$pidfile"
    kill -0 "$pid" 2>/dev/null || return 0
    kill "-${2:-TERM}" "$pid" 2>/dev/null
    wait_for 10 node_pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null
    wait_for 5 node_pid_gone "$pid" || log "$1 ($pid) survived SIGKILL"
}
# Gone, or a zombie its parent has yet to reap (containerd reaps a dead
# pre-started plugin only when it notices).
node_pid_gone() {
    local state
    state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
    [ -z "$state" ] || [ "$state" = Z ]
}
# The plugin process, pre-started (containerd's child) or external.
node_plugin_pid() {
    local p
    for p in /proc/[0-9]*; do
        [ "$(tr '\0' '\n' 2>/dev/null <"$p/cmdline" | head -1)" = "$NODE/uid-mapper" ] && echo "${p#/proc/}"
    done
    return 0
}
node_running() { [ -f "$NODE/$1.pid" ] && kill -0 "$(cat "$NODE/$1.pid")" 2>/dev/null; }

# What a pod has outside the node dir, for node_leaks to check it is gone:
# its shim's socket (in /run/containerd/s) and the host ends of the veths on
# the node's bridge. One "socket PATH" or "link NAME" per line.
E2E_TRACK=/run/lock/uid-mapper-e2e.track
node_track_pod() {
    # The shim names its socket by the SHA-256 of containerd's address, the
    # namespace and the sandbox id (containerd pkg/shim CreateSocketAddress).
    local sum
    sum=$(printf '%s' "$NODE/containerd.sock/k8s.io/$1" | sha256sum | cut -d' ' -f1)
    echo "socket /run/containerd/s/$sum" >>"$E2E_TRACK"
    ip -o link show master "$E2E_BRIDGE" 2>/dev/null |
        awk -F': ' '{ sub(/@.*/, "", $2); print "link " $2 }' >>"$E2E_TRACK"
    return 0
}
node_tracked() { [ -f "$E2E_TRACK" ] && awk -v k="$1" '$1 == k { print $2 }' "$E2E_TRACK" | sort -u; }

# Processes that belong to this node: containerd, shims, the plugin
# (by their command line or executable) and container processes (by cgroup).
node_pids() {
    local p
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [ "$p" = $$ ] || [ "$p" = "$BASHPID" ] && continue
        if tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -qF "$NODE/" ||
            grep -qE ":/$E2E_CGROUP(/|$)" "/proc/$p/cgroup" 2>/dev/null; then
            echo "$p"
        fi
    done
}

node_cgroup_dirs() {
    find /sys/fs/cgroup -maxdepth 2 -type d -name "$E2E_CGROUP" 2>/dev/null
}

node_mounts() { # mount points under the node dir, deepest first
    [ -n "$NODE" ] || return 0
    awk -v pfx="$NODE/" 'index($5, pfx) == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

node_stop() {
    [ -n "$NODE" ] && [ -d "$NODE" ] || return 0
    log "tearing down $NODE"
    if node_running containerd; then
        timeout 90 "$NODE_BIN/crictl" --config "$NODE/crictl.yaml" rmp --all --force >/dev/null 2>&1 ||
            log "crictl rmp --all --force failed; killing what is left"
    fi
    node_stop_process plugin
    node_stop_process containerd
    # Keep the node's logs for a post-mortem (CI keeps build/results).
    local keep="$E2E_LOG_DIR/$NODE_MODE"
    rm -rf "$keep" && mkdir -p "$keep" && cp -r "$NODE/logs/." "$keep/" 2>/dev/null
    node_force_clean
}

# Removes whatever a node left, whether it exited cleanly or was killed:
# containers (runc delete -f), shims and the plugin, cgroups, mounts, the
# bridge, CNI cache entries, and the directory itself.
node_force_clean() {
    local root="$NODE/runc/k8s.io" id p m
    if [ -d "$root" ] && [ -x "$NODE_BIN/runc" ]; then
        for id in $("$NODE_BIN/runc" --root "$root" list -q 2>/dev/null); do
            "$NODE_BIN/runc" --root "$root" delete --force "$id" >/dev/null 2>&1
        done
    fi
    for p in $(node_pids); do kill -KILL "$p" 2>/dev/null; done
    wait_for 10 node_no_pids || log "processes of $NODE survive SIGKILL: $(node_pids | tr '\n' ' ')"
    for _ in 1 2 3; do
        for m in $(node_mounts); do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
        [ -z "$(node_mounts)" ] && break
    done
    for m in $(node_cgroup_dirs); do
        find "$m" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    ip link del "$E2E_BRIDGE" 2>/dev/null
    rm -f /var/lib/cni/results/"$E2E_NET_NAME"-* 2>/dev/null
    for p in $(node_tracked socket); do
        # A shim killed by SIGKILL cannot remove its socket.
        [ -S "$p" ] && rm -f "$p"
    done
    rm -rf --one-file-system "$NODE"
}
node_no_pids() { [ -z "$(node_pids)" ]; }

# A previous run killed before its teardown: its node dir, bridge, cgroups.
node_sweep_stale() {
    local d saved=$NODE
    for d in /tmp/uid-mapper-e2e.*; do
        [ -d "$d" ] || continue
        log "cleaning a stale node left by a killed run: $d"
        NODE=$d
        node_force_clean
    done
    NODE=$saved
    ip link del "$E2E_BRIDGE" 2>/dev/null
    for d in $(node_cgroup_dirs); do find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done
    return 0
}

node_leaks() {
    local leaks=() p m
    for m in $(node_mounts); do leaks+=("mount $m"); done
    for p in $(node_pids); do leaks+=("process $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"); done
    for m in $(node_cgroup_dirs); do leaks+=("cgroup $m"); done
    ip link show "$E2E_BRIDGE" >/dev/null 2>&1 && leaks+=("interface $E2E_BRIDGE")
    for p in $(node_tracked link); do ip link show "$p" >/dev/null 2>&1 && leaks+=("interface $p"); done
    for p in /var/lib/cni/results/"$E2E_NET_NAME"-*; do [ -e "$p" ] && leaks+=("CNI cache $p"); done
    for p in $(node_tracked socket); do [ -e "$p" ] && leaks+=("shim socket $p"); done
    [ -n "$NODE" ] && [ -e "$NODE" ] && leaks+=("directory $NODE")
    [ ${#leaks[@]} -eq 0 ] && return 0
    printf 'leak: %s\n' "${leaks[@]}"
    return 1
}
