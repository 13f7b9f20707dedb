"""A small deploy for the lab test: a directory, a file from a string, a line, a package
through the lab's apt proxy; and the container fact, recorded on the host."""

import json
from io import StringIO

from pyinfra import host
from pyinfra.operations import apt, files

from prep_iac.facts.container import Container

files.directory(name="prep-iac lab test directory", path="/etc/prep-lab-test", mode="755")
files.put(name="greeting", src=StringIO(f"hola desde {host.name}\n"),
          dest="/etc/prep-lab-test/greeting", mode="644")
files.line(name="a line", path="/etc/prep-lab-test/lines", line="prep=1")
apt.packages(name="a package via the apt proxy", packages=["tree"], update=True,
             cache_time=3600)
files.put(name="container fact", dest="/etc/prep-lab-test/container.json", mode="644",
          src=StringIO(json.dumps(host.get_fact(Container), sort_keys=True) + "\n"))
