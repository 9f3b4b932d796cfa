"""`thinklens perf` measured against the wire: packet timestamps on loopback.

tcpdump on `lo` stamps each packet inside the sender's `write()` (the kernel's
packet tap on transmit), so the capture says when a request really left the client
and when each response byte really left the server.  This bench runs the mock
server and tcpdump pinned to one CPU and `thinklens perf` to the other, captures
every packet of the run, pairs each request with perf's row by the completion id in
the response, and prints per-request error distributions (p50 / p90 / p99, ms):

- TTFT error: perf's `ttft` minus (first token packet - request's first packet)
- E2E error:  perf's `e2e`  minus (`[DONE]` packet - request's first packet)
- send lag:   request's first packet - perf's `start` (how long after its stamp the
              request left: should be ~0; large means the stamp was taken early)
- read lag:   perf's first-token time (`start + ttft`) - first token packet (how late
              the client read a token that was already on the wire)

at concurrency 1, 32 and 256 with the first wave measured (no warm-up requests, no
ramp-up: the worst case for connection set-up, and synchronised waves: every request
of a wave ends at once; `--ramp-up` spreads the workers over one request's duration),
then ITL against a known per-token delay with 1 and 4 tokens per chunk.

    PYTHONPATH=src python bench/bench_perf_wire.py            # ~1 minute; needs root and tcpdump
    PYTHONPATH=src python bench/bench_perf_wire.py --quick

Install tcpdump on Debian with `apt-get update && apt-get install -y tcpdump`.
Without tcpdump or the right to capture, it says why and exits 0 (a skip).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: tests.helpers
from tests.helpers.calibration import MockServerProcess, scheduling_noise  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PCTS = (50, 90, 99)


# ---- pcap ---------------------------------------------------------------------------
@dataclass
class Segment:
    ts: float  # CLOCK_REALTIME seconds
    src_port: int
    dst_port: int
    seq: int
    payload: bytes


def read_pcap(path: Path) -> list[Segment]:
    """TCP segments with a payload, from a classic pcap file (micro- or nanosecond
    stamps; Ethernet, Linux cooked v1/v2 or BSD loopback link types; IPv4 and IPv6)."""
    data = path.read_bytes()
    if len(data) < 24:
        return []
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError(f"{path}: not a classic pcap file (pcapng is not read here)")
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    link_len = {1: 14, 113: 16, 276: 20, 0: 4, 101: 0}.get(linktype)
    if link_len is None:
        raise ValueError(f"{path}: link type {linktype} is not handled")
    rec = struct.Struct(endian + "IIII")
    out: list[Segment] = []
    off = 24
    frac = 1e-9 if nano else 1e-6
    while off + 16 <= len(data):
        sec, sub, incl, _orig = rec.unpack_from(data, off)
        off += 16
        pkt = data[off : off + incl]
        off += incl
        p = pkt[link_len:]
        if not p:
            continue
        version = p[0] >> 4
        if version == 4:
            ihl = (p[0] & 0x0F) * 4
            if p[9] != 6:
                continue
            total = struct.unpack("!H", p[2:4])[0]
            tcp = p[ihl:total]
        elif version == 6:
            if p[6] != 6:  # no extension headers on loopback TCP
                continue
            plen = struct.unpack("!H", p[4:6])[0]
            tcp = p[40 : 40 + plen]
        else:
            continue
        if len(tcp) < 20:
            continue
        sport, dport, seq = struct.unpack("!HHI", tcp[:8])
        doff = (tcp[12] >> 4) * 4
        payload = tcp[doff:]
        if payload:
            out.append(Segment(sec + sub * frac, sport, dport, seq, bytes(payload)))
    return out


# ---- requests on the wire -----------------------------------------------------------
_ID = re.compile(rb'"id":"([^"]+)"')
_TOKEN = re.compile(rb'"delta":\{"(?:content|reasoning_content|reasoning)":"[^"]')


@dataclass
class WireRequest:
    sent: float  # the request's first packet (monotonic, converted)
    first_token: float | None = None
    done: float | None = None
    response_id: str | None = None
    _buf: bytearray = field(default_factory=bytearray, repr=False)


def wire_requests(segments: list[Segment], server_port: int, mono_offset: float) -> dict[str, WireRequest]:
    """Per completion id: when its request left and its first token and [DONE] arrived
    on the wire (HTTP/1.1 keep-alive: one request at a time per connection)."""
    seen: set[tuple[int, int, int, int]] = set()
    current: dict[int, WireRequest] = {}  # client port -> request in progress
    out: dict[str, WireRequest] = {}
    for s in segments:
        key = (s.src_port, s.dst_port, s.seq, len(s.payload))
        if key in seen:  # a packet seen twice on lo, or a retransmission
            continue
        seen.add(key)
        t = s.ts - mono_offset
        if s.dst_port == server_port:
            if s.payload.startswith(b"POST "):
                current[s.src_port] = WireRequest(sent=t)
            continue
        if s.src_port != server_port:
            continue
        req = current.get(s.dst_port)
        if req is None:
            continue
        req._buf += s.payload
        buf = req._buf
        if req.response_id is None:
            m = _ID.search(buf)
            if m:
                req.response_id = m.group(1).decode()
        if req.first_token is None and _TOKEN.search(buf):
            req.first_token = t
        if req.done is None and b"data: [DONE]" in buf:
            req.done = t
            if req.response_id:
                out[req.response_id] = req
            current.pop(s.dst_port, None)
        if len(buf) > 4096 and req.first_token is not None:
            del buf[: len(buf) - 64]  # keep the tail: [DONE] may straddle two packets
    return out


def clock_offset() -> float:
    """CLOCK_REALTIME - CLOCK_MONOTONIC (the tightest of a few paired readings)."""
    best = None
    for _ in range(50):
        a = time.monotonic()
        r = time.time()
        b = time.monotonic()
        if best is None or b - a < best[0]:
            best = (b - a, r - (a + b) / 2)
    assert best is not None
    return best[1]


class Capture:
    """tcpdump on loopback for one TCP port, writing a pcap with nanosecond stamps."""

    def __init__(self, port: int, path: Path, cpu: int | None):
        cmd = [
            "tcpdump", "-i", "lo", "-n", "-U", "-s", "0", "-B", "65536", "-Z", "root",
            "--time-stamp-precision=nano", "-w", str(path), "tcp", "port", str(port),
        ]
        if cpu is not None and shutil.which("taskset"):
            cmd = ["taskset", "-c", str(cpu), *cmd]
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        line = self.proc.stderr.readline() if self.proc.stderr else ""
        if "listening on" not in line:
            self.proc.kill()
            raise RuntimeError(f"tcpdump did not start: {line.strip()}")
        self.path = path
        self.report = ""

    def stop(self) -> str:
        # tcpdump drops what it has not read yet when interrupted: wait until the file
        # stops growing (the last packets of the run are in it), then stop it.
        last, stable_since, deadline = -1, time.monotonic(), time.monotonic() + 10
        while time.monotonic() < deadline:
            size = self.path.stat().st_size if self.path.exists() else 0
            if size != last:
                last, stable_since = size, time.monotonic()
            elif time.monotonic() - stable_since > 1.5:  # tcpdump may wait for its CPU a while
                break
            time.sleep(0.05)
        self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        self.report = " ".join(line.strip() for line in (err or "").splitlines() if "packets" in line)
        return self.report


def capture_unavailable() -> str | None:
    if not shutil.which("tcpdump"):
        return "tcpdump is not installed (apt-get update && apt-get install -y tcpdump)"
    if not sys.platform.startswith("linux"):
        return "the capture on `lo` needs Linux"
    if os.geteuid() != 0:
        return "capturing packets needs root (or CAP_NET_RAW)"
    return None


# ---- the runs -----------------------------------------------------------------------
def pinned(cpu: int | None, cmd: list[str]) -> list[str]:
    return ["taskset", "-c", str(cpu), *cmd] if cpu is not None and shutil.which("taskset") else cmd


def perf_cmd(url: str, prompts: Path, out: Path, *, concurrency: int, requests: int, tokens: int,
             ramp_up: float = 0.0, extra: list[str] = ()) -> list[str]:
    return [
        sys.executable, "-m", "thinklens", "perf", "--url", url, "--model", "mock-model",
        "--concurrency", str(concurrency), "--requests", str(requests), "--dataset-path", str(prompts),
        "--output-tokens", str(tokens), "--ignore-eos", "--output", str(out), "--no-figures", "--quiet",
        "--warmup", "0", "--ramp-up", str(ramp_up), *extra,
    ]


def run(cmd: list[str], timeout: float = 600) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:8])}... exited {done.returncode}: {done.stderr[-3000:]}")


def pct(values: list[float]) -> list[float]:
    return [float(np.percentile(values, q)) for q in PCTS] if values else [float("nan")] * len(PCTS)


def fmt(values: list[float]) -> str:
    return " / ".join(f"{v * 1e3:+.2f}" for v in pct(values))


def wire_level(args: argparse.Namespace, tmp: Path, prompts: Path, conc: int, ttft: float, tpot: float,
               tokens: int, requests: int) -> dict:
    with MockServerProcess("--ttft", str(ttft), "--tpot", str(tpot), "--tokens", str(tokens),
                           cpu=args.server_cpu) as server:
        port = int(server.url.rsplit(":", 1)[1].split("/", 1)[0])
        pcap = tmp / f"c{conc}.pcap"
        cap = Capture(port, pcap, args.server_cpu)
        off0 = clock_offset()
        out = tmp / f"perf_c{conc}"
        try:
            ramp = (ttft + (tokens - 1) * tpot) if args.ramp_up and conc > 1 else 0.0
            run(pinned(args.client_cpu, perf_cmd(server.url, prompts, out, concurrency=conc,
                                                 requests=requests, tokens=tokens, ramp_up=ramp)))
        finally:
            cap_report = cap.stop()
        off = (off0 + clock_offset()) / 2
    wire = wire_requests(read_pcap(pcap), port, off)
    rows = [json.loads(line) for line in (out / "requests.jsonl").read_text().splitlines() if line.strip()]
    summary = json.loads((out / "summary.json").read_text())["levels"][0]
    errs: dict[str, list[float]] = {"ttft": [], "e2e": [], "send_lag": [], "read_lag": []}
    unmatched = 0
    for r in rows:
        if r.get("phase") != "measure" or r.get("status") != "ok":
            continue
        w = wire.get(r.get("id") or "")
        if w is None or w.first_token is None or w.done is None:
            unmatched += 1
            continue
        errs["ttft"].append(r["ttft"] - (w.first_token - w.sent))
        errs["e2e"].append(r["e2e"] - (w.done - w.sent))
        errs["send_lag"].append(w.sent - r["start"])
        errs["read_lag"].append(r["start"] + r["ttft"] - w.first_token)
    conns = summary.get("connections") or {}
    result = {
        "concurrency": conc, "n": len(errs["ttft"]), "unmatched": unmatched, "capture": cap_report,
        "loop_lag_p99_ms": summary["generator"].get("loop_lag_p99", 0) * 1e3,
        "connections": conns,
        **{k: dict(zip(("p50", "p90", "p99"), pct(v))) for k, v in errs.items()},
    }
    print(f"{conc:5d} {len(errs['ttft']):5d}  {fmt(errs['ttft']):>26s}  {fmt(errs['e2e']):>26s}  "
          f"{fmt(errs['send_lag']):>26s}  {fmt(errs['read_lag']):>26s}  "
          f"{result['loop_lag_p99_ms']:6.2f}  {conns.get('opened_during_measure', '-')!s:>5s}")
    if unmatched:
        print(f"      ({unmatched} measured rows not found on the wire; capture: {cap_report})")
    return result


def itl_level(args: argparse.Namespace, tmp: Path, prompts: Path, k: int) -> dict:
    tpot, tokens = 0.01, 64
    with MockServerProcess("--ttft", "0.05", "--tpot", str(tpot), "--tokens", str(tokens),
                           "--tokens-per-chunk", str(k), cpu=args.server_cpu) as server:
        out = tmp / f"itl_k{k}"
        run(pinned(args.client_cpu, perf_cmd(server.url, prompts, out, concurrency=4,
                                             requests=16 if args.quick else 32, tokens=tokens,
                                             extra=["--continuous-usage-stats"])))
    lv = json.loads((out / "summary.json").read_text())["levels"][0]
    itl = lv["itl"]
    src = lv["tokens"].get("itl_source")
    print(f"  {k} token(s) per chunk, true {tpot * 1e3:.1f} ms/token: ITL p50 {itl['p50'] * 1e3:6.2f} ms, "
          f"p99 {itl['p99'] * 1e3:6.2f} ms (itl_source {src})")
    return {"tokens_per_chunk": k, "true": tpot, "p50": itl["p50"], "p99": itl["p99"], "itl_source": src}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--server-cpu", type=int, default=0, help="CPU of the mock server and tcpdump")
    ap.add_argument("--client-cpu", type=int, default=1, help="CPU of thinklens perf")
    ap.add_argument("--levels", type=int, nargs="+", default=[1, 32, 256])
    ap.add_argument("--no-itl", action="store_true")
    ap.add_argument("--ramp-up", action="store_true",
                    help="start the workers over one request's duration (no synchronised waves; the ramp is "
                         "then measured too, since there is no warm-up)")
    ap.add_argument("--json", default=None, metavar="FILE")
    ap.add_argument("--keep", default=None, metavar="DIR", help="keep the captures and perf outputs here")
    args = ap.parse_args()
    why = capture_unavailable()
    if why:
        print(f"skipped: {why}")
        return 0
    if (os.cpu_count() or 1) < 2:
        args.server_cpu = args.client_cpu = None
    noise = scheduling_noise()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; timer lateness p50 "
          f"{noise['p50'] * 1e3:.3f} ms, p99 {noise['p99'] * 1e3:.3f} ms; server+tcpdump on CPU {args.server_cpu}, "
          f"perf on CPU {args.client_cpu}")
    cases = {1: (0.1, 0.01, 16, 40), 32: (0.2, 0.02, 16, 256), 256: (0.5, 0.05, 16, 512)}
    if args.quick:
        cases = {1: (0.1, 0.01, 8, 20), 32: (0.2, 0.02, 8, 96), 256: (0.5, 0.05, 8, 256)}
    results: dict = {"load_average": os.getloadavg(), "scheduling_noise": noise, "levels": [], "itl": []}
    with tempfile.TemporaryDirectory(prefix="bench_perf_wire_") as d:
        tmp = Path(args.keep or d)
        tmp.mkdir(parents=True, exist_ok=True)
        prompts = tmp / "prompts.txt"
        prompts.write_text("".join(f"Question {i}: what is {i} plus {i}?\n" for i in range(2000)), encoding="utf-8")
        how = "workers ramped up over one request" if args.ramp_up else "synchronised waves, the first one measured"
        print(f"\n== error against the wire, ms (p50 / p90 / p99); {how}")
        print(f"{'conc':>5s} {'n':>5s}  {'TTFT - wire':>26s}  {'E2E - wire':>26s}  {'send lag (pkt - start)':>26s}  "
              f"{'read lag (read - pkt)':>26s}  {'looplag':>6s}  {'conns':>5s}")
        for conc in args.levels:
            ttft, tpot, tokens, requests = cases.get(conc, (0.2, 0.02, 16, max(4 * conc, 64)))
            results["levels"].append(wire_level(args, tmp, prompts, conc, ttft, tpot, tokens, requests))
        if not args.no_itl:
            print("\n== ITL against a known per-token delay (mock server, --continuous-usage-stats)")
            for k in (1, 4):
                results["itl"].append(itl_level(args, tmp, prompts, k))
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
