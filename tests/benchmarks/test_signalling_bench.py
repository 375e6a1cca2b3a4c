"""benchmarks/signalling.py: a tiny run of both parts counts every signal and writes its report."""
import json

import pytest

from benchmarks import signalling


@pytest.mark.slow
def test_a_small_run_delivers_every_signal_and_writes_the_report(tmp_path, capsys):
    out = tmp_path / "signalling.json"
    code = signalling.main(["--rooms", "2", "--viewers", "3", "--signals", "2", "--ramp-s", "0.2", "--spread-s", "0.2",
                            "--throughput-messages", "300", "--runs", "1", "--out", str(out)])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["throughput"]["runs"][0]["arrived"] == 300 and report["throughput"]["runs"][0]["in_order"]
    (run,) = report["load"]
    assert run["sockets"] == 8 and run["viewers_joined"] == 6
    assert (run["signals_expected"], run["signals_delivered"]) == (24, 24)
    assert run["signals_lost"] == run["misrouted"] == run["duplicated"] == 0
    assert run["peer_left_seen"] == 6 and run["rooms_ended"] == 2 and run["completed"]
    assert "| signals delivered / expected | 24 / 24 |" in capsys.readouterr().out
