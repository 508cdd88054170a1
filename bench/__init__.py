"""Benchmarks: scripts that measure, never tests that time."""
