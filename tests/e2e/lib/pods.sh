# shellcheck shell=bash
# Pods and containers on the e2e node through crictl, shaped as the kubelet
# shapes them (own pid namespace per container unless the pod shares one,
# cgroupfs parent per pod), plus what the scenarios read back from them.
#
#   pod_run NAME [hostnet] [sharepid] [optout]          prints the pod id
#   ctr_run POD NAME IMAGE [user=UID] [groups=G,G] [caps=CAP,CAP]
#                                                       prints the container id
#   in_ctr CID CMD...       runs CMD in the container (crictl exec)
#   ctr_spec CID            the container's OCI spec (crictl inspect)
#   ctr_userns_path CID     the user namespace path in the spec, or nothing
#   pod_remove POD...       stops and removes pods
#   mapping_json            stdin uid_map/gid_map text -> plan's JSON shape

E2E_OPTOUT_ANNOTATION=uid-mapper.nri.io/disable

pod_run() {
    local name=$1 net=0 pid=1 annotations='{}' opt
    shift
    for opt; do
        case $opt in
            hostnet) net=2 ;;              # NamespaceMode NODE
            sharepid) pid=0 ;;             # NamespaceMode POD
            optout) annotations="{\"$E2E_OPTOUT_ANNOTATION\": \"true\"}" ;;
            *) log "pod_run: unknown option $opt"; return 2 ;;
        esac
    done
    mkdir -p "$NODE/pods"
    jq -n --arg name "$name" --arg logs "$NODE/logs/$name" --arg cg "/$E2E_CGROUP/$name" \
        --argjson net "$net" --argjson pid "$pid" --argjson ann "$annotations" '{
        metadata: {name: $name, namespace: "e2e", uid: ($name + "-uid"), attempt: 0},
        log_directory: $logs, annotations: $ann,
        linux: {cgroup_parent: $cg,
                security_context: {namespace_options: {network: $net, pid: $pid, ipc: 0}}}
        }
        # The kubelet names only pods with their own UTS namespace (runc
        # refuses to set a hostname in the node'"'"'s).
        + (if $net == 2 then {} else {hostname: $name} end)' >"$NODE/pods/$name.json"
    local id
    id=$(ncrictl runp "$NODE/pods/$name.json") || return 1
    node_track_pod "$id"
    echo "$id"
}

ctr_run() {
    local pod=$1 name=$2 image=$3 user=null groups='[]' caps='[]' opt
    shift 3
    for opt; do
        case $opt in
            user=*) user="{\"value\": ${opt#user=}}" ;;
            groups=*) groups="[${opt#groups=}]" ;;
            caps=*) caps=$(jq -cn --arg c "${opt#caps=}" '$c | split(",")') ;;
            *) log "ctr_run: unknown option $opt"; return 2 ;;
        esac
    done
    local podcfg
    podcfg=$(ncrictl inspectp "$pod" | jq -r '.status.metadata.name') || return 1
    podcfg="$NODE/pods/$podcfg.json"
    # The container's pid namespace follows its pod's, as the kubelet does.
    jq --arg name "$name" --arg image "$E2E_IMAGE_REPO:$image" --argjson user "$user" \
        --argjson groups "$groups" --argjson caps "$caps" --slurpfile pod "$podcfg" '{
        metadata: {name: $name}, image: {image: $image}, log_path: ($name + ".log"),
        linux: {security_context: ({
            namespace_options: $pod[0].linux.security_context.namespace_options,
            supplemental_groups: $groups,
            capabilities: {add_capabilities: $caps}}
            + (if $user == null then {} else {run_as_user: $user} end))}
        }' -n >"$NODE/pods/$name.ctr.json"
    local id
    id=$(ncrictl create "$pod" "$NODE/pods/$name.ctr.json" "$podcfg") || return 1
    ncrictl start "$id" >/dev/null || return 1
    echo "$id"
}

in_ctr() {
    local id=$1
    shift
    ncrictl exec "$id" "$@"
}

ctr_spec() { ncrictl inspect "$1" | jq '.info.runtimeSpec'; }

ctr_userns_path() {
    ctr_spec "$1" | jq -r '.linux.namespaces[] | select(.type == "user") | .path // "(new)"'
}

pod_remove() {
    local pod
    for pod; do
        ncrictl stopp "$pod" >/dev/null && ncrictl rmp "$pod" >/dev/null || return 1
    done
}

mapping_json() {
    awk 'NF == 3 { printf "%s{\"containerID\":%s,\"hostID\":%s,\"size\":%s}", sep, $1, $2, $3; sep = "," }
         BEGIN { printf "[" } END { print "]" }'
}
