#!/usr/bin/env bash
# Container tier set-up: podman plus local stand-ins for the Dockerfile's base images.
# No registry is reachable, so nothing can be pulled: the python:<v>-slim image is a Debian
# bookworm root file system (debootstrap) with Debian's CPython linked into /usr/local/bin,
# and ghcr.io/astral-sh/uv is a FROM scratch image holding the uv binary of the PyPI wheel.
# Idempotent: what exists is kept, so a second run takes seconds. Run as root.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "containers.sh: run as root (apt-get, /etc/containers)" >&2; exit 1; }

PYTHON_VERSION=${PYTHON_VERSION:-3.11}  # Debian bookworm's CPython (the default render's)
UV_VERSION=${UV_VERSION:-0.13.8}        # the Dockerfile's ARG UV_VERSION
PYTHON_IMAGE=docker.io/library/python:${PYTHON_VERSION}-slim
UV_IMAGE=ghcr.io/astral-sh/uv:${UV_VERSION}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if ! command -v podman >/dev/null || ! command -v debootstrap >/dev/null; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        podman debootstrap uidmap fuse-overlayfs slirp4netns runc ca-certificates
fi

# What made builds and runs work on these machines: no systemd, runc, and ulimits within the
# host's hard limits (podman's defaults exceed them: "error setting rlimit type 7"; nproc
# at the hard limit was refused too, 4096 works).
cat >/etc/containers/containers.conf <<CONF
# written by cookiecutter-mlops .ci/containers.sh
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF

if ! podman image exists "$PYTHON_IMAGE"; then
    root=$WORK/rootfs
    debootstrap --variant=minbase --include="python${PYTHON_VERSION},ca-certificates" \
        bookworm "$root" http://deb.debian.org/debian
    for name in python python3 "python${PYTHON_VERSION}"; do
        ln -sf "/usr/bin/python${PYTHON_VERSION}" "$root/usr/local/bin/$name"
    done
    # as slim does (dpkg path-exclude): no docs, manuals, locales or package lists
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
        "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/* \
        "$root"/usr/share/info/*
    tar -C "$root" -c . | podman import --change 'CMD ["python3"]' - "$PYTHON_IMAGE"
fi

if ! podman image exists "$UV_IMAGE"; then
    python3 -m pip download -q --no-deps --only-binary=:all: -d "$WORK/wheel" "uv==${UV_VERSION}"
    python3 -m zipfile -e "$WORK"/wheel/uv-*.whl "$WORK/wheel/x"
    install -m 0755 "$WORK"/wheel/x/uv-*.data/scripts/uv "$WORK"/wheel/x/uv-*.data/scripts/uvx "$WORK/"
    printf 'FROM scratch\nCOPY uv uvx /\n' >"$WORK/Containerfile"
    podman build -q --format docker -t "$UV_IMAGE" -f "$WORK/Containerfile" "$WORK"
fi

podman image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E 'python|astral' || true
