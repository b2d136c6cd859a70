"""docs/translation.md: the compatibility matrix is the code's (its code blocks run in tests/test_docs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from metricscore.translation import matrix

DOC = Path(__file__).parent.parent / "docs" / "translation.md"


def test_the_committed_matrix_is_the_generated_one() -> None:
    document = DOC.read_text(encoding="utf-8")
    assert matrix.replace_generated(document, matrix.render()) == document, (
        "docs/translation.md is stale: python -m metricscore.translation.matrix --write docs/translation.md"
    )


def test_the_matrix_states_the_main_mappings() -> None:
    generated = matrix.render()
    assert "| Statsig `sum` of `metadata[metadataKey]` | `sum` | `SUM` | · |" in generated
    assert "| Sequence `UNIQUE` | *refused* | · | `event_count_custom`, events `count_distinct` |" in generated
    assert "| Statsig `mean` | *refused* | *refused* | · |" in generated


def test_check_and_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "translation.md"
    stale.write_text(f"# Title\n\n{matrix.BEGIN}\nold\n{matrix.END}\nafter\n", encoding="utf-8")
    assert matrix.main(["--check", str(stale)]) == 1
    assert matrix.main(["--write", str(stale)]) == 0
    assert matrix.main(["--check", str(stale)]) == 0
    text = stale.read_text(encoding="utf-8")
    assert text.startswith("# Title\n") and text.endswith("after\n") and "old" not in text
    (tmp_path / "plain.md").write_text("no markers\n", encoding="utf-8")
    assert matrix.main(["--check", str(tmp_path / "plain.md")]) == 2
    assert "markers missing" in capsys.readouterr().err
