"""Contract check (a): schemathesis against the served document of a live `eps demo`.

Usage: fuzz.py SCHEMATHESIS WORKDIR (the base URL and demo credentials come from EPS_CONTRACT_*).
Every check schemathesis has runs, with a fixed seed and a bounded number of examples; the
connection reaches the operations that take it through hooks.py. Two runs:
everything but `DELETE /connection` on one connection, then `DELETE /connection` alone (on the
first run it would end the connection every other operation is tested through). The event
streams (`/events`, `/admin/events` and their WebSockets) are not fuzzed: their 200 never ends.
"""

import os
import re
import subprocess
import sys

import session

SEED = "20261205"
EXAMPLES = os.environ.get("EPS_CONTRACT_EXAMPLES", "25")
STREAMS = r"^/(admin/)?events(/ws)?$"


def run(schemathesis, workdir, name, connection, token, extra):
    """One schemathesis run; returns its summary counts."""
    command = [
        schemathesis, "run", f"{session.BASE}/openapi.json",
        "--checks", "all",
        "--seed", SEED,
        "--max-examples", EXAMPLES,
        "--workers", "1",
        "--request-timeout", "30",
        "--exclude-path-regex", STREAMS,
        "--header", f"Authorization: Bearer {token}",
        "--report", "junit",
        "--report-junit-path", os.path.join(workdir, f"{name}.xml"),
        "--no-color",
        *extra,
    ]
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, SCHEMATHESIS_HOOKS="hooks", EPS_CONTRACT_CONNECTION=connection,
               PYTHONPATH=os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")])))
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    output = result.stdout + result.stderr
    with open(os.path.join(workdir, f"{name}.log"), "w", encoding="utf-8") as log:
        log.write(output)
    print(output[-6000:])
    return result.returncode, output


def counts(output):
    """Operations tested and test cases generated, as schemathesis's summary states them."""
    operations = re.search(r"Tested: (\d+)", output)
    cases = re.search(r"Test cases:\s+(\d+) generated(.*)", output)
    return (
        operations.group(1) if operations else "?",
        f"{cases.group(1)} generated test cases{cases.group(2)}" if cases else "? test cases",
    )


def main():
    schemathesis, workdir = sys.argv[1], sys.argv[2]
    token = session.token("read write")
    connection = session.connect(token)
    code_main, out_main = run(
        schemathesis, workdir, "main", connection, token,
        ["--exclude-operation-id", "disconnect"],
    )
    code_delete, out_delete = run(
        schemathesis, workdir, "disconnect", connection, token,
        ["--include-operation-id", "disconnect"],
    )
    for name, output in (("main", out_main), ("disconnect", out_delete)):
        operations, cases = counts(output)
        print(f"contract (a) {name}: {operations} operations, {cases}")
    if code_main or code_delete:
        print("contract (a): schemathesis found failures (logs in target/contract/)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
