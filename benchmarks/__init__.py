"""Sealroom benchmarks: figures measured side by side and reported as ratios."""
