#!/bin/sh
# The image's HEALTHCHECK: GET /healthz of the server this container runs, with the built-in
# client (mutex-edge probe; the image has no curl). The address comes from, in order:
#   MUTEX_HEALTHCHECK_URL (a full URL);
#   --admin-listen / --listen on the container's command line, then MUTEX_EDGE_ADMIN_LISTEN /
#   MUTEX_EDGE_LISTEN (or --listen / MUTEX_MGMT_LISTEN when the command is mutex-mgmt);
# a wildcard host (0.0.0.0, [::], empty) is probed on 127.0.0.1.
set -eu

url="${MUTEX_HEALTHCHECK_URL:-}"
if [ -z "$url" ]; then
  # PID 1 is tini; its command line holds the server's ("tini -- mutex-edge --listen ...").
  # shellcheck disable=SC2046
  set -- $(tr '\0' ' ' </proc/1/cmdline)
  mgmt="" listen="" admin=""
  while [ $# -gt 0 ]; do
    case "$1" in
      mutex-mgmt | */mutex-mgmt) mgmt=1 ;;
      --listen=*) listen="${1#*=}" ;;
      --listen) listen="${2:-}"; [ $# -gt 1 ] && shift ;;
      --admin-listen=*) admin="${1#*=}" ;;
      --admin-listen) admin="${2:-}"; [ $# -gt 1 ] && shift ;;
    esac
    shift
  done
  if [ -n "$mgmt" ]; then
    addr="${listen:-${MUTEX_MGMT_LISTEN:-127.0.0.1:9090}}"
  else
    addr="${admin:-${MUTEX_EDGE_ADMIN_LISTEN:-${listen:-${MUTEX_EDGE_LISTEN:-127.0.0.1:8080}}}}"
  fi
  case "$addr" in
    0.0.0.0:* | "[::]:"* | :*) addr="127.0.0.1:${addr##*:}" ;;
  esac
  url="http://$addr/healthz"
fi
exec mutex-edge probe "$url" --timeout 2s
