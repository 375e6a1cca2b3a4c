"""webapp/config.py and the application factory."""
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webapp import create_app
from webapp.cli import main
from webapp.config import (
    DEFAULT_JANUS_URL, DEFAULT_PORT, HTTP_RESERVED_THREADS, MAX_REQUEST_BODY_BYTES, MIN_THREADS, SFU_KINDS, Config,
    TestConfig,
)
from webapp.rooms.registry import RoomLimits


def test_defaults_serve_localhost_with_the_shipped_model():
    config = Config.from_env(environ={})
    assert (config.host, config.port, config.tls) == ("127.0.0.1", DEFAULT_PORT, False)
    # WASM gets the weight-only int8 model, WebGPU its fp32 twin.
    assert (config.model, config.webgpu_model) == ("vbg-portrait-int8", "vbg-portrait")
    assert config.ort_version == "1.30.0"


def test_environment_then_flags_override_defaults():
    environ = {"VBG_PORT": "9000", "VBG_HOST": "0.0.0.0", "VBG_TLS": "yes", "VBG_MODEL": "other"}
    config = Config.from_env(environ=environ, port=9100)
    assert (config.host, config.port, config.tls, config.model) == ("0.0.0.0", 9100, True, "other")


@pytest.mark.parametrize("name, raw", [("VBG_PORT", "eighty"), ("VBG_PORT", "70000"), ("VBG_TLS", "maybe")])
def test_bad_environment_values_are_named(name, raw):
    with pytest.raises(ValueError, match=name):
        Config.from_env(environ={name: raw})


def test_factory_uses_the_given_config(tmp_path: Path):
    config = TestConfig(models_dir=tmp_path)
    app = create_app(config)
    assert app.testing
    assert app.config["VBG"] is config


def test_missing_onnxruntime_web_is_reported(tmp_path: Path):
    assert Config(node_modules=tmp_path).ort_version == "missing"


def test_rooms_settings_from_environment_and_flags():
    environ = {"VBG_ICE_SERVERS": '[{"urls": "turn:turn.lan:3478", "username": "u", "credential": "c"}]',
               "VBG_MAX_VIEWERS": "30", "VBG_MAX_MEETING_SIZE": "4", "VBG_THREADS": "64", "VBG_MESSAGES_PER_S": "12.5"}
    config = Config.from_env(environ=environ, max_sockets_per_address=10)
    assert config.ice_servers == [{"urls": "turn:turn.lan:3478", "username": "u", "credential": "c"}]
    limits = config.room_limits()
    assert (limits.max_viewers, limits.max_meeting_size, limits.max_sockets_per_address) == (30, 4, 10)
    assert limits.messages_per_s == 12.5
    assert limits.max_sockets == 64 - HTTP_RESERVED_THREADS  # the rest of the threads serve pages
    assert Config.from_env(environ={}).ice_servers == []  # intranet: no STUN or TURN unless asked


@pytest.mark.parametrize("name, raw", [
    ("VBG_ICE_SERVERS", "stun:stun.lan"),
    ("VBG_ICE_SERVERS", '{"urls": "stun:stun.lan"}'),
    ("VBG_ICE_SERVERS", '[{"url": "stun:stun.lan"}]'),
    ("VBG_ICE_SERVERS", '[{"urls": ["stun:a", 3]}]'),
    ("VBG_MAX_VIEWERS", "0"),
    ("VBG_MESSAGES_PER_S", "-1"),
    ("VBG_MESSAGES_PER_S", "nan"),
    ("VBG_THREADS", "many"),
])
def test_bad_rooms_settings_are_named(name, raw):
    with pytest.raises(ValueError, match=name):
        Config.from_env(environ={name: raw})


def test_bad_ice_servers_flag_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--ice-servers", "[{}]"])
    assert exit_info.value.code == 2
    assert 'needs "urls"' in capsys.readouterr().err


def test_sfu_settings_from_environment_and_flags():
    assert (Config.from_env(environ={}).sfu, Config.from_env(environ={}).janus_url) == ("none", DEFAULT_JANUS_URL)
    environ = {"VBG_SFU": "Janus", "VBG_JANUS_URL": "http://janus.lan:8088/janus/"}
    config = Config.from_env(environ=environ)
    assert (config.sfu, config.janus_url) == ("janus", "http://janus.lan:8088/janus")
    assert Config.from_env(environ=environ, sfu="none").sfu == "none"


@pytest.mark.parametrize("name, raw", [("VBG_SFU", "mediasoup"), ("VBG_JANUS_URL", "janus.lan:8088"),
                                       ("VBG_JANUS_URL", "ws://127.0.0.1:8188")])
def test_bad_sfu_settings_are_named(name, raw):
    with pytest.raises(ValueError, match=name):
        Config.from_env(environ={name: raw})


def test_sfu_flags(monkeypatch):
    served = []
    monkeypatch.setattr("webapp.server.serve", served.append)
    main(["serve", "--sfu", "janus", "--janus-url", "http://127.0.0.1:8089/janus"])
    assert (served[0].sfu, served[0].janus_url) == ("janus", "http://127.0.0.1:8089/janus")


