"""The programs that run on the hosts: the difusor's activator and watchdog, the publisher's
push engine (publisher/).

Rule (tests/unit/test_onhost.py enforces it): nothing here imports pyinfra, pydantic, click
or testinfra. A difusor runs these with Debian's python3 alone, from a copy of
prep_iac/contract.py and this package; a publisher adds Debian's paramiko and jinja2.
Each program's settings are a dataclass beside it: the deploy writes that dataclass as JSON,
the program reads it back, and the conformance suites compare the host's file with it.
"""
