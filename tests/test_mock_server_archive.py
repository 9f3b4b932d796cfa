"""The mock server replays a tar.gz of generation.json members (SGLang eval output)."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from thinklens.errors import ConfigError
from thinklens.mock_server.replay import load_replay_files


def _archive(path, members: dict[str, object]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            raw = json.dumps(data).encode()
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))


def test_generation_json_members_replay_with_the_prefilled_think(tmp_path):
    path = tmp_path / "gens.tar.gz"
    _archive(path, {
        "run/p_1/generation.json": [{"input_text": "What is 1+1?", "real_answer": "\nadd them</think>\n\\boxed{2}"}],
        "run/p_2/generation.json": [{"input_text": "What is 2+2?", "real_answer": "\nhmm, still thinking"}],
        "run/p_2/notes.txt": "ignored",
    })
    first, second = load_replay_files([path])
    assert (first.problem, first.reasoning.strip(), first.content.strip()) == ("What is 1+1?", "add them", "\\boxed{2}")
    assert first.finish_reason is None and first.source.endswith("run/p_1/generation.json[0]")
    # no </think>: the trace was cut by the token cap, all reasoning
    assert (second.reasoning.strip(), second.content, second.finish_reason) == ("hmm, still thinking", "", "length")


def test_bad_archives_are_clear_errors(tmp_path):
    empty = tmp_path / "empty.tar.gz"
    _archive(empty, {})
    with pytest.raises(ConfigError, match="holds no .json member"):
        load_replay_files([empty])
    broken = tmp_path / "broken.tgz"
    broken.write_bytes(b"not a tar")
    with pytest.raises(ConfigError, match="cannot read replay archive"):
        load_replay_files([broken])
