"""The `prep-iac` command: parses, calls the library, prints. Nothing else lives here.

Each sub-command lives in its subpackage's ``cli`` module and is imported only when used,
so `prep-iac inventory check` does not pay for loading WeasyPrint or paramiko.
"""

import importlib
import os
import signal
import sys

import click

from prep_iac import __version__, children
from prep_iac.errors import PrepError

# name -> "module:attribute" of a click command or group
SUBCOMMANDS = {
    "inventory": "prep_iac.inventory.cli:inventory",
    "deploy": "prep_iac.deploy_cli:deploy",
    "lab": "prep_iac.lab.cli:lab",
    "corte": "prep_iac.corte.cli:corte",
    "publish": "prep_iac.publish.cli:publish",
    "status": "prep_iac.publish.cli:status",
    "lista": "prep_iac.publish.lista_cli:lista",
    "verify": "prep_iac.conformance.cli:verify",
    "audit": "prep_iac.conformance.cli:audit",
    "runbook": "prep_iac.conformance.cli:runbook",
    "informe": "prep_iac.conformance.cli:informe",
    "dispensa": "prep_iac.conformance.cli:dispensa",
    "memoria": "prep_iac.memoria.cli:memoria",
    "expediente": "prep_iac.expediente.cli:expediente",
    "simulacro": "prep_iac.simulacro.cli:simulacro",
    "pentest": "prep_iac.pentest.cli:pentest",
    "continuidad": "prep_iac.pentest.cli:continuidad",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(name for name in SUBCOMMANDS if self._load(name) is not None)

    def get_command(self, ctx, name):
        return self._load(name)

    @staticmethod
    def _load(name):
        target = SUBCOMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # A sub-command whose module is not written yet is simply not offered.
            if exc.name == module_name:
                return None
            raise
        return getattr(module, attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="prep-iac")
def cli():
    """Infrastructure as code for PREP difusores and the Institute's publishers."""


# Set by a command whose outputs are all written and closed when it returns (memoria report):
# the console script (run) then ends the process at once instead of tearing the interpreter
# down, which frees every object one by one (~0.3 CPU s after a report of a million lines).
skip_teardown = False


def main():
    try:
        # Without standalone mode click returns an Exit's code instead of raising it.
        code = cli.main(standalone_mode=False)
    except PrepError as err:
        from prep_iac.console import print_error

        print_error(err)
        sys.exit(err.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        signum = children.received()
        if signum is None:
            click.echo("aborted", err=True)
            sys.exit(1)
        click.echo(f"interrupted by {signal.Signals(signum).name}: its child processes were "
                   "ended and its cleanup run", err=True)
        sys.exit(128 + signum)
    sys.exit(code if isinstance(code, int) else 0)


def run():
    """The `prep-iac` console script: main() in a process of its own. Never called in-process
    (tests call main()), so only a real command's process can end by os._exit."""
    global skip_teardown
    skip_teardown = False
    children.install()
    try:
        main()
    except SystemExit as exc:
        if skip_teardown and exc.code in (0, None):
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        raise


if __name__ == "__main__":
    run()
