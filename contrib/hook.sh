#!/bin/bash
# Example --on-close hook for GitLab push webhooks.
# stdin: the HTTP request the client sent (headers and JSON body).
# Checks the X-Gitlab-Token header against /etc/rnc/token and deploys pushes to main.
set -euo pipefail
request=$(cat | tr -d '\r')
token=$(printf '%s\n' "$request" | sed -n 's/^[Xx]-[Gg]itlab-[Tt]oken: *//p' | head -n 1)
if [ -z "$token" ] || [ "$token" != "$(cat /etc/rnc/token)" ]; then
    echo "hook: request from ${NCAT_REMOTE_ADDR:-?} without a valid X-Gitlab-Token" >&2
    exit 1
fi
if ! printf '%s\n' "$request" | grep -Eq '"ref" *: *"refs/heads/main"'; then
    echo "hook: not a push to main; nothing to do" >&2
    exit 0
fi
exec /home/deploy/deploy.sh
