"""``deltanet datasets``: the dataset names DATA accepts, with their shapes."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import add_output_options, console, print_json


def add_parser(commands: Any) -> None:
    """Register ``datasets`` on the subcommand table ``commands``."""
    parser = commands.add_parser(
        "datasets", help="list the bundled and generated datasets, with their shapes",
        description="List the datasets that 'deltanet train NAME' accepts: scikit-learn's "
                    "bundled tables and the generated 2-D sets (drawn with 500 rows, noise "
                    "0.1 and seed 0, so a name always means the same table).")
    add_output_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from rich.table import Table

    from deltanet.data import list_datasets

    infos = list_datasets()
    if args.json:
        print_json([asdict(i) for i in infos])
        return 0
    if args.quiet:  # the list itself, without the table's decoration: one line per dataset
        for i in infos:
            print("\t".join([i.name, str(i.shape[0]), str(i.shape[1]), i.task,
                             "-" if i.n_classes is None else str(i.n_classes)]))
        return 0
    table = Table(title="datasets (deltanet train NAME)", title_justify="left")
    for name, justify in (("name", "left"), ("rows", "right"), ("features", "right"),
                          ("task", "left"), ("classes", "right"), ("source", "left"),
                          ("description", "left")):
        table.add_column(name, justify=justify)
    for i in infos:
        table.add_row(i.name, str(i.shape[0]), str(i.shape[1]), i.task,
                      "-" if i.n_classes is None else str(i.n_classes), i.source, i.description)
    console().print(table)
    return 0
