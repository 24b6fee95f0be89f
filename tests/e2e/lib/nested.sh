# shellcheck shell=bash
# shellcheck disable=SC2034 # E2E_POOL, E2E_NODE_USERNS, NODE_LOG_MARK: read by node.sh and expect.sh
# The e2e node one level down, as usernetes runs it: containerd, runc and the
# pre-started plugin all run as root of a user namespace that holds only
# E2E_NESTED_IDS IDs, with the node's own mount, network and PID namespaces
# (tests/usernetes_node). The node's map is the one
# `uid-mapper audit --suggest-map` suggests for the suite's images, as the
# README's audit section tells an operator to do; the plugin's pool is that
# map (no `pool` key). Source after node.sh; it replaces the few functions of
# node.sh and expect.sh that differ one level down:
#
#   node_start_containerd   the first call makes the node, every call starts
#                           containerd inside it (nsenter)
#   ncrictl                 crictl in the node's network namespace, where the
#                           CRI stream server for `crictl exec` listens
#   node_uid_mapper ARGS... uid-mapper inside the node (plan: pool = its map;
#                           status: the pinned namespaces are mounted there)
#   node_mountinfo          the mount table of the node's mount namespace
#   node_enter [-U] [-m] ... CMD...   nsenter into the node
#
# Teardown is node.sh's: killing the launcher (its command line names the
# node directory) kills the node's PID 1, and with it every process, mount
# and interface of the node.

# Host IDs given to the node: free on the test machine (nothing in
# /etc/subuid), like one user's subordinate allocation.
E2E_NESTED_HOST_ID=${E2E_NESTED_HOST_ID:-200000}
E2E_NESTED_IDS=${E2E_NESTED_IDS:-2048}
E2E_NESTED_LAUNCHER=${E2E_NESTED_LAUNCHER:-$E2E_BUILD/tests/usernetes_node}

NESTED_INIT= # the host PID of the node's PID 1
E2E_POOL=    # the plugin's pool is the node's whole map

node_enter() { # [NSENTER OPTIONS...] -- CMD...
    nsenter --target "$NESTED_INIT" "$@"
}
ncrictl() { node_enter --net -- "$NODE_BIN/crictl" --config "$NODE/crictl.yaml" "$@"; }
node_uid_mapper() { node_enter --user --mount --pid -- "$NODE/uid-mapper" "$@"; }
node_mountinfo() { cat "/proc/$NESTED_INIT/mountinfo"; }

# nested_map_lines uidRanges|gidRanges: the kernel map lines for the node from
# the audit's suggestion, each range on the next free host IDs.
nested_map_lines() {
    jq -r --arg key "$1" --argjson base "$E2E_NESTED_HOST_ID" '
        reduce .[$key][] as [$start, $count] ({host: $base, lines: []};
            .lines += ["\($start) \(.host) \($count)"] | .host += $count)
        | .lines[]' "$NODE/suggested-map.json"
}

