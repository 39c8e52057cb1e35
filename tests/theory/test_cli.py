from __future__ import annotations

import json

import pytest

from unisel.cli import main


def test_cli_quick_all_matches_api_byte_for_byte(
    tmp_path, quick_dir, quick_results, capsys
) -> None:
    out = tmp_path / "cli"
    assert main(["theory", "all", "-o", str(out), "--quick", "--seed", "0", "--quiet"]) == 0
    text = capsys.readouterr().out
    for name in ("uniformity", "convergence", "approximation"):
        produced = (out / f"{name}.json").read_bytes()
        # Same seed -> byte-identical JSON (the fixture ran through the Python API).
        assert produced == (quick_dir / f"{name}.json").read_bytes()
        assert (out / f"{name}.png").is_file()
        data = json.loads(produced)
        assert data["name"] == name and data["settings"]["seed"] == 0
        assert all({"prediction", "value", "p_value", "agrees"} <= set(c) for c in data["checks"])
        assert f"{name}.json" in text
    n_checks = sum(len(r.checks) for r in quick_results.values())
    assert text.count("agrees") + text.count("DISAGREES") == n_checks


def test_cli_errors(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["theory", "nonsense", "-o", str(tmp_path)])
    assert exc.value.code == 2
    assert main(["theory", "uniformity", "-o", str(tmp_path), "--seed", "-1", "--quiet"]) == 2
    assert "--seed" in capsys.readouterr().err
    a_file = tmp_path / "f"
    a_file.write_text("x")
    assert main(["theory", "uniformity", "-o", str(a_file), "--quick", "--quiet"]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.json"))
