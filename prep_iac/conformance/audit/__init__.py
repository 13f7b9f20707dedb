"""`prep-iac audit`: what anyone can check from outside, without an account (HTTP, TLS, TCP,
the SFTP host key), standard library only."""
