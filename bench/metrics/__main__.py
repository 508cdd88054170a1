"""`python -m bench.metrics`: see bench/metrics/run.py."""

from bench.metrics.run import main

main()
