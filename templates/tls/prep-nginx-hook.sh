#!/bin/sh
# Managed by prep-iac (tls component): certbot runs this after every renewal.
set -eu
nginx -t -q && systemctl reload nginx
