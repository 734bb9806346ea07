from pathlib import Path

from rostra.config.env import SETTINGS

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_readme_documents_every_setting():
    missing = [s.env for s in SETTINGS if f"`{s.env}`" not in README]
    assert not missing, f"document these settings in README.md: {missing}"


def test_readme_names_the_two_commands():
    assert "make run" in README and "make test" in README
