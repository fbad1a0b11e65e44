"""Flag parsing whose errors say which flagfile line caused them.

absl reports a bad flag as `Unknown command line flag 'learnin_rate'` or `flag --epochs=abc: invalid
literal for int()`, without saying where it came from; with recipes in nested flagfiles
(flags/*.cfg), that leaves the user to search. `parse_flags` is absl's parser (app.run's
`flags_parser`) with the flagfile and line number added to such errors:

    FATAL Flags parsing error: Unknown command line flag 'learnin_rate'. Did you mean: learning_rate ?
      at flags/my_recipe.cfg:12
"""

import os
import re
import sys

from absl import flags

_ILLEGAL_VALUE = re.compile(r"^flag (--[^=\s]+=.*?): ")  # IllegalFlagValueError: "flag --name=value: why"


def parse_flags(argv):
    """Parse `argv` into absl's FLAGS; on a bad flag, print the error with its flagfile line and exit 1."""
    try:
        return flags.FLAGS(argv)
    except flags.Error as error:
        message = str(error)
        where = flagfile_line(argv, offending_argument(error))
        if where:
            message += f"\n  at {where[0]}:{where[1]}"
        sys.stderr.write(f"FATAL Flags parsing error: {message}\nPass --helpshort or --helpfull to see help on flags.\n")
        sys.exit(1)


def offending_argument(error):
    """The `--name=value` (or `--name`) argument an absl flags error is about; None if it names none."""
    if isinstance(error, flags.UnrecognizedFlagError):
        return error.flagvalue or f"--{error.flagname}"
    match = _ILLEGAL_VALUE.match(str(error))
    return match.group(1) if match else None


def flagfile_line(argv, argument):
    """(flagfile, line number) of the first line that gives `argument`, following --flagfile lines in the
    order absl reads them; None if it came from the command line itself (or is not found)."""
    if not argument:
        return None
    wanted = _normalized(argument)
    arguments = iter(argv[1:])
    for arg in arguments:
        if arg in ("--flagfile", "-flagfile"):
            arg = "--flagfile=" + next(arguments, "")
        if _normalized(arg).startswith("--flagfile="):
            found = _search_flagfile(arg.split("=", 1)[1], wanted, set())
            if found:
                return found
        elif _normalized(arg) == wanted:
            return None  # given on the command line: the user sees it there
    return None


def _search_flagfile(path, wanted, seen):
    if path in seen or not os.path.isfile(path):
        return None
    seen.add(path)
    with open(path) as f:
        lines = f.read().splitlines()
    for number, line in enumerate(lines, 1):
        text = _normalized(line.strip())
        if text.startswith("--flagfile="):
            found = _search_flagfile(text.split("=", 1)[1], wanted, seen)
            if found:
                return found
        elif text == wanted:
            return path, number
    return None


def _normalized(arg):
    """`-name=value` and `--name=value` are the same to absl."""
    return "--" + arg.lstrip("-") if arg.startswith("-") else arg
