"""Benchmarks: ``python -m bench --scale small|full`` (``make bench`` / ``make bench-full``).

Each module of ``bench/`` listed in ``bench.__main__.BENCHMARKS`` exposes ``NAME`` and
``run(ctx) -> list[Result]``. A benchmark builds its own database, measures its pages, and
compares every figure with a baseline measured in the same run and with the target its issue
gives. Benchmarks print figures; they are not timed tests.
"""
