"""Click helpers shared by the sub-commands."""

import click


class Renamed(click.Option):
    """An option renamed: its old spellings still work for one release but `--help` shows
    only the new name.

        @click.option("--desde", "start", cls=Renamed, old=("--from",), ...)
    """

    def __init__(self, param_decls, old=(), **attrs):
        self.old = tuple(old)
        super().__init__([*param_decls, *self.old], **attrs)

    def get_help_record(self, ctx):
        opts = self.opts
        self.opts = [o for o in opts if o not in self.old]
        try:
            return super().get_help_record(ctx)
        finally:
            self.opts = opts
