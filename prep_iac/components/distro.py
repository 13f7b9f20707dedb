"""Distribution specifics (Debian 12/13, later Ubuntu): package and service names, paths."""
