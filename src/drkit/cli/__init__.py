"""The drkit command line: one module per subcommand."""

from __future__ import annotations

import click

from drkit import __version__
from drkit.cli.backup import backup, backups
from drkit.cli.drill import drill
from drkit.cli.failover import failback, failover, switchover
from drkit.cli.inventory import inventory
from drkit.cli.plan import plan
from drkit.cli.restore import restore
from drkit.cli.sandbox import sandbox
from drkit.cli.upgrade import upgrade
from drkit.cli.validate import validate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="drkit")
def main() -> None:
    """Declarative disaster recovery for service registries (etcd)."""


main.add_command(validate)
main.add_command(sandbox)
main.add_command(backup)
main.add_command(backups)
main.add_command(restore)
main.add_command(drill)
main.add_command(plan)
main.add_command(inventory)
main.add_command(upgrade)
main.add_command(switchover)
main.add_command(failover)
main.add_command(failback)
