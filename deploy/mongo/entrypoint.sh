#!/bin/bash
# The compose MongoDB: a one-member replica set with authentication. A replica set with users needs a key
# file for its members' own authentication; it is made once, in the mongo-config volume, then the image's
# entrypoint runs as usual (it creates MONGO_INITDB_ROOT_USERNAME on the first start of an empty volume).
set -euo pipefail
keyfile=/data/configdb/keyfile
if [ ! -s "$keyfile" ]; then
    head -c 756 /dev/urandom | base64 -w 0 > "$keyfile"
fi
chown mongodb:mongodb "$keyfile"
chmod 400 "$keyfile"
exec docker-entrypoint.sh mongod --replSet rs0 --bind_ip_all --keyFile "$keyfile" "$@"
