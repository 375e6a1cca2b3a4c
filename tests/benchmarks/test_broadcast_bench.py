"""benchmarks/broadcast.py: the figures it computes from its samples, the server flags it needs for a class
on one address, and its table (no browser: the benchmark itself is run by hand)."""
import pytest

from benchmarks.broadcast import (
    derive, first_frame_summary, frame_rates, report_markdown, sent_bytes, server_args, upload_mbit_s,
)
from webapp.config import Config


def test_sent_bytes_adds_each_links_growth_and_keeps_links_that_come_and_go():
    samples = [
        {"v1/out": 1000},
        {"v1/out": 1500, "v2/out": 300},  # v2 opened in between: all its 300 bytes were sent in the window
        {"v2/out": 900},  # v1 left: its 500 bytes up to the last sample still count
        {"v2/out": 100, "v2b/out": 50},  # v2's counter restarted under another id: no negative growth
    ]
    assert sent_bytes(samples) == 500 + 300 + 600 + 50


def test_upload_is_bits_per_second_over_the_sampled_time():
    samples = [(10.0, {"janus/out": 0}), (11.0, {"janus/out": 125_000}), (12.0, {"janus/out": 250_000})]
    assert upload_mbit_s(samples) == pytest.approx(1.0)  # 250 kB in 2 s
    assert upload_mbit_s(samples[:1]) is None


def test_frame_rates_leave_out_viewers_that_cannot_be_read():
    start = [(100, 0.0), (None, 0.0), (50, 1.0)]
    end = [(200, 10.0), (80, 10.0), (None, 10.0), (7, 10.0)]  # the fourth joined in between
    assert frame_rates(start, end) == [pytest.approx(10.0)]


def test_first_frame_summary_of_no_viewer_is_empty_not_an_error():
    assert first_frame_summary([]) == {"median": None, "max": None, "samples": []}
    assert first_frame_summary([1.0, 3.0, 2.0])["median"] == 2.0


def _config(args: list[str]) -> Config:
    """The server's configuration from server_args' flags, checked as `vbg serve` checks them."""
    flags = dict(zip(args[::2], args[1::2]))
    numbers = {name.lstrip("-").replace("-", "_"): int(value) for name, value in flags.items() if value.isdigit()}
    return Config.from_env({}, **numbers, sfu=flags.get("--sfu", "none"), janus_url=flags.get("--janus-url"))


@pytest.mark.parametrize("viewers", [1, 10, 30, 100])
@pytest.mark.parametrize("janus_url", [None, "http://127.0.0.1:8088/janus"])
def test_the_server_lets_one_address_hold_the_presenter_and_every_viewer(viewers, janus_url):
    config = _config(server_args(viewers, janus_url))  # raises if a cap reaches what the threads allow
    assert config.room_limits().max_viewers >= viewers
    assert config.sockets_per_address() >= viewers + 1
    if janus_url:
        assert config.janus_limits().max_sessions_per_address >= viewers + 1


def _step(viewers, cpu, fps, upload, receiving=None):
    return {"viewers": viewers, "cpu_cores": cpu, "presenter_fps": fps, "upload_mbit_s": upload,
            "viewers_receiving": viewers if receiving is None else receiving}


def test_per_viewer_figures_divide_by_the_viewers_whose_picture_moved():
    steps = [_step(0, 1.0, 20.0, 0.0), _step(4, 1.5, 15.0, 3.0, receiving=3)]
    derive(steps)
    assert steps[0]["cpu_ms_per_frame"] == pytest.approx(50.0)
    assert steps[1]["upload_mbit_s_per_viewer"] == pytest.approx(1.0)
    assert steps[1]["cpu_ms_per_frame_per_viewer"] == pytest.approx((100.0 - 50.0) / 3)


def test_the_table_puts_the_modes_side_by_side_and_counts_viewers_without_a_frame():
    p2p = [_step(0, 1.0, 20.0, 0.0), _step(2, 1.2, 18.0, 2.0)]
    janus = [_step(0, 1.0, 20.0, 1.0), _step(2, 1.0, 20.0, 1.0, receiving=1)]
    for steps in (p2p, janus):
        derive(steps)
        steps[1]["viewer_fps"] = {"median": 18.0, "min": 17.5}
    janus[1]["janus_cpu_cores"] = 0.05
    result = {"steps": p2p, "time_to_first_frame_s": first_frame_summary([1.0, 1.2]),
              "janus": {"steps": janus, "time_to_first_frame_s": first_frame_summary([0.9])},
              "manifest": {"modes": {"p2p": {"viewers_opened": 2, "viewers_failed": 0},
                                     "janus": {"viewers_opened": 2, "viewers_failed": 1, "error": "TimeoutError: x"}}}}
    lines = report_markdown(result).splitlines()
    assert [line.split(" | ")[:2] for line in lines[2:6]] == [
        ["| 0", "peer to peer"], ["| 0", "Janus"], ["| 2", "peer to peer"], ["| 2", "Janus"]]
    assert lines[5].endswith("| 1 | 1.00 | 1.00 | 1.00 | 50.0 | 20.0 | 18.0 (17.5) | 0.05 |")
    assert "Janus: time to first frame median 0.90 s, max 0.90 s; 1 of 2 viewers got no frame." in lines
    assert "Janus stopped early: TimeoutError: x" in lines
