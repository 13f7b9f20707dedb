"""pytest-testinfra suites that prove each requirement on a host (``pytest --hosts=…``)."""
