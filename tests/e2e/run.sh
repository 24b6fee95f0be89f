#!/usr/bin/env bash
# The end-to-end suite: real containerd v2.3 + runc on a throwaway node, the
# plugin pre-started by containerd (and then external), pods driven through
# crictl as the kubelet would. Every scenario asserts from inside the
# container (crictl exec) and from its OCI spec (crictl inspect), and prints
# "PASS: name" or "FAIL: name" with the reason. Exits 1 on any failure.
#
#   tests/e2e/run.sh [SCENARIO...]    (root; `make e2e` runs them all)
#   tests/e2e/run.sh nested [SCENARIO...]
#       the same plugin one level down, as usernetes runs it: the node
#       (containerd, runc, the plugin) is root of a user namespace holding
#       2048 IDs, punch-holed as `uid-mapper audit --suggest-map` suggests
#       (lib/nested.sh; `make e2e-nested`)
set -uo pipefail
[ "$(id -u)" -eq 0 ] || { echo "e2e: needs root (containerd, runc, mounts, netns)" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib/node.sh
. "$here/lib/node.sh"
# shellcheck source=tests/e2e/lib/pods.sh
. "$here/lib/pods.sh"
# shellcheck source=tests/e2e/lib/expect.sh
. "$here/lib/expect.sh"

passed=0 failed=0

# scenario NAME FUNCTION: runs FUNCTION in a subshell (fail ends only it).
# On a live node it then removes whatever pods the scenario left and, after a
# failure, shows the logs and brings containerd and the plugin back, so that
# scenarios stay independent.
scenario() {
    local name=$1 fn=$2 started=$SECONDS ok=1
    if [ ${#selected[@]} -gt 0 ] && [ "$fn" != s_teardown_leaves_nothing ] &&
        ! printf '%s\n' "${selected[@]}" | grep -qx "$name"; then
        return 0
    fi
    echo "--- $name"
    ("$fn") || ok=0
    if [ $ok -eq 1 ]; then
        echo "PASS: $name ($((SECONDS - started)) s)"
        passed=$((passed + 1))
    else
        echo "FAIL: $name"
        failed=$((failed + 1))
    fi
    [ -d "$NODE" ] || return 0
    if [ $ok -eq 0 ]; then
        node_dump_logs
        node_ensure_up || log "could not bring the node back up after $name"
    fi
    ncrictl rmp --all --force >/dev/null 2>&1
    return 0
}

node_dump_logs() {
    echo "    containerd errors (last 5):"
    grep 'level=error' "$NODE/logs/containerd.log" | tail -5 | sed 's/^/      /'
    echo "    plugin log (last 10):"
    tail -10 "$NODE/logs/plugin.log" 2>/dev/null | sed 's/^/      /'
}

# --- scenarios -------------------------------------------------------------

# A distroless-style image user on a 2048-ID pool: outside the pool, so it
# takes the slot of pool ID 2044; the maps are exactly the plan's.
s_image_user_65532() {
    local pod cid
    pod=$(pod_run nonroot) || fail "crictl runp failed"
    cid=$(ctr_run "$pod" app nonroot) || fail "the 65532 container did not start"
    expect_mapped "$cid"
    expect_eq "id inside" "$(in_ctr "$cid" id)" "uid=65532(nonroot) gid=65532(nonroot) groups=65532(nonroot)"
    expect_plan_maps "$cid"
    # The per-pod sysfs shows the pod's network devices, not the node's.
    expect_eq "/sys/class/net inside" "$(in_ctr "$cid" ls /sys/class/net | tr '\n' ' ')" "eth0 lo "
    # shellcheck disable=SC2016 # the awk program runs inside the container
    expect_eq "filesystems at /sys and /dev/mqueue inside" \
        "$(in_ctr "$cid" awk '$2 == "/sys" || $2 == "/dev/mqueue" { printf "%s %s %s;", $2, $3, substr($4, 1, 2) }' /proc/self/mounts)" \
        "/sys sysfs ro;/dev/mqueue mqueue rw;"
}

s_run_as_user_1000_with_groups() {
    local pod cid
    pod=$(pod_run runas) || fail "crictl runp failed"
    cid=$(ctr_run "$pod" app root user=1000 groups=5000,65534) || fail "the runAsUser 1000 container did not start"
    expect_mapped "$cid"
    expect_eq "id -u inside" "$(in_ctr "$cid" id -u)" 1000
    expect_eq "id -g inside" "$(in_ctr "$cid" id -g)" 1000
    expect_eq "supplementary groups inside" \
        "$(in_ctr "$cid" id -G | tr ' ' '\n' | sort -n | tr '\n' ' ')" "1000 5000 65534 "
    expect_eq "gids in the spec" "$(ctr_spec "$cid" | jq -c '.process.user.additionalGids | sort')" "[1000,5000,65534]"
    expect_plan_maps "$cid"
}

# Pool IDs map to themselves, so files the node unpacked keep their owner.
s_image_file_owned_by_1000() {
    local pod cid
    pod=$(pod_run owner) || fail "crictl runp failed"
    cid=$(ctr_run "$pod" app nonroot) || fail "the container did not start"
    expect_mapped "$cid"
    expect_eq "owner of /home/user1000/owned inside" \
        "$(in_ctr "$cid" stat -c %u:%g /home/user1000/owned)" "1000:1000"
    expect_eq "owner of /home/user1000/owned in the node's rootfs" \
        "$(stat -c %u:%g "$NODE/state/io.containerd.runtime.v2.task/k8s.io/$cid/rootfs/home/user1000/owned")" "1000:1000"
}

# start_root_pair NAME [caps=...]: the same root container twice, once opted
# out (the node's root) and once mapped; prints "OPTED_OUT_CID MAPPED_CID".
start_root_pair() {
    local name=$1 free mapped a b
    shift
    free=$(pod_run "$name-optout" optout) || fail "crictl runp (opted out) failed"
    mapped=$(pod_run "$name-mapped") || fail "crictl runp (mapped) failed"
    a=$(ctr_run "$free" app root "$@") || fail "the opted-out root container did not start"
    b=$(ctr_run "$mapped" app root "$@") || fail "the mapped root container did not start"
    echo "$a $b"
}

# attempt CID WHAT CMD...: runs CMD as the container's root; prints the
# outcome for the log and returns CMD's status.
attempt() {
    local cid=$1 what=$2 out rc
    shift 2
    out=$(in_ctr "$cid" "$@" 2>&1)
    rc=$?
    echo "    $what: $* -> $([ $rc -eq 0 ] && echo ok || echo "refused: $(head -1 <<<"$out")")" >&2
    return $rc
}

s_mapped_root_cannot_mknod() {
    local pair a b
    pair=$(start_root_pair mknod) || exit 1
    read -r a b <<<"$pair"
    expect_unmapped "$a"
    expect_mapped "$b"
    attempt "$a" "opted-out root" mknod /tmp/blockdev b 7 0 ||
        fail "the opted-out root could not mknod either, so this proves nothing"
    ! attempt "$b" "mapped root" mknod /tmp/blockdev b 7 0 ||
        fail "the mapped root created a block device node"
}

s_mapped_root_cannot_touch_node_net_or_sysfs() {
    local pair a b
    pair=$(start_root_pair netadmin caps=NET_ADMIN,SYS_ADMIN) || exit 1
    read -r a b <<<"$pair"
    expect_unmapped "$a"
    expect_mapped "$b"
    attempt "$a" "opted-out root" ip link add e2e0 type veth ||
        fail "the opted-out root with NET_ADMIN could not add an interface, so this proves nothing"
    attempt "$a" "opted-out root" mount -t sysfs sysfs /mnt ||
        fail "the opted-out root with SYS_ADMIN could not mount sysfs, so this proves nothing"
    ! attempt "$b" "mapped root" ip link add e2e0 type veth ||
        fail "the mapped root added an interface to the pod network"
    ! attempt "$b" "mapped root" mount -t sysfs sysfs /mnt ||
        fail "the mapped root mounted sysfs"
}

s_host_network_not_mapped() {
    local pod cid
    pod=$(pod_run hostnet hostnet) || fail "crictl runp failed"
    cid=$(ctr_run "$pod" app nonroot) || fail "the hostNetwork container did not start"
    expect_unmapped "$cid"
    expect_eq "id -u inside" "$(in_ctr "$cid" id -u)" 65532
}

# runc cannot mount /proc for a child user namespace in a pid namespace the
# node's user namespace owns; the plugin either solves it or skips, saying why.
s_shared_pid_namespace() {
    local pod cid userns reason
    pod=$(pod_run sharepid sharepid) || fail "crictl runp failed"
    cid=$(ctr_run "$pod" app nonroot) || fail "the shareProcessNamespace container did not start"
    userns=$(ctr_userns_path "$cid")
    if [ -n "$userns" ]; then
        expect_mapped "$cid"
        echo "    runs mapped in $userns"
    else
        expect_unmapped "$cid"
        reason=$(grep -F "${cid:0:12}" "$NODE/logs/plugin.log" | grep -iE 'skip|no user namespace' | tail -1)
        [ -n "$reason" ] || fail "the container runs unmapped and the plugin logged no reason"
        echo "    skipped: $reason"
    fi
    expect_eq "id -u inside" "$(in_ctr "$cid" id -u)" 65532
}

s_opt_out_annotation() {
    local pod cid
    pod=$(pod_run optout optout) || fail "crictl runp failed"
    cid=$(ctr_run "$pod" app nonroot) || fail "the opted-out container did not start"
    expect_unmapped "$cid"
    expect_eq "uid_map inside" "$(in_ctr "$cid" cat /proc/self/uid_map | mapping_json)" \
        "$(mapping_json </proc/self/uid_map)"
}

s_same_user_shares_namespace() {
    local p1 p2 c1 c2 ns1 ns2 users
    p1=$(pod_run share1) || fail "crictl runp failed"
    p2=$(pod_run share2) || fail "crictl runp failed"
    c1=$(ctr_run "$p1" app nonroot) || fail "the first container did not start"
    c2=$(ctr_run "$p2" app nonroot) || fail "the second container did not start"
    expect_mapped "$c1"
    expect_mapped "$c2"
    ns1=$(ctr_userns_path "$c1")
    ns2=$(ctr_userns_path "$c2")
    expect_eq "pinned namespace of the second pod" "$ns2" "$ns1"
    expect_eq "user namespace inside both" "$(in_ctr "$c2" readlink /proc/self/ns/user)" \
        "$(in_ctr "$c1" readlink /proc/self/ns/user)"
    users=$(plugin_status | jq -c --arg p "$ns1" '[.namespaces[] | select(.path == $p) | .containers[].id] | sort') || exit 1
    expect_eq "containers using $ns1 in uid-mapper status" "$users" "$(jq -cn --arg a "$c1" --arg b "$c2" '[$a, $b] | sort')"
}

# Two users in one pod: two pinned namespaces, one set of pod mounts that
# must outlive the first container's removal.
s_two_users_in_one_pod() {
    local pod c1 c2 ns1 ns2
    pod=$(pod_run twousers) || fail "crictl runp failed"
    c1=$(ctr_run "$pod" app nonroot) || fail "the 65532 container did not start"
    c2=$(ctr_run "$pod" sidecar root user=1000) || fail "the 1000 container did not start"
    expect_mapped "$c1"
    expect_mapped "$c2"
    ns1=$(ctr_userns_path "$c1")
    ns2=$(ctr_userns_path "$c2")
    [ "$ns1" != "$ns2" ] || fail "users 65532 and 1000 share the pinned namespace $ns1"
    expect_eq "/sys mount source of both containers" \
        "$(ctr_spec "$c2" | jq -r '.mounts[] | select(.destination == "/sys") | .source')" \
        "$(ctr_spec "$c1" | jq -r '.mounts[] | select(.destination == "/sys") | .source')"
    { ncrictl stop "$c1" >/dev/null && ncrictl rm "$c1" >/dev/null; } || fail "removing the 65532 container failed"
    expect_eq "/sys/class/net in the remaining container" \
        "$(in_ctr "$c2" ls /sys/class/net | tr '\n' ' ')" "eth0 lo "
    expect_eq "pinned namespaces once the 65532 container is gone" \
        "$(plugin_status | jq -c '[.namespaces[].path]')" "$(jq -cn --arg p "$ns2" '[$p]')"
    pod_remove "$pod" || fail "removing the pod failed"
    expect_released
}

s_removed_pods_release_namespaces() {
    local p1 p2 c1 ns
    p1=$(pod_run release1) || fail "crictl runp failed"
    p2=$(pod_run release2) || fail "crictl runp failed"
    c1=$(ctr_run "$p1" app nonroot) || fail "the first container did not start"
    ctr_run "$p2" app root user=1000 >/dev/null || fail "the second container did not start"
    ns=$(ctr_userns_path "$c1")
    [ -n "$ns" ] || fail "the container is not mapped"
    pod_remove "$p1" || fail "removing the first pod failed"
    # The other pod's namespace and mounts must survive the first removal.
    expect_eq "pinned namespaces while one pod remains" "$(plugin_status | jq '.namespaces | length')" 1
    pod_remove "$p2" || fail "removing the second pod failed"
    expect_released
    [ ! -e "$ns" ] || fail "$ns still exists after its last container was removed"
}

# mapped_pod_survives_restart RESTART_FUNCTION: a mapped pod keeps working
# across the restart, a new pod with the same user gets the same pinned
# namespace (the plugin rebuilt its state from Synchronize), and removing
# both releases everything.
mapped_pod_survives_restart() {
    local p1 p2 c1 c2 ns
    p1=$(pod_run before) || fail "crictl runp failed"
    c1=$(ctr_run "$p1" app nonroot) || fail "the container did not start"
    expect_mapped "$c1"
    ns=$(ctr_userns_path "$c1")
    "$1" || fail "$1 failed"
    expect_eq "id -u inside the old pod after $1" "$(in_ctr "$c1" id -u)" 65532
    p2=$(pod_run after) || fail "crictl runp after $1 failed"
    c2=$(ctr_run "$p2" app nonroot) || fail "a new container after $1 did not start"
    expect_mapped "$c2"
    expect_eq "pinned namespace of the new pod" "$(ctr_userns_path "$c2")" "$ns"
    pod_remove "$p1" "$p2" || fail "removing the pods failed"
    expect_released
}

# containerd starts a pre-started plugin again; an external one reconnects.
restart_containerd() {
    node_restart_containerd && node_wait_plugin
}

# The plugin dies: with uid-mapper in required_plugins no container starts
# until it is back (an external plugin is restarted as systemd would; containerd
# starts a pre-started one again only when it restarts itself).
kill_and_restart_plugin() {
    local pid pod out
    pid=$(node_plugin_pid)
    [ -n "$pid" ] || { log "no plugin process found"; return 1; }
    NODE_LOG_MARK=$(wc -l <"$NODE/logs/containerd.log")
    kill -KILL "$pid"
    wait_for 10 node_pid_gone "$pid" || return 1
    wait_for 10 node_log_since_start_has 'connection to plugin .*uid-mapper.* closed' || {
        log "containerd did not notice the plugin's death"
        return 1
    }
    pod=$(pod_run while-down) || return 1
    if out=$(ctr_run "$pod" app nonroot 2>&1); then
        log "a container started while the required plugin was down"
        return 1
    fi
    grep -q 'required plugin .*uid-mapper.* not present' <<<"$out" || {
        log "the container failed, but not for the missing plugin: $out"
        return 1
    }
    echo "    while the plugin was down: $(grep -o 'validator.*not present' <<<"$out" | head -1)" >&2
    pod_remove "$pod" || return 1
    if [ "$NODE_MODE" = external ]; then
        node_start_external_plugin
    else
        node_restart_containerd
    fi && node_wait_plugin
}

s_containerd_restart() { mapped_pod_survives_restart restart_containerd; }
s_plugin_killed_and_restarted() { mapped_pod_survives_restart kill_and_restart_plugin; }

# --- one level down (tests/e2e/run.sh nested) --------------------------------

# node_pid_userns PID: the user namespace of a node process.
node_pid_userns() { readlink "/proc/$1/ns/user"; }

# containerd and the plugin run as root of the node's user namespace, whose
# map is the audit's suggestion; the plugin's pool is that map.
s_nested_node_is_the_audited_map() {
    local want got pid
    want=$(jq -r '.uidRanges[] | "\(.[0]) \(.[1])"' "$NODE/suggested-map.json")
    got=$(node_enter --user -- cat /proc/self/uid_map | awk '{ print $1, $3 }')
    expect_eq "the node's uid_map (inside, count)" "$got" "$want"
    got=$(node_enter --user -- cat /proc/self/gid_map | awk '{ print $1, $3 }')
    expect_eq "the node's gid_map (inside, count)" "$got" \
        "$(jq -r '.gidRanges[] | "\(.[0]) \(.[1])"' "$NODE/suggested-map.json")"
    [ "$E2E_NODE_USERNS" != "$(readlink /proc/self/ns/user)" ] || fail "the node runs in the host's user namespace"
    expect_eq "user namespace of containerd" "$(node_pid_userns "$(cat "$NODE/containerd.pid")")" "$E2E_NODE_USERNS"
    pid=$(node_plugin_pid)
    [ -n "$pid" ] || fail "no plugin process"
    expect_eq "user namespace of the plugin" "$(node_pid_userns "$pid")" "$E2E_NODE_USERNS"
    expect_eq "uid of the plugin, as the host sees it" "$(awk '$1 == "Uid:" { print $3 }' "/proc/$pid/status")" \
        "$(awk '$1 == 0 { print $2 }' "$NODE/uid_map")"
}

# The pinned namespace is the node's: bind-mounted in the node's mount
# namespace under the plugin's state dir (invisible on the host), the one the
# container runs in, and its map, read inside it, is the plan's in the node's
# IDs (so the node's user namespace is its parent).
s_nested_pinned_namespace_in_the_node() {
    local pod cid path ino
    pod=$(pod_run pinned) || fail "crictl runp failed"
    cid=$(ctr_run "$pod" app nonroot) || fail "the 65532 container did not start"
    expect_mapped "$cid"
    path=$(ctr_userns_path "$cid")
    expect_eq "filesystem mounted at $path in the node" \
        "$(node_mountinfo | awk -v p="$path" '$5 == p { print $(NF - 2) }')" nsfs
    expect_eq "mounts at $path on the host" "$(awk -v p="$path" '$5 == p' /proc/self/mountinfo)" ""
    ino=$(node_enter --mount -- stat -L -c %i "$path") || fail "stat $path in the node failed"
    expect_eq "user namespace inside the container" "$(in_ctr "$cid" readlink /proc/self/ns/user)" "user:[$ino]"
    expect_eq "uid_map of the pinned namespace, read in the node" \
        "$(node_enter --user --mount --pid -- nsenter --user="$path" cat /proc/self/uid_map | mapping_json)" \
        "$(node_uid_mapper plan --user 65532:65532 --groups 65532 --json | jq -c .uidMappings)"
}

# What the node's root may do in a pod and a mapped root may not, one level
# down: change the pod's network. (Both are refused a sysfs mount here: from
# a user namespace the kernel mounts sysfs only where it is fully visible
# already, and runc masks parts of /sys; and mknod: only the host's root may
# create devices. The mapped root is still asked to, and must be refused.)
s_nested_mapped_root_cannot_touch_the_pod_network() {
    local pair a b
    pair=$(start_root_pair netadmin caps=NET_ADMIN,SYS_ADMIN,MKNOD) || exit 1
    read -r a b <<<"$pair"
    expect_unmapped "$a"
    expect_mapped "$b"
    attempt "$a" "opted-out root (the node's root)" ip link add e2e0 type veth ||
        fail "the opted-out root with NET_ADMIN could not add an interface, so this proves nothing"
    ! attempt "$b" "mapped root" ip link add e2e0 type veth ||
        fail "the mapped root added an interface to the pod network"
    ! attempt "$b" "mapped root" mknod /tmp/blockdev b 7 0 ||
        fail "the mapped root created a block device node"
    attempt "$a" "opted-out root (the node's root)" mknod /tmp/blockdev b 7 0 &&
        fail "the node's root created a device node: this node is not one level down"
    return 0
}

s_teardown_leaves_nothing() {
    local leaks
    leaks=$(node_leaks) || fail "$(echo "$leaks" | tr '\n' ';')"
}

# --- the run ----------------------------------------------------------------

nested=0
if [ "${1:-}" = nested ]; then
    nested=1
    shift
    # shellcheck source=tests/e2e/lib/nested.sh
    . "$here/lib/nested.sh"
fi
selected=("$@")
for name in "${selected[@]}"; do
    declare -F "s_${name//-/_}" >/dev/null || { echo "e2e: no scenario named $name" >&2; exit 2; }
done
trap 'node_stop' EXIT
trap 'exit 130' INT TERM

run_node() { # MODE SCENARIO...
    local mode=$1
    shift
    echo "=== node with the plugin $mode"
    if ! node_start "$mode"; then
        echo "FAIL: node-$mode-starts"
        failed=$((failed + 1))
        node_stop
        return
    fi
    local s
    for s in "$@"; do scenario "$s" "s_${s//-/_}"; done
    node_stop
    scenario "teardown-leaves-nothing-$mode" s_teardown_leaves_nothing
}

if [ $nested -eq 1 ]; then
    run_node nested \
        nested-node-is-the-audited-map image-user-65532 run-as-user-1000-with-groups \
        nested-pinned-namespace-in-the-node nested-mapped-root-cannot-touch-the-pod-network \
        same-user-shares-namespace removed-pods-release-namespaces \
        plugin-killed-and-restarted containerd-restart
else
    run_node prestarted \
        image-user-65532 run-as-user-1000-with-groups image-file-owned-by-1000 \
        mapped-root-cannot-mknod mapped-root-cannot-touch-node-net-or-sysfs \
        host-network-not-mapped shared-pid-namespace opt-out-annotation \
        same-user-shares-namespace two-users-in-one-pod removed-pods-release-namespaces \
        plugin-killed-and-restarted containerd-restart
    run_node external image-user-65532 plugin-killed-and-restarted containerd-restart
fi

echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
