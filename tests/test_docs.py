"""The documentation holds: the README is a short front door, every relative link resolves, the README's
results table is the results page's, and the library guide's example runs as written."""

import re
import warnings

import pytest

from tests.conftest import REPO_ROOT

PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def anchors(path):
    """GitHub's anchors of a markdown file's headings."""
    headings = re.findall(r"^#+ (.+)$", path.read_text(), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_the_readme_is_at_most_150_lines():
    assert len((REPO_ROOT / "README.md").read_text().splitlines()) <= 150


def prose_blocks(text):
    """The paragraphs and list items of a markdown page, without code blocks, tables and HTML comments."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    for block in re.split(r"\n\s*\n", text):
        lines = [line for line in block.splitlines() if not line.startswith(("|", "<!--", "#"))]
        yield from (" ".join(item.split()) for item in re.split(r"\n(?=- )", "\n".join(lines)) if item.strip())


@pytest.mark.parametrize("page", ["README.md", "docs/results.md"])
def test_no_paragraph_of_the_front_door_or_the_results_page_is_over_100_words(page):
    long = [block[:80] for block in prose_blocks((REPO_ROOT / page).read_text()) if len(block.split()) > 100]
    assert long == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_relative_link_resolves(page):
    for target in LINK.findall(page.read_text()):
        if re.match(r"^[a-z]+:", target):
            continue  # http(s), mailto
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.exists(), f"{page.name}: link {target} does not resolve"
        if anchor and resolved.suffix == ".md":
            assert anchor in anchors(resolved), f"{page.name}: no heading #{anchor} in {path or page.name}"


def test_every_dated_note_is_in_the_index_newest_first():
    notes_dir = REPO_ROOT / "docs" / "experiments"
    notes = sorted((p.name for p in notes_dir.glob("20*.md")), reverse=True)
    listed = [target for target in LINK.findall((notes_dir / "README.md").read_text()) if target.startswith("20")]
    assert listed == notes


def test_the_readme_shows_the_results_pages_table_and_its_findings():
    """The table under the README's marker, and the bullets right after it, are the results page's of the section
    the marker names."""
    from benchmarks.readme_table import README_MARKER, table_block

    readme = (REPO_ROOT / "README.md").read_text().splitlines()
    page = (REPO_ROOT / "docs" / "results.md").read_text().splitlines()
    marker, = [i for i, line in enumerate(readme) if line.startswith(README_MARKER)]
    section, = re.findall(r'from "([^"]+)"', readme[marker])
    first, end = table_block(readme, marker + 1)
    source_first, source_end = table_block(page, page.index(section))
    assert readme[first:end] == page[source_first:source_end]


@pytest.mark.large
def test_the_library_guides_example_runs_without_a_warning(capsys):
    text = (REPO_ROOT / "docs" / "library.md").read_text()
    code, = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # what a reader copying it would see
        exec(compile(code, "docs/library.md", "exec"), {})
    assert "top-1 " in capsys.readouterr().out


def test_the_default_recipe_is_the_one_the_results_page_recommends():
    """`./run train` and the README's account of it run one flagfile: the recipe of the row the 200-epoch table
    recommends from its kept runs once its verdict is final, and the AuxLT recipe of the 30-epoch comparison
    until then (issue 38: "make the default whatever wins")."""
    from benchmarks import headline
    from benchmarks.runs import RESULT_SETS
    from benchmarks.variants import AUXLT_RECIPE, RECIPES

    tree = REPO_ROOT / "docs" / "results"
    rows = headline.collect(str(tree / RESULT_SETS["headline"]))
    row = headline.recommendation(rows, headline.collect_search(str(tree))) or AUXLT_RECIPE
    assert row in RECIPES, f"the page recommends {row}, and no recipe of benchmarks.variants.RECIPES trains it"
    script = (REPO_ROOT / "run").read_text()  # its usage comment and its train case
    assert set(re.findall(r"--flagfile=(\S+)", script)) == {RECIPES[row]}
    readme = (REPO_ROOT / "README.md").read_text()
    assert re.findall(r"`\./run train \[flags\]` is `python train\.py --flagfile=(\S+)", readme) == [RECIPES[row]]
