#!/bin/sh
# Run by the postgres image once, when its volume is new (/docker-entrypoint-initdb.d): lets the
# optional postgres-replica service (docker-compose.yml, profile "replica") stream from this server
# over the compose network, with the same password authentication as every other connection.
# A volume made before this file existed needs the line added by hand (see README, read replica).
echo "host replication all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