def test_bad_sfu_flag_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--sfu", "mediasoup"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_the_browser_is_told_which_sfu(models_dir, tmp_path):
    for sfu in ("none", "janus"):
        app = create_app(TestConfig(model="tiny", models_dir=models_dir, instance_dir=tmp_path, sfu=sfu))
        html = app.test_client().get("/").get_data(as_text=True)
        assert f'"sfu": "{sfu}"' in html


@given(threads=st.integers(min_value=MIN_THREADS, max_value=4096), sfu=st.sampled_from(SFU_KINDS))
def test_one_address_never_gets_every_room_socket(threads, sfu):
    limits = Config(threads=threads, sfu=sfu).room_limits()
    assert 1 <= limits.max_sockets_per_address < limits.max_sockets <= threads - HTTP_RESERVED_THREADS


@given(threads=st.integers(min_value=MIN_THREADS, max_value=4096))
def test_one_address_never_gets_every_janus_session(threads):
    limits = Config(threads=threads, sfu="janus").janus_limits()
    assert 1 <= limits.max_sessions_per_address < limits.max_sessions


def test_a_janus_per_address_limit_at_the_capacity_is_refused(capsys):
    with pytest.raises(ValueError, match="Janus sessions"):
        Config.from_env(environ={"VBG_SFU": "janus", "VBG_MAX_JANUS_SESSIONS_PER_ADDRESS": "60"})
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--sfu", "janus", "--max-janus-sessions-per-address", "500"])
    assert exit_info.value.code == 2 and "Janus sessions" in capsys.readouterr().err
    assert Config.from_env(environ={"VBG_SFU": "janus", "VBG_MAX_JANUS_SESSIONS_PER_ADDRESS": "59"}).janus_limits() \
        .max_sessions_per_address == 59


def test_the_default_per_address_share_follows_the_threads():
    assert Config().room_limits().max_sockets_per_address == 60  # of 120 room sockets, 128 threads
    assert Config.from_env(environ={"VBG_THREADS": "48"}).room_limits().max_sockets_per_address == 20


@pytest.mark.parametrize("environ", [
    {"VBG_MAX_SOCKETS_PER_ADDRESS": "120"},  # every room socket 128 threads allow
    {"VBG_THREADS": "32", "VBG_MAX_SOCKETS_PER_ADDRESS": "30"},
    {"VBG_THREADS": str(MIN_THREADS - 1)},
])
def test_per_address_limits_at_or_above_the_capacity_are_refused(environ):
    with pytest.raises(ValueError, match="threads"):
        Config.from_env(environ=environ)


def test_a_per_address_limit_above_the_capacity_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--threads", "20", "--max-sockets-per-address", "200"])
    assert exit_info.value.code == 2
    assert "must be below the 12 room sockets" in capsys.readouterr().err


def test_room_cap_from_environment_and_flag(monkeypatch):
    assert Config.from_env(environ={}).room_limits().max_rooms == RoomLimits.max_rooms
    assert Config.from_env(environ={"VBG_MAX_ROOMS": "7"}).room_limits().max_rooms == 7
    served = []
    monkeypatch.setattr("webapp.server.serve", served.append)
    main(["serve", "--max-rooms", "9"])
    assert served[0].room_limits().max_rooms == 9


def test_request_bodies_are_limited(client):
    assert client.application.config["MAX_CONTENT_LENGTH"] == MAX_REQUEST_BODY_BYTES
    # The meeting form would parse any size of form (up to Werkzeug's 500 KB) without it.
    response = client.post("/meet", data={"passcode": "x" * (MAX_REQUEST_BODY_BYTES + 1)},
                           headers={"Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 413


def test_admin_settings_from_environment_and_flags(monkeypatch, tmp_path: Path):
    environ = {"VBG_BACKGROUNDS_DIR": "/srv/backgrounds", "VBG_DEFAULT_BACKGROUND": "lobby",
               "VBG_ORG_NAME": "ACME Schools", "VBG_ORG_LOGO": "/srv/logo.png"}
    config = Config.from_env(environ=environ)
    assert (config.backgrounds_dir, config.default_background, config.org_name, config.org_logo) == (
        Path("/srv/backgrounds"), "lobby", "ACME Schools", Path("/srv/logo.png"))
    assert Config.from_env(environ={}).backgrounds_dir is None
    served = []
    monkeypatch.setattr("webapp.server.serve", served.append)
    for name in environ:
        monkeypatch.delenv(name, raising=False)
    main(["serve", "--backgrounds-dir", str(tmp_path), "--default-background", "sea", "--org-name", "Uni",
          "--org-logo", str(tmp_path / "logo.png")])
    (config,) = served
    assert (config.backgrounds_dir, config.default_background, config.org_name, config.org_logo) == (
        tmp_path, "sea", "Uni", tmp_path / "logo.png")


def test_serve_help_lists_every_flag(capsys):
    """`vbg serve --help` prints (argparse formats help strings with %, so a bare % in one crashed it)."""
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "--max-sockets-per-address" in out and "--backgrounds-dir" in out