# nested_node_create: the node's maps, its binaries, its ownership, and the
# node itself (PID 1 ready), from a node directory node_start has filled.
nested_node_create() {
    "$E2E_PLUGIN_BIN" audit --suggest-map "$E2E_NESTED_IDS" --json "$NODE/images.tar" \
        >"$NODE/suggested-map.json" || { log "uid-mapper audit --suggest-map failed"; return 1; }
    nested_map_lines uidRanges >"$NODE/uid_map"
    nested_map_lines gidRanges >"$NODE/gid_map"
    log "node map (uid_map): $(tr '\n' ';' <"$NODE/uid_map")"
    [ -x "$E2E_NESTED_LAUNCHER" ] || { log "$E2E_NESTED_LAUNCHER is missing: run make e2e-nested"; return 1; }
    cp "$E2E_LIB/nested-init.sh" "$NODE/nested-init.sh"
    # The node's PID 1 mounts its own tmpfs over these; they must exist (a
    # containerd or a CNI plugin run on the host creates them too).
    mkdir -p /run/containerd /var/lib/cni

    # Everything under the node directory belongs to the node's root, as a
    # node container's files belong to it; the host's root, whom the node does
    # not map, is nobody there. The pinned components live in 0700 cache
    # directories: hard links (root's, mode 0755) make them reachable.
    local host_root
    host_root=$(awk '$1 == 0 { print $2 }' "$NODE/uid_map"):$(awk '$1 == 0 { print $2 }' "$NODE/gid_map")
    chown -R "$host_root" "$NODE"
    mkdir "$NODE/bin"
    chown "$host_root" "$NODE/bin"
    local c
    for c in containerd containerd-shim-runc-v2 ctr runc crictl; do
        ln "$(readlink -f "$NODE_BIN/$c")" "$NODE/bin/$c" 2>/dev/null ||
            cp "$NODE_BIN/$c" "$NODE/bin/$c" || return 1
    done
    NODE_BIN=$NODE/bin
    node_render "$E2E_DIR/containerd.toml.in" "$NODE/containerd.toml"
    nested_delegate_cgroups "$host_root" || return 1

    # The node must not hold node.sh's lock (fd 8): when a killed run leaves
    # it behind, the next run takes the lock and sweeps it away.
    setsid "$E2E_NESTED_LAUNCHER" "$NODE/uid_map" "$NODE/gid_map" \
        /bin/sh "$NODE/nested-init.sh" "$NODE" >>"$NODE/logs/node.log" 2>&1 8>&- &
    echo $! >"$NODE/node.pid"
    disown
    if ! wait_for 10 test -e "$NODE/node-ready"; then
        log "the nested node did not come up; its log:"
        cat "$NODE/logs/node.log" >&2
        return 1
    fi
    NESTED_INIT=$(nested_child_of "$(cat "$NODE/node.pid")")
    # expect.sh tells mapped containers from unmapped ones by this.
    E2E_NODE_USERNS=$(readlink "/proc/$NESTED_INIT/ns/user")
}

# nested_delegate_cgroups UID:GID: the pods' cgroup parent in every cgroup
# hierarchy, owned by the node's root, as systemd delegates a subtree to a
# usernetes node. runc (rootless in a user namespace) ignores cgroup
# permission errors only for specs without a cgroupsPath, and the CRI always
# sets one. node.sh's teardown removes these directories.
nested_delegate_cgroups() {
    local mnt dir
    awk '$9 == "cgroup" || $9 == "cgroup2" { print $5 }' /proc/self/mountinfo | while read -r mnt; do
        dir=$mnt/$E2E_CGROUP
        mkdir -p "$dir" || return 1
        # A new cpuset cgroup has no CPUs and no memory nodes until given some.
        if [ -e "$dir/cpuset.cpus" ]; then
            cat "$mnt/cpuset.cpus" >"$dir/cpuset.cpus" && cat "$mnt/cpuset.mems" >"$dir/cpuset.mems" || return 1
        fi
        chown -R "$1" "$dir" || return 1
    done
}

nested_child_of() { tr ' ' '\n' <"/proc/$1/task/$1/children" | grep -m1 .; }

node_start_containerd() {
    [ -f "$NODE/node.pid" ] || nested_node_create || return 1
    touch "$NODE/logs/containerd.log"
    NODE_LOG_MARK=$(wc -l <"$NODE/logs/containerd.log")
    # nsenter forks into the node's PID namespace: containerd is its child.
    setsid nsenter --target "$NESTED_INIT" --user --mount --net --pid --wd=/ \
        env PATH="$NODE_BIN:$PATH" "$NODE_BIN/containerd" --config "$NODE/containerd.toml" \
        >>"$NODE/logs/containerd.log" 2>&1 8>&- &
    local enter=$! pid
    disown
    wait_for 5 nested_child_of "$enter" || { log "nsenter into the node failed"; tail -5 "$NODE/logs/containerd.log" >&2; return 1; }
    pid=$(nested_child_of "$enter")
    echo "$pid" >"$NODE/containerd.pid"
    if ! wait_for 60 ncrictl info; then
        log "containerd did not answer within 60 s; its log ends with:"
        tail -20 "$NODE/logs/containerd.log" >&2
        return 1
    fi
}
