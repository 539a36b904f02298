from simex_testkit import clock, ex  # noqa: F401  (fixtures shared by every simex test)
