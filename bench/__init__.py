"""The benchmark of the rotation functions (``make bench``): cold start, cost per rotation,
waiting, fleets at the providers' rate limits, size and memory. See ``bench.__main__``.

Every timing is a ratio or a count measured in the same run (the machines are noisy), and
none of this runs as part of the test suite.
"""
