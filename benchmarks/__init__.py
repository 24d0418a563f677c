"""styletool benchmarks: `python -m benchmarks` runs them and writes a table and raw figures.

Every figure is reported beside a plain baseline of the same computation,
run in the same process, as a ratio: absolute times on shared machines are
noisy, ratios much less so.
"""
