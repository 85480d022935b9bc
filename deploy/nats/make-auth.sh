#!/usr/bin/env bash
# Generates NATS users for shoal: one account per namespace (a namespace sees nothing of
# another, not even replies on _INBOX), and in each account one user per role with exactly
# the subjects that role needs (protocol/subjects.ts):
#
#   coordinator  the coordinator and its sink: serves ctl, owner, hello, pull, heartbeat and
#                results of every agent; publishes agent commands, owner claims and events
#   agent        speaks only under its own name (its principal): publishes agent.<user>.hello,
#                .pull, .heartbeat and sink.results.<user>; hears agent.<user>.cmd.*. It cannot
#                speak for another agent user, nor publish control subjects (no submit,
#                status, cancel or drain). `NS-agent` is one shared agent user; --agents N adds
#                NS-agent-1 .. NS-agent-N, one per node, so no node can speak for another.
#   operator     the CLI: publishes control requests (submit, status, cancel, drain) and
#                hears events. Only an operator can cancel.
#
# Replies: every role subscribes to _INBOX.> (inside its own account); the roles that serve
# requests answer through `allow_responses` (they may publish once to the reply subject of a
# request they received, nowhere else on _INBOX).
#
# Usage: make-auth.sh [-o DIR] [--agents N] [--routes HOST:PORT,...] [NS ...]
#   Writes DIR/accounts.conf (included by shoal.conf and shoal-tls.conf) and, per namespace,
#   DIR/creds/NS/{coordinator,agent,operator}.env (and agent-1.env .. agent-N.env with
#   --agents N) holding SHOAL_NATS_USER/SHOAL_NATS_PASS.
#   Passwords already in DIR/creds are kept, so running it again with a new namespace adds
#   that namespace without changing the others. Every namespace under DIR/creds/ is written
#   to accounts.conf; to remove one, delete its creds folder and run the script again.
#   DIR defaults to the current directory. Reload a running server with
#   `nats-server --signal reload` (or SIGHUP).
#   --routes: for the three-server cluster (cluster/nats-N.conf), also writes DIR/routes.conf:
#   the route user (with a generated password, kept on later runs) and the route URL of every
#   server. Copy accounts.conf and routes.conf to all three servers.
set -euo pipefail

usage() { sed -n '2,/^set -e/p' "$0" | sed -e '/^set -e/d' -e 's/^# \{0,1\}//' >&2; exit 2; }

out=. routes='' agents=0
while [ $# -gt 0 ]; do
  case "$1" in
    -o) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
    --agents) [ $# -ge 2 ] && [[ $2 =~ ^[0-9]+$ ]] || { echo "make-auth.sh: --agents takes a number" >&2; exit 2; }; agents=$2; shift 2 ;;
    --routes) [ $# -ge 2 ] || usage; routes=$2; shift 2 ;;
    -h|--help) usage ;;
    --) shift; break ;;
    -*) echo "make-auth.sh: unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done

ns_ok() { [[ $1 =~ ^[A-Za-z0-9_-]{1,64}$ ]]; }
for ns in "$@"; do
  ns_ok "$ns" || { echo "make-auth.sh: namespace '$ns' is not valid: use 1-64 letters, digits, '_' or '-'" >&2; exit 2; }
done

umask 077
mkdir -p "$out/creds"

new_pass() { od -An -tx1 -N24 /dev/urandom | tr -d ' \n'; }

# Keeps an existing password; writes the env file of one role.
write_creds() {
  local ns=$1 role=$2 file=$out/creds/$1/$2.env pass=''
  if [ -f "$file" ]; then pass=$(sed -n 's/^SHOAL_NATS_PASS=//p' "$file"); fi
  [ -n "$pass" ] || pass=$(new_pass)
  mkdir -p "$out/creds/$ns"
  printf 'SHOAL_NATS_USER=%s\nSHOAL_NATS_PASS=%s\nSHOAL_NS=%s\n' "$ns-$role" "$pass" "$ns" > "$file"
}

