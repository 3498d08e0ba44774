"""Benchmarks of hookdock against baselines run side by side: `make bench` or `python -m bench`."""
