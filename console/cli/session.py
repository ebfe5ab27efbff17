"""What every command gets: the signed client (made on first use, so `config`, `test` and `pysdk`
work without credentials) and the `[Y/n]` prompts of the seeds."""
import sys
from functools import cached_property
from pathlib import Path

from console.cli import config
from console.cli.client import EasClient


class Refused(Exception):
    """The user answered no to a prompt: nothing was changed."""


class Session:
    def __init__(self, config_path: Path, assume_yes: bool = False):
        self.config_path = config_path
        self.assume_yes = assume_yes

    @cached_property
    def client(self) -> EasClient:
        return EasClient(config.load(self.config_path))

    def confirm(self, question: str) -> None:
        """Ask `question [Y/n]`; Enter or y/yes goes on, anything else (or no input) raises Refused."""
        if self.assume_yes:
            return
        print(f"{question} [Y/n]", end=" ", flush=True)
        answer = sys.stdin.readline()
        if not sys.stdin.isatty():
            print()  # the answer was not echoed: end the prompt's line
        if not answer:
            raise Refused("no answer on standard input (use -y to confirm in scripts)")
        if answer.strip().lower() not in ("", "y", "yes"):
            raise Refused("cancelled")
