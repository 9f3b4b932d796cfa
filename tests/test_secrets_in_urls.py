"""A credential inside an endpoint URL (`http://user:key@host/v1`, `?api_key=`) is
redacted wherever a config is written or printed: eval, efficiency and perf."""

from __future__ import annotations

import json

from thinklens.cli import main
from thinklens.config import make_config
from thinklens.efficiency.settings import make_settings
from thinklens.mock_server import MockServerConfig, run_mock_server
from thinklens.perf.config import PerfConfig
from thinklens.redaction import redact_url

SECRET = "sk-url-secret-4242"


def test_redact_url_shapes():
    assert redact_url(f"http://user:{SECRET}@127.0.0.1:8000/v1") == "http://***@127.0.0.1:8000/v1"
    assert redact_url(f"https://{SECRET}@host/v1") == "https://***@host/v1"
    assert redact_url(f"https://host/v1?api-key={SECRET}&deployment=d1") == "https://host/v1?api-key=***&deployment=d1"
    for name in ("key", "api_key", "apikey", "token", "access_token", "sig"):
        assert SECRET not in redact_url(f"https://host/v1?{name}={SECRET}")
    assert redact_url("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"
    assert redact_url(None) is None


def test_eval_with_credentials_in_the_url_stores_none_of_them(tmp_path, capsys):
    data = tmp_path / "tiny.jsonl"
    data.write_text("\n".join(json.dumps({"problem": f"What is {i} + 1?", "answer": str(i + 1), "level": 1,
                                          "unique_id": f"u{i}"}) for i in range(3)) + "\n")
    with run_mock_server(MockServerConfig(answer=r"\boxed{2}", tokens=10)) as server:
        url = server.url.replace("http://", f"http://user:{SECRET}@")
        rc = main(["eval", "--api-url", url, "--model", "mock-model", "--datasets", "math_500", "--dataset-path",
                   f"math_500={data}", "--judge-url", f"http://j:{SECRET}@127.0.0.1:9/v1", "--judge-model", "j",
                   "--no-progress", "--output", str(tmp_path / "run")])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert SECRET not in out.out + out.err
    files = sorted(p for p in (tmp_path / "run").rglob("*") if p.is_file())
    assert {p.name for p in files} >= {"config.yaml", "report.json", "run.sqlite"}
    for path in files:  # the database (and its WAL) byte for byte, too
        assert SECRET.encode() not in path.read_bytes(), path.name
    stored = json.loads((tmp_path / "run" / "report.json").read_text())["config"]
    assert stored["api_url"] == [server.url.replace("http://", "http://***@")]
    assert stored["judge_config"]["api_url"] == "http://***@127.0.0.1:9/v1"


def test_config_efficiency_and_perf_public_forms_redact_urls():
    cfg = make_config(dict(model="m", api_url=[f"http://u:{SECRET}@h/v1", f"https://h2/v1?key={SECRET}"],
                           datasets=["math_500"]))
    assert cfg.api_url[0] == f"http://u:{SECRET}@h/v1"  # the request still uses it
    assert SECRET not in json.dumps(cfg.redacted())
    settings = make_settings(method="judge", judge={"api_url": f"http://u:{SECRET}@h/v1", "model": "j"})
    assert SECRET not in json.dumps(settings.public())
    perf = PerfConfig(urls=(f"http://u:{SECRET}@h/v1",), model="m", dataset="math_500")
    assert SECRET not in json.dumps(perf.public_dict())
