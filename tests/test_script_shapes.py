"""The Python entry points work in every shape a user writes them, with the CLI's results.

The EvalScope guide writes `run_task(TaskConfig(...))` at module level with no
`if __name__ == "__main__":` guard.  Grading worker processes must never import that
script again (each import would start another evaluation).  Each shape runs in its own
interpreter, against a mock server, with a deadline; invented questions only.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from thinklens.cli import main
from thinklens.mock_server import MockServerConfig, run_mock_server

SRC = Path(__file__).resolve().parents[1] / "src"
DEADLINE = 180  # seconds per script: generous for a loaded machine; a recursing script never ends

# The answer needs real algebra (sympy in a grading worker), not the in-process quick path.
ANSWER = r"The answer is \boxed{\frac{4}{2}+0\cdot x}"


def _tiny_math(path: Path, n: int = 4) -> Path:
    rows = [{"problem": f"What is {i} + {i}?", "answer": f"\\frac{{{2 * i}}}{{1}}", "level": 1, "subject": "Algebra",
             "unique_id": f"shape/{i}.json"} for i in range(n)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


@pytest.fixture(scope="module")
def server():
    with run_mock_server(MockServerConfig(answer=ANSWER, tokens=40)) as handle:
        yield handle


@pytest.fixture(scope="module")
def cli_report(server, tmp_path_factory):
    base = tmp_path_factory.mktemp("cli")
    data = _tiny_math(base / "tiny.jsonl")
    out = base / "run"
    rc = main(["eval", "--api-url", server.url, "--model", "m", "--datasets", "math_500", "--dataset-path",
               f"math_500={data}", "--max-tokens", "100000", "--no-progress", "--output", str(out)])
    assert rc == 0
    return data, _comparable(out)


def _comparable(run_dir: Path) -> dict:
    report = json.loads((run_dir / "report.json").read_text())
    return {"rows": report["rows"], "subsets": report["subsets"]}


def _guide_script(url: str, data: Path) -> str:
    # The guide's shape: module level, no main guard, no output folder (outputs/<time>-<model>).
    return textwrap.dedent(f"""\
        from thinklens import TaskConfig, run_task

        task_config = TaskConfig(
            api_url={url!r}, model="m", eval_type="service", datasets=["math_500"],
            dataset_args={{"math_500": {{"local_path": {str(data)!r}}}}}, eval_batch_size=4,
            generation_config={{"max_tokens": 100000, "n": 1}}, progress=False,
        )
        run_task(task_config)
        """)


def _run(argv: list[str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(stdin, timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the script and every process it started
        out, err = proc.communicate()
        pytest.fail(f"{argv[1:2]} did not finish in {DEADLINE} s; run folders: "
                    f"{sorted(p.name for p in (cwd / 'outputs').glob('*'))}\n{err[-2000:]}")
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


SHAPES = {
    "script": lambda script, path: ([sys.executable, str(path)], None),
    "dash-c": lambda script, path: ([sys.executable, "-c", script], None),
    "stdin": lambda script, path: ([sys.executable, "-"], script),
    "runpy": lambda script, path: ([sys.executable, "-c", f"import runpy; runpy.run_path({str(path)!r})"], None),
    # A notebook cell: code exec'd in a namespace of its own, __main__ being the kernel's.
    "cell": lambda script, path: ([sys.executable, "-c", f"exec(open({str(path)!r}).read(), {{}})"], None),
    "run-name-main": lambda script, path: (
        [sys.executable, "-c", f"import runpy; runpy.run_path({str(path)!r}, run_name='__main__')"], None),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_guide_shaped_script_runs_once_with_the_cli_report(shape, server, cli_report, tmp_path):
    data, expected = cli_report
    script = _guide_script(server.url, data)
    path = tmp_path / "guide_eval.py"
    path.write_text(script)
    argv, stdin = SHAPES[shape](script, path)
    result = _run(argv, tmp_path, stdin)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "bootstrapping phase" not in result.stderr
    runs = sorted((tmp_path / "outputs").iterdir())
    assert len(runs) == 1, [r.name for r in runs]  # exactly one evaluation, not one per worker
    assert _comparable(runs[0]) == expected


def test_guide_shaped_efficiency_script(server, cli_report, tmp_path):
    """The guide's second step, at module level too: `thinklens.efficiency.run_task`
    grades steps in the same worker processes."""
    data, _ = cli_report
    run = tmp_path / "run"
    assert main(["eval", "--api-url", server.url, "--model", "m", "--datasets", "math_500", "--dataset-path",
                 f"math_500={data}", "--max-tokens", "100000", "--no-progress", "--output", str(run)]) == 0
    script = textwrap.dedent(f"""\
        from thinklens.efficiency import run_task

        model_config = dict(report_path={str(run)!r}, model_name="m", tokenizer_path=None, dataset_name="math_500",
                            subsets=["Level 1"], split_strategies="separator")
        run_task(model_config, output_dir={str(tmp_path / 'figs')!r}, max_tokens=8000, count=100, progress=False,
                 figures=False)
        """)
    path = tmp_path / "guide_eff.py"
    path.write_text(script)
    result = _run([sys.executable, str(path)], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "bootstrapping phase" not in result.stderr
    from_script = json.loads((run / "efficiency.json").read_text())
    assert main(["efficiency", str(run), "--no-figures", "--no-progress", "--subsets", "Level 1", "--model-name", "m"]) == 0
    from_cli = json.loads((run / "efficiency.json").read_text())
    assert from_script["subsets"] == from_cli["subsets"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figs", "guide_eff.py", "run"]
