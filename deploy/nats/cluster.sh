#!/usr/bin/env bash
# A local three-node NATS cluster with JetStream: ./cluster.sh start | stop | status
set -euo pipefail
cd "$(dirname "$0")"
data=${NATS_DATA:-./nats-data}
routes="nats://127.0.0.1:6222,nats://127.0.0.1:6223,nats://127.0.0.1:6224"

case "${1:-status}" in
  start)
    for i in 0 1 2; do
      mkdir -p "$data/n$i"
      nats-server -js -n "salesbot-n$i" -a 127.0.0.1 -p $((4222 + i)) \
        --cluster_name salesbot --cluster "nats://127.0.0.1:$((6222 + i))" --routes "$routes" \
        -sd "$data/n$i" -P "$data/n$i.pid" -l "$data/n$i.log" &
    done
    sleep 2
    echo "NATS_URL=nats://127.0.0.1:4222,nats://127.0.0.1:4223,nats://127.0.0.1:4224"
    ;;
  stop)
    for i in 0 1 2; do
      [ -f "$data/n$i.pid" ] && kill "$(cat "$data/n$i.pid")" 2>/dev/null || true
    done
    ;;
  status)
    for i in 0 1 2; do
      if (exec 3<>/dev/tcp/127.0.0.1/$((4222 + i))) 2>/dev/null; then
        echo "n$i: up (127.0.0.1:$((4222 + i)))"
      else
        echo "n$i: down"
      fi
    done
    ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
