#!/usr/bin/env bash
# The curl examples of Amplitude's "Experiment Management API Mutex Group Endpoints" page, run
# against a local mutex-mgmt on a fresh database: create (two slots, 40/60), list, get, edit the
# name, edit a slot's experiments and individuals, then archive. Each command below is the
# page's text; only the host and the key are replaced, and the placeholders <projectId>, <id>
# and <slotIndex> filled in. Prints each command and the answer, and fails if an answer is not
# what the page describes.
#
#   mgmt/demo.sh [path/to/mutex-mgmt]              (default: build/bin/mutex-mgmt)
#   MGMT_DEMO_LISTEN=127.0.0.1:9090 mgmt/demo.sh   to choose the address (default: a free port)
#
# Exit 0 when every answer was as documented, 1 otherwise, 77 without curl or python3.
set -euo pipefail

bin=${1:-build/bin/mutex-mgmt}
listen=${MGMT_DEMO_LISTEN:-127.0.0.1:0}
key=demo-key
command -v curl >/dev/null 2>&1 || { echo "demo.sh: curl is not installed" >&2; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "demo.sh: python3 is not installed" >&2; exit 77; }

work=$(mktemp -d)
pid=
cleanup() {
  if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

MUTEX_MGMT_API_KEYS=$key "$bin" --listen "$listen" --db "$work/state.sqlite3" 2>"$work/log" &
pid=$!
port=
for _ in $(seq 1 200); do  # at most 10 s
  port=$(sed -n 's/.*msg="listening" address=[^ ]*:\([0-9][0-9]*\).*/\1/p' "$work/log" | head -1)
  [[ -n $port ]] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/log" >&2; exit 1; }
  sleep 0.05
done
[[ -n $port ]] || { echo "demo.sh: mutex-mgmt did not start" >&2; cat "$work/log" >&2; exit 1; }
base="http://${listen%:*}:$port"

failed=0
id=
slot=
# run: reads a command of the page on stdin, puts in the host, key and ids, prints it, runs it;
# the answer (stdout; curl's progress meter goes nowhere) is kept in $answer.
run() {
  local text
  text=$(cat)
  text=${text//https:\/\/experiment.amplitude.com/$base}
  text=${text//<management-api-key>/$key}
  text=${text//<projectId>/12345}
  text=${text//<id>/$id}
  text=${text//<slotIndex>/$slot}
  printf '$ %s\n' "$text"
  answer=$(eval "$text" 2>/dev/null)
  printf '%s\n\n' "$answer"
}
# expect PYTHON-EXPRESSION: checks the last answer, parsed as JSON into `a`.
expect() {
  if ! python3 -c "import json,sys; a=json.loads(sys.argv[1]); sys.exit(0 if ($1) else 1)" \
      "$answer" 2>/dev/null; then
    echo "demo.sh: FAILED: expected $1" >&2
    failed=1
  fi
}

echo "## Create a mutex group: the page's create curl with its example request body"
run <<'EOF'
curl --request POST \
    --url 'https://experiment.amplitude.com/api/1/mutexes' \
    --header 'Content-Type: application/json' \
    --header 'Accept: application/json' \
    --header 'Authorization: Bearer <management-api-key>' \
    --data '{
    "projectId":"<projectId>",
    "name": "Example Mutex Group",
    "key": "example-mutex",
    "description": "An example mutex group",
    "evaluationMode": "remote",
  	"slots": [
      	{
      		"percentage": 40,
          	"experiments": [123],
          	"holdouts": [456]
      	},
      	{
      		"percentage": 60,
          	"experiments": [789],
          	"individuals": ["x@amplitude.com"]
      	}
    ]
}'
EOF
expect "isinstance(a['id'], int) and a['url'].endswith('/api/1/mutexes/%d' % a['id'])"
id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$answer")

echo "## The page's create curl as printed sends no name, which the page marks Required: 400"
run <<'EOF'
curl --request POST \
    --url 'https://experiment.amplitude.com/api/1/mutexes' \
    --header 'Content-Type: application/json' \
    --header 'Accept: application/json' \
    --header 'Authorization: Bearer <management-api-key>' \
    --data '{"projectId":"<projectId>","slots":[{"percentage":40},{"percentage":60}]}'
EOF
expect "a['error']['code'] == 'missing_field' and 'name' in a['error']['message']"

echo "## List mutex groups"
run <<'EOF'
curl --request GET \
--url 'https://experiment.amplitude.com/api/1/mutexes?limit=1000' \
--header 'Accept: application/json' \
--header 'Authorization: Bearer <management-api-key>'
EOF
expect "[g['key'] for g in a['mutexes']] == ['example-mutex'] and a['nextCursor'] is None"

echo "## Get mutex group details"
run <<'EOF'
curl --request GET \
    --url 'https://experiment.amplitude.com/api/1/mutexes/<id>' \
    --header 'Accept: application/json' \
    --header 'Authorization: Bearer <management-api-key>'
EOF
expect "a['id'] == $id and [s['percentage'] for s in a['slots']] == [40, 60] and a['slots'][1]['variantKey'] == 'slot-2'"

echo "## Edit a mutex group"
run <<'EOF'
curl --request PATCH \
    --url 'https://experiment.amplitude.com/api/1/mutexes/<id>' \
    --header 'Content-Type: application/json' \
    --header 'Accept: application/json' \
    --header 'Authorization: Bearer <management-api-key>' \
    --data '{"name": "updated name"}'
EOF
expect "a['name'] == 'updated name'"

echo "## Edit mutex group slots: the page's curl on slot 1"
slot=1
run <<'EOF'
curl --request PATCH \
    --url 'https://experiment.amplitude.com/api/1/mutexes/<id>/slots/<slotIndex>' \
    --header 'Content-Type: application/json' \
    --header 'Accept: application/json' \
    --header 'Authorization: Bearer <management-api-key>' \
    --data '{"experiments": [123, 456]}'
EOF
expect "a['slots'][0]['experiments'] == [123, 456]"

echo "## Edit mutex group slots: the page's example request body on slot 2"
slot=2
run <<'EOF'
curl --request PATCH \
    --url 'https://experiment.amplitude.com/api/1/mutexes/<id>/slots/<slotIndex>' \
    --header 'Content-Type: application/json' \
    --header 'Accept: application/json' \
    --header 'Authorization: Bearer <management-api-key>' \
    --data '{
    "experiments": [123, 456],
    "individuals": ["x@amplitude.com", "y@amplitude.com", "abcde-12345"]
}'
EOF
expect "a['slots'][1]['experiments'] == [123, 456] and a['slots'][1]['individuals'] == ['x@amplitude.com', 'y@amplitude.com', 'abcde-12345']"

echo "## Archive it (the page's edit curl with {\"archive\": true}): it leaves the list, get is 404"
run <<'EOF'
curl --request PATCH \
    --url 'https://experiment.amplitude.com/api/1/mutexes/<id>' \
    --header 'Content-Type: application/json' \
    --header 'Accept: application/json' \
    --header 'Authorization: Bearer <management-api-key>' \
    --data '{"archive": true}'
EOF
run <<'EOF'
curl --request GET \
    --url 'https://experiment.amplitude.com/api/1/mutexes/<id>' \
    --header 'Accept: application/json' \
    --header 'Authorization: Bearer <management-api-key>'
EOF
expect "a['error']['code'] == 'not_found'"
run <<'EOF'
curl --request GET \
--url 'https://experiment.amplitude.com/api/1/mutexes?limit=1000' \
--header 'Accept: application/json' \
--header 'Authorization: Bearer <management-api-key>'
EOF
expect "a == {'mutexes': [], 'nextCursor': None}"

if ((failed)); then
  echo "demo.sh: some answers were not as documented" >&2
  exit 1
fi
echo "demo.sh: every answer was as documented"
