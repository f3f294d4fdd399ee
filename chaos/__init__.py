"""`make chaos`: a fault-injection run against the real stack (`louzhang run`).

Issues are submitted at a steady rate by a client that retries with its Idempotency-Key
while each service is SIGKILLed in turn, RabbitMQ is restarted and MongoDB is killed;
then MongoDB, the webhook receiver, reporting and the broker are read to prove that
nothing was lost and nothing happened twice. With `--cluster` (`make chaos-cluster`) the
stack runs on a local 3-node RabbitMQ cluster and 3-member replica set of its own, and
nodes are killed, stopped and stepped down as well.
"""
