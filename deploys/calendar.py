"""The election's calendar alone: every file that holds the inventory's dates (iec.calendar),
on difusores and publishers. Each line is a part of the full deploys (difusor.py,
publisher.py), which write the same files; this one changes dates without re-running the
rest: when the Institute moves a date, or when a drill sets its accelerated night right
after its full deploys (at 50 lab hosts a full re-run takes minutes).

    prep-iac deploy calendar -i inventories/example-difusor.yml
    PREP_INVENTORY=my.yml pyinfra inventories/env.py deploys/calendar.py
"""

from prep_iac.components import activator, logs, nginx, publisher, watchdog
from prep_iac.components.common import has_role

if has_role("difusor"):
    activator.configured()  # the opening: before it, every cut is drill material
    nginx.pages()           # the window the portal's pages announce
    watchdog.recalendared() # the window the watchdog keeps, in effect at once
    logs.window()           # rotation keeps the window's days for the memoria
if has_role("publisher"):
    publisher.registry()    # the PREP times each cut's stamp carries, the public list's date
