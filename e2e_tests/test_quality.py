"""The quality controller (static/js/quality.js) in a real Chromium: fed synthetic frame sequences
it steps down when frames are dropped, steps up only after a calm period and does not see-saw;
`?quality=` pins the tier on the running page.

    .venv/bin/python -m pytest e2e_tests/test_quality.py -q
"""
import pytest

from e2e_tests.conftest import wait_until

PAGE_TIMEOUT_S = 60
CAMERA_FPS = 30
FRAME_INTERVAL_MS = 1000 / CAMERA_FPS
CHEAP_JS_MS = 3.0  # JS time of a frame with room to spare (well under a third of the interval)
COSTLY_JS_MS = 20.0  # JS time of a frame that leaves no headroom, though no frame is dropped
TIERS = ["high", "medium", "low", "lowest"]

# Drives one controller through `phases`: [{seconds, dropEvery, jsMs}] or, for a capacity model,
# {seconds, keepsUpFrom, jsMs}: tiers at index >= keepsUpFrom keep up, cheaper ones drop every other
# frame. Every camera frame is one step of simulated time; a dropped frame is the next processed
# frame's presentedFrames gap. Returns the tier after each simulated second and every change.
SIMULATE_JS = """async ([cameraWidth, phases, intervalMs]) => {
  const { createQualityController, QUALITY_TIERS } = await import('/static/js/quality.js');
  const fps = Math.round(1000 / intervalMs);
  const controller = createQualityController();
  controller.start(cameraWidth);
  const perSecond = [];
  const changes = [];
  let second = 0;
  let gap = 0;
  for (const phase of phases) {
    for (let frame = 0; frame < phase.seconds * fps; frame += 1) {
      const index = QUALITY_TIERS.indexOf(controller.tier);
      const dropEvery = 'keepsUpFrom' in phase ? (index >= phase.keepsUpFrom ? 0 : 2) : phase.dropEvery;
      gap += 1;
      const dropped = dropEvery > 0 && frame % dropEvery === dropEvery - 1;
      if (!dropped) {
        if (controller.observe(phase.jsMs, gap, intervalMs)) changes.push({ second: frame / fps + second, tier: controller.tier.name });
        gap = 0;
      }
      if (frame % fps === fps - 1) perSecond.push(controller.tier.name);
    }
    second += phase.seconds;
  }
  return { perSecond, changes };
}"""


@pytest.fixture
def page(server, open_page):
    """A served page to import modules in; nothing here needs the camera."""
    page = open_page(server.url, camera=False, accept_camera=False).page
    wait_until(page, "window.vbg && window.vbg.state === 'idle'", PAGE_TIMEOUT_S)
    return page


def _simulate(page, phases, camera_width=640):
    return page.evaluate(SIMULATE_JS, [camera_width, phases, FRAME_INTERVAL_MS])


def test_dropped_frames_step_down_though_js_time_is_cheap(page):
    # Half the camera frames never reach the page, while each callback costs little JS time:
    # the SwiftShader case, where the cost is in the GPU process.
    result = _simulate(page, [{"seconds": 12, "dropEvery": 2, "jsMs": CHEAP_JS_MS}])
    assert result["perSecond"][0] == "high"
    assert result["perSecond"][3] != "high", result  # reacts within a few seconds
    assert result["perSecond"][-1] == "lowest", result
    assert [change["tier"] for change in result["changes"]] == TIERS[1:], result


def test_a_single_hitch_does_not_step_down(page):
    # One lost frame in ten keeps above the floor; a lone bad second (GC, model load) is no trend.
    result = _simulate(page, [
        {"seconds": 4, "dropEvery": 0, "jsMs": CHEAP_JS_MS},
        {"seconds": 1, "dropEvery": 2, "jsMs": CHEAP_JS_MS},
        {"seconds": 4, "dropEvery": 0, "jsMs": CHEAP_JS_MS},
        {"seconds": 6, "dropEvery": 10, "jsMs": CHEAP_JS_MS},
    ])
    assert result["changes"] == [], result


def test_recovery_steps_up_only_after_a_calm_period(page):
    slow = {"seconds": 10, "dropEvery": 2, "jsMs": CHEAP_JS_MS}
    result = _simulate(page, [slow, {"seconds": 40, "dropEvery": 0, "jsMs": CHEAP_JS_MS}])
    per_second = result["perSecond"]
    assert per_second[9] == "lowest", result
    # Not at once: the first seconds after recovering stay at the cheapest tier.
    assert per_second[10:13] == ["lowest"] * 3, result
    assert per_second[-1] == "high", result
    ups = [change for change in result["changes"] if change["second"] >= 10]
    assert [change["tier"] for change in ups] == ["low", "medium", "high"], result
    # Each step up waits for its own calm period.
    assert all(later["second"] - earlier["second"] >= 3 for earlier, later in zip(ups, ups[1:])), result


