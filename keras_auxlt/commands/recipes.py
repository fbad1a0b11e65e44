"""Named recipes: the flagfiles of keras_auxlt/recipes/ (the repository's flags/), installed with the package.

`--recipe=NAME` stands for the flags of recipes/NAME.cfg wherever the command runs: a recipe's own
`--flagfile=flags/<other>.cfg` lines (how recipes build on each other, relative to a clone) are expanded
from the installed recipes too, so nothing depends on the working directory. Flags given after
`--recipe` override the recipe's, as they would after `--flagfile`.
"""

import os

RECIPE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "recipes")
SUFFIX = ".cfg"


class RecipeError(ValueError):
    """An unknown recipe or a recipe file that cannot be read; the message lists the known ones."""


def names():
    return sorted(f[:-len(SUFFIX)] for f in os.listdir(RECIPE_DIR) if f.endswith(SUFFIX))


def path_of(name):
    path = os.path.join(RECIPE_DIR, name + SUFFIX)
    if os.path.basename(name) != name or not os.path.isfile(path):
        raise RecipeError(f"--recipe: no recipe named {name!r}. Known recipes: {', '.join(names())} "
                          "(descriptions: --list_recipes)")
    return path


def description(name):
    """The recipe's one-line description: its first comment line."""
    with open(path_of(name)) as f:
        first = f.readline()
    return first.lstrip("#").strip() if first.startswith("#") else ""


def listing():
    """One line per recipe: its name and description."""
    width = max(map(len, names()))
    return "\n".join(f"  {name:<{width}}  {description(name)}" for name in names())


def expand(name, seen=()):
    """The flags of recipe `name` as command-line arguments, its nested recipe flagfiles expanded in place."""
    if name in seen:
        raise RecipeError(f"recipe {name!r} includes itself (through {' -> '.join(seen)})")
    arguments = []
    with open(path_of(name)) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("--flagfile="):
                nested = os.path.basename(line.split("=", 1)[1])
                if nested.endswith(SUFFIX) and os.path.isfile(os.path.join(RECIPE_DIR, nested)):
                    arguments += expand(nested[:-len(SUFFIX)], (*seen, name))
                    continue
            arguments.append(line)
    return arguments


def expand_argv(argv):
    """`argv` with every `--recipe=NAME` (or `--recipe NAME`) replaced by the recipe's flags."""
    out, rest = [argv[0]], iter(argv[1:])
    for arg in rest:
        flag = "--" + arg.lstrip("-") if arg.startswith("-") else arg
        if flag == "--recipe":
            flag = "--recipe=" + next(rest, "")
        if flag.startswith("--recipe="):
            out += expand(flag.split("=", 1)[1])
        else:
            out.append(arg)
    return out
