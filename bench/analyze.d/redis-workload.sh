#!/bin/sh
# A small server with a client test suite: redis-server on a fixed port
# (each analysis run has its own network namespace), driven by redis-cli,
# every answer checked; a stub or fake that changes the server's behaviour
# makes the workload fail (exit 1). Used by bench/analyze.
set -u
SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
PORT=6390
d=redis-workload.$$
rm -rf "$d" && mkdir "$d" || exit 1
fail() { echo "redis-workload: $*" >&2; redis-cli -p $PORT shutdown nosave >/dev/null 2>&1; exit 1; }
check() { [ "$2" = "$3" ] || fail "$1: got '$3', want '$2'"; }
"$SERVER" --port $PORT --bind 127.0.0.1 --dir "$PWD/$d" --dbfilename dump.rdb --save "" --appendonly no \
	--daemonize no --logfile "$PWD/$d/log" &
server=$!
i=0
until redis-cli -p $PORT ping >/dev/null 2>&1; do
	kill -0 $server 2>/dev/null || fail "the server exited: $(tail -3 "$d/log" 2>/dev/null)"
	i=$((i+1)); [ $i -lt 100 ] || fail "the server did not start: $(tail -3 "$d/log" 2>/dev/null)"
	sleep 0.05
done
c() { redis-cli -p $PORT "$@"; }
check set OK "$(c set greeting hello)"
check get hello "$(c get greeting)"
c incr n >/dev/null; c incr n >/dev/null
check incr 3 "$(c incr n)"
check lpush 3 "$(c rpush l a b c)"
check lrange "a b c" "$(c lrange l 0 -1 | tr '\n' ' ' | sed 's/ $//')"
check hset 2 "$(c hset h f1 v1 f2 v2)"
check hget v2 "$(c hget h f2)"
check sadd 3 "$(c sadd s x y z)"
check scard 3 "$(c scard s)"
check expire 1 "$(c expire greeting 100)"
check ttl-positive yes "$([ "$(c ttl greeting)" -gt 0 ] && echo yes)"
check del 1 "$(c del l)"
check dbsize 4 "$(c dbsize)"
check save OK "$(c save)"
[ -s "$d/dump.rdb" ] || fail "SAVE wrote no dump.rdb"
check flush OK "$(c flushall)"
check empty 0 "$(c dbsize)"
c shutdown nosave >/dev/null 2>&1
wait
rm -rf "$d"
echo "redis-workload: ok"
