"""How every command starts: one shape for train, evaluate, export, serve, client and stats.

`launch(main, doc, groups)` is absl's `app.run` with three things added before the flags are parsed:
- `--help` (also `-h`, `--helpshort`) prints the command's own flags, grouped (`groups`: title -> flag
  names; flags of the command in no group go under "other"), each with its default; TensorFlow's and
  absl's flags are left out (`--helpfull` still lists everything);
- with `recipes`, `--recipe=NAME` expands to an installed recipe and `--list_recipes` lists them;
- a bad flag names the flagfile line it came from (keras_auxlt.flag_errors).
"""

import sys
import textwrap

from absl import app, flags

from keras_auxlt.commands import recipes as recipe_files
from keras_auxlt.flag_errors import parse_flags

HELP_ARGUMENTS = ("-h", "--h", "-help", "--help", "-helpshort", "--helpshort", "-?")
OWN_MODULES = ("keras_auxlt", "__main__")  # flags defined there are the command's; the rest are libraries'


def define_recipe_flags():
    flags.DEFINE_string("recipe", "", "A named recipe installed with the package (the repository's flags/NAME.cfg), "
                        "usable from any directory; flags after it override its own. List them: --list_recipes.")
    flags.DEFINE_bool("list_recipes", False, "Print the recipes with one line each, and exit.")


def own_flags():
    """{name: Flag} of the flags keras-auxlt's modules (or the script run as __main__) defined."""
    found = {}
    for module, module_flags in flags.FLAGS.flags_by_module_dict().items():
        if module.split(".")[0] in OWN_MODULES or module == sys.argv[0]:  # absl names the script run by its path
            found.update({flag.name: flag for flag in module_flags
                          if type(flag).__name__ != "_FlagAlias"})  # an alias is listed with its flag's name only
    return found


def describe(flag):
    default = flag.default_as_str if flag.default_as_str is not None else "none"
    if flag.flag_type() == "bool":
        default = "true" if flag.default else "false"
    return f"  --{flag.name}  (default: {default})\n" + textwrap.fill(
        flag.help or "", width=100, initial_indent="      ", subsequent_indent="      ")


def help_text(program, doc, groups):
    """The command's --help: its docstring, then its flags by group."""
    own = own_flags()
    placed = {name for names in groups.values() for name in names}
    sections = {title: [own[n] for n in names if n in own] for title, names in groups.items()}
    sections["other"] = [flag for name, flag in sorted(own.items()) if name not in placed]
    lines = [f"usage: {program} [flags]", "", (doc or "").strip(), ""]
    for title, group in sections.items():
        if group:
            lines += [f"{title}:", *(describe(flag) for flag in group), ""]
    lines.append("Flags of TensorFlow and absl: --helpfull. Flags may come from a file: --flagfile=PATH.")
    return "\n".join(lines)


def launch(main, doc, groups, recipes=False, argv=None):
    """Run `main` as a command (see the module docstring)."""
    argv = list(sys.argv if argv is None else argv)
    program = argv[0].rsplit("/", 1)[-1]
    if recipes:
        if any(arg.lstrip("-") == "list_recipes" for arg in argv[1:]):
            print(f"Recipes ({program} --recipe=NAME):\n{recipe_files.listing()}")
            return
        try:
            argv = recipe_files.expand_argv(argv)
        except (recipe_files.RecipeError, OSError) as e:
            sys.stderr.write(f"FATAL Flags parsing error: {e}\n")
            sys.exit(1)
    if any(arg in HELP_ARGUMENTS for arg in argv[1:]):
        print(help_text(program, doc, groups))
        return
    app.run(main, argv=argv, flags_parser=parse_flags)
