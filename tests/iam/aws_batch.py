"""Run many aws cli commands in one process: `python aws_batch.py ENDPOINT < commands.json`.

The aws cli's own driver (`awscli.clidriver`, what the `aws` command runs) parses and
prints each command; one process saves the ~0.4 s start-up per command. Credentials
come from the environment, as for `aws`. Prints a JSON list of {rc, stdout, stderr}.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys

from awscli.clidriver import create_clidriver


def main() -> None:
    endpoint = sys.argv[1]
    commands = json.load(sys.stdin)
    driver = create_clidriver()
    results = []
    for args in commands:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = driver.main(["--endpoint-url", endpoint, "--output", "json", *args])
            except SystemExit as exc:  # the cli's argument parser exits on a usage error
                rc = exc.code if isinstance(exc.code, int) else 2
                driver = create_clidriver()  # a fresh driver after an aborted command
        results.append({"rc": rc, "stdout": out.getvalue(), "stderr": err.getvalue()})
    json.dump(results, sys.__stdout__)


if __name__ == "__main__":
    main()
