# shellcheck shell=bash
# Shared helpers of shoal's sbatch scripts. Sourced, never run; the scripts find it through
# SHOAL_HOME or the submit directory (the spooled copy of a batch script has no useful path).
#
# Provides: shoal_say, shoal_die, shoal_init (node and the CLI), shoal_role (a role's NATS
# credentials), shoal_creds_ns, shoal_json_get, shoal_node_addr, shoal_srun_opts,
# shoal_free_port, shoal_wait_ready, shoal_drain_all, shoal_wait_pid, shoal_stop_pid.

shoal_say() { printf '%s: %s\n' "${SHOAL_SCRIPT:-shoal}" "$*" >&2; }

# shoal_die CODE MESSAGE...
shoal_die() {
  local code=$1
  shift
  shoal_say "$*"
  exit "$code"
}

# Checks node and the built CLI in SHOAL_HOME (which the script has found already).
# Sets and exports SHOAL_NODE (the node binary) and SHOAL_MAIN (the CLI entry).
shoal_init() {
  SHOAL_NODE=${SHOAL_NODE:-$(command -v node || true)}
  [ -n "$SHOAL_NODE" ] || shoal_die 2 "node (20 or newer) is not on PATH: load it (module load nodejs) or set SHOAL_NODE"
  SHOAL_MAIN=$SHOAL_HOME/dist/bundle/main.js
  [ -f "$SHOAL_MAIN" ] || shoal_die 2 "shoal is not built in $SHOAL_HOME: run 'npm ci' there (it installs and builds)"
  export SHOAL_HOME SHOAL_NODE SHOAL_MAIN
}

# shoal_role ROLE: exports ROLE's credentials from $SHOAL_CREDS_DIR/ROLE.env (SHOAL_NATS_USER,
# SHOAL_NATS_PASS, ...) into the current shell; nothing when there is no such file (the
# environment's own SHOAL_NATS_* then apply). Use it in a subshell that execs the command,
# `( shoal_role agent; exec srun ... ) &`, so $! is the command's own pid and the
# credentials stay out of the script's environment and off command lines.
shoal_role() {
  if [ -n "${SHOAL_CREDS_DIR:-}" ] && [ -f "$SHOAL_CREDS_DIR/$1.env" ]; then
    set -a
    # shellcheck disable=SC1090
    . "$SHOAL_CREDS_DIR/$1.env"
    set +a
  fi
}

# shoal_creds_ns: the namespace the credentials in $SHOAL_CREDS_DIR are for (empty if none).
shoal_creds_ns() {
  local f
  for f in operator agent coordinator; do
    if [ -n "${SHOAL_CREDS_DIR:-}" ] && [ -f "$SHOAL_CREDS_DIR/$f.env" ]; then
      sed -n 's/^SHOAL_NS=//p' "$SHOAL_CREDS_DIR/$f.env"
      return
    fi
  done
}

# shoal_json_get FILE KEY: prints one top-level field of a JSON file (empty when absent).
shoal_json_get() {
  "$SHOAL_NODE" -e '
    const [file, key] = process.argv.slice(1);
    const v = JSON.parse(require("fs").readFileSync(file, "utf8"))[key];
    if (v !== undefined && v !== null) process.stdout.write(String(v));
  ' "$1" "$2"
}

# shoal_node_addr NODE: the address Slurm itself uses for NODE (NodeAddr), or its name.
shoal_node_addr() {
  local addr
  addr=$(scontrol -o show node "$1" 2>/dev/null | tr ' ' '\n' | sed -n 's/^NodeAddr=//p' | head -n 1)
  if [ -z "$addr" ] || [ "$addr" = "(null)" ]; then addr=$1; fi
  printf '%s\n' "$addr"
}

# Sets SHOAL_SRUN_OPTS: one task (one agent) per node, a failing agent does not take the
# others down, and, where the cluster binds tasks to CPUs, no binding: the agent's one task
# must not be pinned to one core, it spreads its worker threads over the whole allocation
# (which the step's cgroup still confines it to).
shoal_srun_opts() {
  SHOAL_SRUN_OPTS=(--nodes="${SLURM_JOB_NUM_NODES:-1}" --ntasks-per-node=1 --kill-on-bad-exit=0)
  if scontrol show config 2>/dev/null | grep -qE '^TaskPlugin[[:space:]]*=.*(affinity|cgroup)'; then
    SHOAL_SRUN_OPTS+=(--cpu-bind=none)
  fi
}

# A TCP port nothing listens on right now.
shoal_free_port() {
  "$SHOAL_NODE" -e '
    const s = require("net").createServer();
    s.listen(0, () => { process.stdout.write(String(s.address().port)); s.close(); });
  '
}

# shoal_wait_ready PID SECONDS: waits until the coordinator answers `shoal status`
# (operator credentials), failing when the process PID exits first or after SECONDS.
shoal_wait_ready() {
  local pid=$1 deadline=$((SECONDS + $2))
  until (shoal_role operator && exec "$SHOAL_NODE" "$SHOAL_MAIN" status --ns "$SHOAL_NS" --json >/dev/null 2>&1); do
    kill -0 "$pid" 2>/dev/null || return 1
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

# Asks every agent the coordinator knows (spot agents included) to drain, so they exit 0
# instead of waiting for a coordinator that is about to stop.
shoal_drain_all() {
  local agents a
  agents=$( (shoal_role operator && exec "$SHOAL_NODE" "$SHOAL_MAIN" status --ns "$SHOAL_NS" --json 2>/dev/null) | "$SHOAL_NODE" -e '
    let t = ""; process.stdin.on("data", (d) => (t += d)).on("end", () => {
      try { for (const a of JSON.parse(t).agents ?? []) if (a.state !== "lost") console.log(a.agent); } catch {}
    });') || true
  for a in $agents; do
    (shoal_role operator && exec "$SHOAL_NODE" "$SHOAL_MAIN" drain "$a" --ns "$SHOAL_NS" >/dev/null 2>&1) || shoal_say "could not ask agent $a to drain"
  done
}

# shoal_wait_pid PID SECONDS: waits up to SECONDS for PID to end; fails when it is still running.
shoal_wait_pid() {
  local pid=$1 deadline=$((SECONDS + $2))
  while kill -0 "$pid" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# shoal_stop_pid PID SECONDS: SIGTERM, up to SECONDS to end, then SIGKILL; reaps PID.
shoal_stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || true
  if ! shoal_wait_pid "$pid" "$2"; then
    shoal_say "process $pid did not stop within $2 s: killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
