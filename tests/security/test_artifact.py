"""The action uploads only the files EdgeGate writes: a file a model left in the output folder,
or a worker's raw log, is not in the artifact."""

from pathlib import Path

import yaml

from edgegate.cli.pr_number import PR_NUMBER_FILE

ROOT = Path(__file__).resolve().parents[2]
OUT = "${{ runner.temp }}/edgegate"


def upload_patterns() -> list[str]:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    (step,) = [s for s in action["runs"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    return step["with"]["path"].splitlines()


def test_the_artifact_holds_results_report_pr_number_and_candidates_only(tmp_path):
    out = tmp_path / "edgegate"
    written = {  # what `edgegate ci --out OUT` leaves there (cli/ci.py, run/check.py)
        "results.json": "{}",
        "report.md": "# EdgeGate",
        PR_NUMBER_FILE: "7\n",
        "candidates/digits/int8.tflite": "TFL3",
        "candidates/digits/base/float32.tflite": "TFL3",
        "candidates/logs/worker-1.log": "Traceback ... ghs_secret",
        "candidates/digits/stolen.txt": "GITHUB_TOKEN=ghs_secret",  # what a hostile model would write
        "environ": "GITHUB_TOKEN=ghs_secret",
    }
    for name, text in written.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text)

    uploaded = set()
    for pattern in upload_patterns():
        assert pattern.startswith(OUT + "/")
        uploaded |= {p.relative_to(out).as_posix() for p in out.glob(pattern[len(OUT) + 1 :]) if p.is_file()}

    assert uploaded == {
        "results.json",
        "report.md",
        PR_NUMBER_FILE,
        "candidates/digits/int8.tflite",
        "candidates/digits/base/float32.tflite",
    }