def test_no_step_up_without_js_headroom(page):
    # Every frame arrives, but the callbacks use most of the interval: going up would start dropping.
    result = _simulate(page, [
        {"seconds": 10, "dropEvery": 2, "jsMs": CHEAP_JS_MS},
        {"seconds": 30, "dropEvery": 0, "jsMs": COSTLY_JS_MS},
    ])
    assert result["perSecond"][-1] == "lowest", result
    assert [change["tier"] for change in result["changes"]] == TIERS[1:], result


def test_alternating_load_does_not_oscillate(page):
    # One second behind, one second fine, for a minute: neither a trend down nor a calm period.
    result = _simulate(page, [
        {"seconds": 1, "dropEvery": 2 if second % 2 else 0, "jsMs": CHEAP_JS_MS} for second in range(60)
    ], camera_width=1280)
    assert result["perSecond"][0] == "medium"
    assert result["changes"] == [], result


def test_a_tier_that_cannot_keep_up_is_retried_less_and_less(page):
    # Only 'medium' and cheaper keep up: every try of 'high' fails, so tries must grow rarer.
    result = _simulate(page, [{"seconds": 300, "keepsUpFrom": 1, "jsMs": CHEAP_JS_MS}])
    tries = [change["second"] for change in result["changes"] if change["tier"] == "high"]
    assert result["perSecond"][-1] == "medium", result
    assert 2 <= len(tries) <= 6, result  # 5 minutes: a see-saw every few seconds would be ~40
    waits = [later - earlier for earlier, later in zip(tries, tries[1:])]
    assert all(later > earlier for earlier, later in zip(waits, waits[1:])), waits
    assert sum(tier == "high" for tier in result["perSecond"]) <= 0.1 * len(result["perSecond"]), result


def test_pause_is_not_slowness(page):
    # A hidden tab: no callbacks for seconds, then presentedFrames jumps by hundreds.
    result = page.evaluate("""async (intervalMs) => {
      const { createQualityController } = await import('/static/js/quality.js');
      const controller = createQualityController();
      controller.start(640);
      let changed = false;
      for (let i = 0; i < 300; i += 1) changed = controller.observe(3, i % 60 === 59 ? 300 : 1, intervalMs) || changed;
      return { changed, tier: controller.tier.name };
    }""", FRAME_INTERVAL_MS)
    assert result == {"changed": False, "tier": "high"}


def test_pinned_controller_never_moves(page):
    result = page.evaluate("""async (intervalMs) => {
      const { createQualityController, qualityFromUrl } = await import('/static/js/quality.js');
      const controller = createQualityController();
      controller.pin(qualityFromUrl('?quality=medium'));
      controller.start(640);
      let changed = false;
      for (let i = 0; i < 600; i += 1) changed = controller.observe(3, 2, intervalMs) || changed;
      let error = null;
      try { controller.pin('ultra'); } catch (e) { error = e.name; }
      return {
        changed, tier: controller.tier.name, pinned: controller.pinned, error,
        parsed: ['', '?quality=auto', '?quality=ultra', '?quality=lowest', '?gate=off&quality=low'].map(qualityFromUrl),
      };
    }""", FRAME_INTERVAL_MS)
    assert result == {
        "changed": False, "tier": "medium", "pinned": True, "error": "RangeError",
        "parsed": [None, None, None, "lowest", "low"],
    }


def test_quality_url_override_pins_the_running_page(server, open_page):
    page = open_page(server.url + "?quality=lowest").page
    page.get_by_role("switch", name="Show stats on the preview").check()
    page.get_by_role("button", name="Enable camera").click()
    wait_until(page, "window.vbg.frames > 5", PAGE_TIMEOUT_S)
    for _ in range(3):
        stats = page.evaluate("window.vbg.stats")
        assert stats["quality"] == "lowest" and stats["qualityPinned"] is True, stats
        frames = stats["frames"]
        wait_until(page, f"window.vbg.frames > {frames + 30}", PAGE_TIMEOUT_S)
    assert page.evaluate("window.vbg.stats.quality") == "lowest"
    overlay = page.locator("#stats [data-stat=quality] dd")
    wait_until(page, "document.querySelector('#stats [data-stat=quality] dd').textContent !== '–'", PAGE_TIMEOUT_S)
    assert overlay.text_content() == "lowest (fixed)"  # a technical row, behind the overlay's Details


def test_quality_is_automatic_by_default(server, open_page):
    page = open_page(server.url + "?quality=auto").page
    page.get_by_role("button", name="Enable camera").click()
    wait_until(page, "window.vbg.frames > 5", PAGE_TIMEOUT_S)
    stats = page.evaluate("window.vbg.stats")
    assert stats["qualityPinned"] is False and stats["quality"] in TIERS, stats
