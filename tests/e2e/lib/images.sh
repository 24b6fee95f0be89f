# shellcheck shell=bash
# Builds the suite's images from Debian's busybox-static, with no registry:
# one layer (busybox, an /etc/passwd and /etc/group naming the users the
# scenarios run as, files owned by chosen uids) and one image config per
# role, written as an OCI archive that `ctr images import` reads.
#
#   images_build DIR   writes DIR/images.tar; image names are
#                      $E2E_IMAGE_REPO:{pause,root,nonroot}

# shellcheck disable=SC2034 # read by node.sh and pods.sh
E2E_IMAGE_REPO=localhost/uid-mapper-e2e/busybox
E2E_BUSYBOX=${E2E_BUSYBOX:-/bin/busybox}

# A pod's first process must reap nothing and exit on TERM; busybox sh with a
# trap does both, since PID 1 ignores signals it has no handler for.
E2E_SLEEP_CMD='trap "exit 0" TERM; while :; do sleep 1; done'

images_rootfs() {
    local root=$1
    mkdir -p "$root"/{bin,etc,proc,sys,dev,tmp,mnt,home/user1000,home/nonroot}
    chmod 1777 "$root/tmp"
    cp "$E2E_BUSYBOX" "$root/bin/busybox"
    local applet
    for applet in $("$E2E_BUSYBOX" --list); do
        [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
    done
    cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
user1000:x:1000:1000:user1000:/home/user1000:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
nonroot:x:65532:65532:nonroot:/home/nonroot:/bin/sh
PASSWD
    cat >"$root/etc/group" <<'GROUP'
root:x:0:
user1000:x:1000:
extra5000:x:5000:
nogroup:x:65534:
nonroot:x:65532:
GROUP
    echo "owned by 1000" >"$root/home/user1000/owned"
    chown -R 1000:1000 "$root/home/user1000"
    chown -R 65532:65532 "$root/home/nonroot"
}

# images_blob DIR FILE: moves FILE into the OCI blob store, prints its digest.
images_blob() {
    local sum
    sum=$(sha256sum "$2" | cut -d' ' -f1)
    mv "$2" "$1/blobs/sha256/$sum"
    echo "sha256:$sum"
}

# images_descriptor MEDIATYPE DIGEST DIR: the JSON descriptor of a blob.
images_descriptor() {
    jq -cn --arg mt "$1" --arg d "$2" --argjson size "$(stat -c %s "$3/blobs/sha256/${2#sha256:}")" \
        '{mediaType: $mt, digest: $d, size: $size}'
}

images_build() {
    local out=$1 work="$1/image-build"
    rm -rf "$work"
    mkdir -p "$work/rootfs" "$work/oci/blobs/sha256"
    images_rootfs "$work/rootfs"

    tar --sort=name --mtime=@0 --numeric-owner -C "$work/rootfs" -cf "$work/layer.tar" .
    local diff_id layer
    diff_id="sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
    layer=$(images_blob "$work/oci" "$work/layer.tar")
    layer=$(images_descriptor application/vnd.oci.image.layer.v1.tar "$layer" "$work/oci")

    local manifests=() role user config manifest
    for role in pause root nonroot; do
        case $role in
            nonroot) user=65532:65532 ;;
            *) user= ;;
        esac
        jq -n --arg user "$user" --arg diff "$diff_id" --arg cmd "$E2E_SLEEP_CMD" '{
            architecture: "amd64", os: "linux",
            config: {User: $user, Env: ["PATH=/bin"], Cmd: ["/bin/sh", "-c", $cmd],
                     WorkingDir: "/"},
            rootfs: {type: "layers", diff_ids: [$diff]}}' >"$work/config.json"
        config=$(images_blob "$work/oci" "$work/config.json")
        config=$(images_descriptor application/vnd.oci.image.config.v1+json "$config" "$work/oci")
        jq -n --argjson config "$config" --argjson layer "$layer" '{
            schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
            config: $config, layers: [$layer]}' >"$work/manifest.json"
        manifest=$(images_blob "$work/oci" "$work/manifest.json")
        manifests+=("$(images_descriptor application/vnd.oci.image.manifest.v1+json "$manifest" "$work/oci" |
            jq -c --arg tag "$role" '. + {platform: {architecture: "amd64", os: "linux"},
                annotations: {"org.opencontainers.image.ref.name": $tag}}')")
    done
    printf '%s\n' "${manifests[@]}" |
        jq -s '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: .}' \
        >"$work/oci/index.json"
    echo '{"imageLayoutVersion":"1.0.0"}' >"$work/oci/oci-layout"
    tar --sort=name --mtime=@0 -C "$work/oci" -cf "$out/images.tar" .
    rm -rf "$work"
}
