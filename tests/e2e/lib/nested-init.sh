#!/bin/sh
# PID 1 of the nested node (tests/usernetes_node runs it as the node's
# root, in the node's own user, mount, network and PID namespaces).
#   nested-init.sh NODE_DIR
# Gives the node what a usernetes node container has of its own, then reaps
# the orphans (shims) that re-parent to it until the node is killed.
set -eu
node=$1
# containerd puts its shims' sockets in /run/containerd/s and the CNI plugins
# cache their results in /var/lib/cni, whatever the config says; on the host
# both are root's, which the node's root is not. A tmpfs over each, seen only
# in the node's mount namespace, goes away with it.
mount -t tmpfs -o mode=0711 tmpfs /run/containerd
mount -t tmpfs -o mode=0700 tmpfs /var/lib/cni
# The CRI stream server (crictl exec) listens on the node's loopback.
ip link set lo up
: >"$node/node-ready"
trap 'exit 0' TERM
while :; do
    sleep 1 &
    wait $! || :
done
