"""The imperative shell of amlstream: Kafka topics, the faust app and agents, Redis state,
metrics and the command line. Business logic lives in `factors`."""
