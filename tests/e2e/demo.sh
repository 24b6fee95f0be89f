#!/usr/bin/env bash
# `make demo`: one pod whose image runs as uid 65532 (distroless "nonroot")
# on a node that owns only 2048 IDs, explained step by step: the pool, the
# plan uid-mapper computes, and what the container itself sees. Starts a
# throwaway containerd node (building the pinned components on first use) and
# removes every trace of it at the end.
set -uo pipefail
[ "$(id -u)" -eq 0 ] || { echo "demo: needs root (containerd, runc, mounts, netns)" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
E2E_POOL=0-2047
# shellcheck source=tests/e2e/lib/node.sh
. "$here/lib/node.sh"
# shellcheck source=tests/e2e/lib/pods.sh
. "$here/lib/pods.sh"

trap 'node_stop' EXIT
trap 'exit 130' INT TERM

say() { printf '\n== %s\n' "$*"; }
show() { sed 's/^/   /'; }
die() { echo "demo: $*" >&2; exit 1; }

say "Starting a throwaway node: containerd v2.3 + runc, uid-mapper pre-started (pool $E2E_POOL)"
node_start prestarted || die "the node did not start (logs: $E2E_LOG_DIR/prestarted)"

say "The node's IDs (/proc/self/uid_map here) and the pool the plugin may use"
show </proc/self/uid_map
echo "   pool (configured): $E2E_POOL = 2048 IDs, as in a usernetes node with one subuid allocation"

say "Running a pod whose image user is 65532:65532"
pod=$(pod_run demo) || die "crictl runp failed"
cid=$(ctr_run "$pod" app nonroot) || die "the container did not start (logs: $E2E_LOG_DIR/prestarted)"
echo "   pod ${pod:0:12}, container ${cid:0:12}: $(ncrictl inspect "$cid" | jq -r .status.state)"

say "The plan: uid-mapper plan --pool $E2E_POOL --user 65532:65532 --groups 65532"
"$E2E_PLUGIN_BIN" plan --pool "$E2E_POOL" --user 65532:65532 --groups 65532 | show

say "What the container sees (crictl exec)"
echo "   \$ cat /proc/self/uid_map"
in_ctr "$cid" cat /proc/self/uid_map | show
echo "   \$ cat /proc/self/gid_map"
in_ctr "$cid" cat /proc/self/gid_map | show
echo "   \$ id"
in_ctr "$cid" id | show
plan=$("$E2E_PLUGIN_BIN" plan --pool "$E2E_POOL" --user 65532:65532 --groups 65532 --json)
if [ "$(in_ctr "$cid" cat /proc/self/uid_map | mapping_json)" = "$(jq -c .uidMappings <<<"$plan")" ] &&
    [ "$(in_ctr "$cid" cat /proc/self/gid_map | mapping_json)" = "$(jq -c .gidMappings <<<"$plan")" ]; then
    echo "   -> the container's maps are exactly the plan's"
else
    echo "   -> MISMATCH: the container's maps differ from the plan"
fi

say "How it got there (crictl inspect: the OCI spec runc ran)"
ctr_spec "$cid" | jq -r '
    "   user namespace: " + ([.linux.namespaces[] | select(.type == "user") | .path // "(none)"] | first // "(none: not mapped)"),
    (.mounts[] | select(.destination == "/sys" or .destination == "/dev/mqueue")
        | "   \(.destination) <- \(.source) (\(.options | join(",")))")'

say "Node root vs. container root"
echo "   container's user namespace: $(in_ctr "$cid" readlink /proc/self/ns/user)"
echo "   node's user namespace:      $(readlink /proc/self/ns/user)"

say "Cleaning up"
pod_remove "$pod" || die "removing the pod failed"
node_stop
left=$(node_leaks) || die "teardown left: $left"
echo "   the node, its pinned namespace, mounts, bridge and processes are gone"