for ns in "$@"; do
  for role in coordinator agent operator; do write_creds "$ns" "$role"; done
  for ((i = 1; i <= agents; i++)); do write_creds "$ns" "agent-$i"; done
done

pass_of() { sed -n 's/^SHOAL_NATS_PASS=//p' "$out/creds/$1/$2.env"; }

# One agent user: it may speak only under its own name (agent.<user>.*, sink.results.<user>).
agent_user() {
  local ns=$1 role=$2 p="shoal.$1" u="$1-$2"
  cat <<CONF
      {
        user: "$u", password: "$(pass_of "$ns" "$role")"
        permissions: {
          publish: { allow: ["$p.agent.$u.hello", "$p.agent.$u.pull", "$p.agent.$u.heartbeat", "$p.sink.results.$u"] }
          subscribe: { allow: ["$p.agent.$u.cmd.*", "_INBOX.>"] }
        }
      }
CONF
}

# Writes one namespace's account. Subjects: see protocol/subjects.ts.
account() {
  local ns=$1 p="shoal.$1" f
  cat <<CONF
  "shoal-$ns": {
    users: [
      {
        user: "$ns-coordinator", password: "$(pass_of "$ns" coordinator)"
        permissions: {
          publish: { allow: ["$p.agent.*.cmd.*", "$p.owner", "$p.events"] }
          subscribe: { allow: ["$p.ctl.*", "$p.owner", "$p.agent.*.hello", "$p.agent.*.pull", "$p.agent.*.heartbeat", "$p.sink.results.*", "$p.agent.hello", "$p.agent.pull", "$p.sink.results", "_INBOX.>"] }
          allow_responses: true
        }
      }
CONF
  for f in "$out/creds/$ns"/agent*.env; do
    [ -f "$f" ] && agent_user "$ns" "$(basename "$f" .env)"
  done
  cat <<CONF
      {
        user: "$ns-operator", password: "$(pass_of "$ns" operator)"
        permissions: {
          publish: { allow: ["$p.ctl.>"] }
          subscribe: { allow: ["$p.events", "_INBOX.>"] }
        }
      }
    ]
  }
CONF
}

namespaces=()
for d in "$out"/creds/*/; do
  [ -d "$d" ] || continue
  ns=$(basename "$d")
  ns_ok "$ns" && [ -f "$d/operator.env" ] && namespaces+=("$ns")
done
if [ ${#namespaces[@]} -eq 0 ]; then
  echo "make-auth.sh: no namespace given and none under $out/creds/" >&2
  exit 2
fi

tmp=$out/accounts.conf.tmp
{
  echo "# Generated by shoal deploy/nats/make-auth.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ). Do not edit: run it again."
  echo "# Namespaces: ${namespaces[*]}"
  echo "accounts {"
  for ns in "${namespaces[@]}"; do account "$ns"; done
  echo "}"
} > "$tmp"
mv "$tmp" "$out/accounts.conf"
echo "wrote $out/accounts.conf (namespaces: ${namespaces[*]}) and credentials under $out/creds/" >&2

if [ -n "$routes" ]; then
  route_pass=''
  if [ -f "$out/routes.conf" ]; then route_pass=$(sed -n 's/^ *authorization { user: "route", password: "\([0-9a-f]*\)".*/\1/p' "$out/routes.conf"); fi
  [ -n "$route_pass" ] || route_pass=$(new_pass)
  {
    echo "# Generated by shoal deploy/nats/make-auth.sh --routes $routes. Included in cluster { }."
    echo "authorization { user: \"route\", password: \"$route_pass\", timeout: 2 }"
    echo "routes: ["
    IFS=',' read -r -a hosts <<< "$routes"
    for h in "${hosts[@]}"; do
      [[ $h == *:* ]] || h=$h:6222
      echo "  \"nats-route://route:$route_pass@$h\""
    done
    echo "]"
  } > "$out/routes.conf.tmp"
  mv "$out/routes.conf.tmp" "$out/routes.conf"
  echo "wrote $out/routes.conf (routes: $routes)" >&2
fi
