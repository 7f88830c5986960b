"""The pure core of amlstream: the customer risk model, its factors and the pattern rules.

Nothing in this package performs I/O or reads a clock: every function takes plain data
and returns plain data, so it is unit-testable in microseconds and replays deterministically.
"""
