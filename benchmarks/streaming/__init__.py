"""Streaming benchmark: the reply engine against common edit policies on simulated platforms.

Run ``python -m benchmarks.streaming`` (full, minutes) or ``--smoke`` (seconds).
"""
