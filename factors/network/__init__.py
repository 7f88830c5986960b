"""The network core: payment edges between parties, the bounded local subgraph a rule sees, and
the network rule set (typology modules live in `factors/patterns/`, like the customer rules)."""
