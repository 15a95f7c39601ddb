"""The plugin examples of docs/plugins.md ("Writing a plugin"), installed as real entry points, must run as
written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
from conftest import run_cli

PLUGINS_PAGE = Path(__file__).parents[1] / "docs" / "plugins.md"


def _plugin_examples() -> list[str]:
    text = PLUGINS_PAGE.read_text()
    assert text.startswith("# Writing a plugin\n")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    return [code for code in blocks if "@hookimpl" in code]  # the components, not the kit's test example


def test_readme_plugin_examples_install_and_run(tmp_path: Path):
    examples = _plugin_examples()
    assert len(examples) == 4  # model, mask, metric, dataset
    site = tmp_path / "site"
    for i, code in enumerate(examples):
        package = site / f"readme_plugin_{i}"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text(code)
        info = site / f"readme_plugin_{i}-0.1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: readme-plugin-{i}\nVersion: 0.1.0\n")
        (info / "entry_points.txt").write_text(f"[inpaintbench]\nreadme_{i} = readme_plugin_{i}\n")

    plugins = ",".join(f"readme_{i}" for i in range(4))
    env = {"PYTHONPATH": str(site)}
    listed = run_cli("plugins", "--json", plugins=plugins, **env)
    assert listed.returncode == 0 and listed.stderr == "", listed.stderr
    registers = {p["name"]: p["registers"] for p in json.loads(listed.stdout)}
    assert registers["readme_0"] == {"model": ["blur_fill"]}

    out = tmp_path / "run"
    result = run_cli(
        "run",
        "--model",
        "blur_fill,mean_fill",
        "--masks",
        "stripes,stripes:4",
        "--dataset",
        "noise",
        "--metrics",
        "max_error,psnr",
        "--option",
        "kernel=5",
        "--out",
        str(out),
        "--no-progress",
        plugins=plugins,
        **env,
    )
    assert result.returncode == 0, result.stderr
    results = pd.read_csv(out / "results.csv")
    assert len(results) == 2 * 2 * 8
    assert results["hole_ratio"].between(0.45, 0.55).all()
    assert results["max_error"].between(0, 1).all() and results["psnr"].notna().all()
    run = json.loads((out / "run.json").read_text())
    assert run["models"]["blur_fill"]["provenance"] == {"kernel": 5}
    assert run["metric_info"]["max_error"]["higher_is_better"] is False
