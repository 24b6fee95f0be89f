# shellcheck shell=bash
# Assertions for the scenarios. Each scenario runs in a subshell; fail ends
# it with the reason, which the runner prints under the FAIL line.

fail() {
    echo "    $*" >&2
    exit 1
}

expect_eq() { # WHAT GOT WANT
    [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

# The user namespace of this shell (the node's), to tell a container that
# runs in it from one that does not.
E2E_NODE_USERNS=$(readlink /proc/self/ns/user)

# expect_mapped CID: the spec joins a pinned user namespace by path, with no
# mappings of its own, and /sys and /dev/mqueue come from the pod's own
# mounts; inside, the process is in a user namespace other than the node's.
expect_mapped() {
    local cid=$1 spec path state="$NODE/plugin-state" m
    spec=$(ctr_spec "$cid") || fail "crictl inspect $cid failed"
    path=$(jq -r '.linux.namespaces[] | select(.type == "user") | .path // "(no path)"' <<<"$spec")
    [ -n "$path" ] || fail "the spec of $cid has no user namespace: the plugin did not map it"
    case $path in
        "$state/userns/"*) ;;
        *) fail "the spec's user namespace '$path' is not pinned under $state/userns" ;;
    esac
    jq -e '(.linux.uidMappings // []) == [] and (.linux.gidMappings // []) == []' <<<"$spec" >/dev/null ||
        fail "the spec carries its own uid/gid mappings besides the namespace path"
    for m in /sys /dev/mqueue; do
        jq -r --arg d "$m" '.mounts[] | select(.destination == $d) | .source' <<<"$spec" |
            grep -q "^$state/pods/" ||
            fail "$m in the spec is not a per-pod mount under $state/pods: $(jq -c --arg d "$m" '[.mounts[] | select(.destination == $d)]' <<<"$spec")"
    done
    local inside
    inside=$(in_ctr "$cid" readlink /proc/self/ns/user) || fail "crictl exec in $cid failed"
    [ "$inside" != "$E2E_NODE_USERNS" ] || fail "the container runs in the node's user namespace ($inside)"
}

# expect_unmapped CID: no user namespace in the spec; inside, the node's
# user namespace with its full identity map.
expect_unmapped() {
    local cid=$1 spec inside
    spec=$(ctr_spec "$cid") || fail "crictl inspect $cid failed"
    jq -e '[.linux.namespaces[] | select(.type == "user")] == []' <<<"$spec" >/dev/null ||
        fail "the spec of $cid has a user namespace: $(jq -c '.linux.namespaces' <<<"$spec")"
    inside=$(in_ctr "$cid" readlink /proc/self/ns/user) || fail "crictl exec in $cid failed"
    expect_eq "user namespace inside $cid" "$inside" "$E2E_NODE_USERNS"
}

# expect_plan_maps CID: the container's own /proc/self/uid_map and gid_map
# equal what `uid-mapper plan` computes for the node's maps, the configured
# pool and the container's user as the spec states it.
expect_plan_maps() {
    local cid=$1 user uid gid groups plan kind got want
    user=$(ctr_spec "$cid" | jq -c '.process.user') || fail "crictl inspect $cid failed"
    uid=$(jq -r .uid <<<"$user")
    gid=$(jq -r .gid <<<"$user")
    groups=$(jq -r '(.additionalGids // []) | map(tostring) | join(",")' <<<"$user")
    local args=(--user "$uid:$gid" --json)
    [ -n "$groups" ] && args+=(--groups "$groups")
    plan=$(node_uid_mapper plan ${E2E_POOL:+--pool "$E2E_POOL"} "${args[@]}") ||
        fail "uid-mapper plan ${args[*]} failed"
    for kind in uid gid; do
        got=$(in_ctr "$cid" cat "/proc/self/${kind}_map" | mapping_json) || fail "reading ${kind}_map in $cid failed"
        want=$(jq -c ".${kind}Mappings" <<<"$plan")
        expect_eq "${kind}_map inside $cid vs uid-mapper plan ${args[*]}" "$got" "$want"
    done
}

# uid-mapper ARGS... where the node's operator runs it (lib/nested.sh: inside
# the node, where the default pool is the node's own map).
node_uid_mapper() { "$E2E_PLUGIN_BIN" "$@"; }

# The mount table the node's mounts are in (lib/nested.sh: the node's own).
node_mountinfo() { cat /proc/self/mountinfo; }

# The plugin's status for this node as JSON.
plugin_status() {
    node_uid_mapper status --state-dir "$NODE/plugin-state" --json ||
        fail "uid-mapper status --state-dir $NODE/plugin-state --json failed"
}

# expect_released: no pinned namespace and no pod mount is left in the
# plugin's state once every mapped pod is gone.
expect_released() {
    local left
    left=$(plugin_status | jq -c '[.namespaces[] | {path, containers}]') || exit 1
    expect_eq "pinned namespaces after removing all pods" "$left" "[]"
    left=$(node_mountinfo | awk -v pfx="$NODE/plugin-state/" 'index($5, pfx) == 1 { print $5 }' | tr '\n' ' ')
    expect_eq "mounts under the plugin's state dir after removing all pods" "$left" ""
}
