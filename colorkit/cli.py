"""What every command-line tool here shares: the help formatter, the logging setup, the commands' names."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

# The console scripts pyproject.toml's [project.scripts] installs, by the package each runs as
# ``python -m <package>`` in a source checkout.
COMMANDS = {"colorizer": "colorize", "convert": "colorizer-convert"}

# onnxruntime's severity for the sessions we open: errors only. The optional temperature input
# makes it warn, harmlessly, about every session.
ORT_LOG_SEVERITY = 3


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults in the help (where there is one to show), and the epilog's examples kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False, []) or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


def configure_logging(verbose: bool, *, quiet_root: bool = False, package: str | None = None) -> None:
    """Log our messages to stderr: INFO with ``verbose``, else WARNING.

    quiet_root: other libraries' loggers (the root) only show errors unless ``verbose``; then
        ``package``'s own loggers keep WARNING (the converter uses it for the quantizer's chatter).
    """
    level = logging.INFO if verbose else logging.WARNING
    root_level = logging.ERROR if quiet_root and not verbose else level
    logging.basicConfig(level=root_level, format="%(levelname)s %(name)s: %(message)s")
    if package:
        logging.getLogger(package).setLevel(level)


def command_name(package: str) -> str:
    """How the user runs ``package``'s tool, said the way this process was started: ``colorize`` or
    ``colorizer-convert`` under an installed console script, else ``python -m colorizer`` or
    ``python -m convert`` (a source checkout). For help texts and hints that name a command."""
    started_as = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else ""
    return COMMANDS[package] if started_as in COMMANDS.values() else f"python -m {package}"
