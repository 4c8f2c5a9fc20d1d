#!/usr/bin/env bash
# Starts the Vono simulator, the dashboard and the deletion worker on the embedded defaults;
# Ctrl-C stops them all. PORT (8000) and SIM_PORT (8001) choose the ports.
#
# The simulator may die (or be killed, to see how the portal copes): the dashboard and the
# worker stay up and show Vono as unavailable, and the simulator is started again after
# SIM_RESTART_SECONDS (5). It keeps deletions and new ids in SIM_STATE across restarts.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8000}"
SIM_PORT="${SIM_PORT:-8001}"
SIM_STATE="${SIM_STATE:-$PWD/var/vonosim-state.json}"
SIM_RESTART_SECONDS="${SIM_RESTART_SECONDS:-5}"
py=.venv/bin/python

export DEBUG=1
export DATABASE_URL="${DEMO_DATABASE_URL:-sqlite:///$PWD/db.sqlite3}"
export CACHE_URL="locmemcache://vonoportal"
export VONO_BASE_URL="http://127.0.0.1:$SIM_PORT/api"
export VONO_API_TOKEN="demo-token" VONO_API_KEY="demo-key"
export VONOSIM_TOKEN="$VONO_API_TOKEN" VONOSIM_KEY="$VONO_API_KEY"
unset VONO_CUSTOMER_ID

pids=()
stop() {
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    echo "stopped."
}
trap stop EXIT INT TERM

$py manage.py migrate --noinput -v0
$py manage.py seed_demo >/dev/null

# The simulator in a loop of its own: when it dies, it is started again, with its state.
simulator_loop() {
    local child=""
    trap '[ -n "$child" ] && kill "$child" 2>/dev/null; exit 0' TERM INT
    while true; do
        $py -m vonosim --port "$SIM_PORT" --state "$SIM_STATE" &
        child=$!
        wait "$child" || true
        echo "vonosim stopped: the portal shows Vono as unavailable;" \
            "starting it again in ${SIM_RESTART_SECONDS} s." >&2
        sleep "$SIM_RESTART_SECONDS" &
        child=$!
        wait "$child" || true
    done
}
simulator_loop &
pids+=($!)
for _ in $(seq 1 100); do
    if $py -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$SIM_PORT/_sim/health', timeout=1)" 2>/dev/null; then
        break
    fi
    sleep 0.2
done

# The recording index's periodic sync runs on the same worker; queue its first run now, so the
# simulator's 60 days are indexed in the background while the page comes up (see /index/).
$py manage.py sync_recordings --enqueue >/dev/null

# Approved deletions run here, never inside a web request.
$py manage.py db_worker --interval 1 --no-startup-delay >/dev/null 2>&1 &
pids+=($!)
essential=($!)

cat <<TXT

  Vono Portal     http://127.0.0.1:$PORT/
  Vono simulator  http://127.0.0.1:$SIM_PORT/api/recording/demo-token/demo-key

  Logins (password: vono-demo)
    supervisor   Supervisores
    qa           Revisores de QA
    admin        Administradores
    admin2       Administradores (a second approver)
    access       Gestores de acesso (users, roles and scope)
    access2      Gestores de acesso (a second access manager)
    dpo          Encarregado de dados (DPO): the LGPD access report
    equipe       Supervisores, only the calls of extensions 2003, 4101-4110
    coord        Coordenadores de QA: scorecards, review queues, QA reports

  A background worker carries out approved deletions and keeps the recording
  index in step with the simulator (progress at http://127.0.0.1:$PORT/index/, as admin).
  The simulator keeps its deletions in $SIM_STATE; if it stops, it starts again.
  Ctrl-C stops everything.

TXT
$py manage.py runserver "127.0.0.1:$PORT" --noreload &
pids+=($!)
essential+=($!)
# Only the dashboard or the worker ending stops everything; the simulator comes back alone.
wait -n "${essential[@]}"
