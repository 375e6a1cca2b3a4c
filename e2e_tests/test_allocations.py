"""No per-frame allocation of GPU objects after warm-up: a real Chromium with a fake camera runs the
home page for 600 composited frames with the motion gate on, switching background once each way
(blur -> colour -> image), and WebGL2's object creation and storage allocation stay flat.

    .venv/bin/python -m pytest e2e_tests/test_allocations.py -q

An init script (added through the DevTools protocol, so the page's CSP does not apply to it) wraps
WebGL2RenderingContext.prototype's create* methods and the calls that (re)allocate storage, and
counts them on `window.__glAllocations`. Every texImage* call re-specifies a texture level (new
storage); texSubImage* writes into the existing one, so the page's per-frame uploads must use it.

ORT tensors are not counted: onnxruntime-web 1.30 allocates a new output Tensor object for every
run even when the outputs are pre-allocated (a known limitation of the runtime, inside the worker;
the mask data itself goes into the worker's reused buffers), so a count there would only measure ORT.
"""
import pytest

from clips.build import ClipSpec, build_clip, parse_script
from e2e_tests.conftest import wait_until
from e2e_tests.test_pipeline import start_page

# Object creation: every call makes a new GPU object.
CREATE_CALLS = ("createTexture", "createFramebuffer", "createBuffer", "createRenderbuffer", "createVertexArray",
                "createProgram", "createShader", "createQuery", "createSampler", "createTransformFeedback",
                "fenceSync")
# Storage (re)allocation on an existing object.
STORAGE_CALLS = ("texImage2D", "texImage3D", "texStorage2D", "texStorage3D", "bufferData",
                 "renderbufferStorage", "renderbufferStorageMultisample")
MAX_TRACES = 20  # call stacks kept after warm-up: enough to name the culprits, not a log of every frame
COUNTER_SCRIPT = """(() => {
  const proto = globalThis.WebGL2RenderingContext && WebGL2RenderingContext.prototype;
  if (!proto) return;
  const log = { counts: {}, tracing: false, traces: [] };
  for (const name of %s) {
    const original = proto[name];
    log.counts[name] = 0;
    proto[name] = function counted(...args) {
      log.counts[name] += 1;
      if (log.tracing && log.traces.length < %d) log.traces.push(name + new Error().stack.replace(/^Error/, ''));
      return original.apply(this, args);
    };
  }
  Object.defineProperty(window, '__glAllocations', { value: log });
})();""" % (list(CREATE_CALLS + STORAGE_CALLS), MAX_TRACES)

# `?quality=lowest` pins the tier: the automatic controller may change tiers at any time, and the
# first use of a tier legitimately compiles its refinement pass and resizes its targets once. The
# lowest tier also makes frames cheapest here; every stage still runs on every frame.
QUERY = "?quality=lowest"
SETTINGS = {"mode": "blur", "blurLevel": "light", "colour": "#ff00ff", "imageId": "builtin:aurora"}
WARM_UP_FRAMES = 60  # composited frames: first masks in, refinement history settled
PHASE_FRAMES = 200  # composited frames in each background: 600 in all
SWITCHES = ("Colour", "Aurora")  # from blur, the radio buttons' names
# Choosing a picture uploads it into the background texture: storage is allocated again (texImage2D)
# only for a picture of a new size, at most once per choice; the same size is overwritten in place.
# Blur and colour allocate nothing.
ALLOWED_GROWTH = {"texImage2D": 1}  # at most
IMAGE_UPLOAD_FUNCTION = "uploadPicture"  # background_stage.js: the one place that upload may come from
# Software WebGL on a shared 2-core machine runs ~5-15 composited frames per second.
RUN_TIMEOUT_S = 120  # per background
PAGE_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def still_then_moving_clip(tmp_path_factory):
    """A person who stands still (the gate skips), then sways (the gate runs the model)."""
    folder = tmp_path_factory.mktemp("allocations")
    build_clip(folder / "still-move", ClipSpec(script=parse_script("still:45,move:45")))
    return folder / "still-move.y4m"


def _counting(open_page):
    """open_page whose page counts WebGL allocations from its next navigation on."""
    def _open(url, **kwargs):
        watched = open_page(url, **kwargs)
        watched.page.add_init_script(COUNTER_SCRIPT)  # start_page reloads after storing settings
        return watched
    return _open


def _counts(page) -> dict:
    return page.evaluate("({...window.__glAllocations.counts})")


def _wait_frames(page, frames: int):
    wait_until(page, f"window.vbg.frames >= {frames}", RUN_TIMEOUT_S)


def test_no_gpu_allocation_per_frame_after_warm_up(server, open_page, still_then_moving_clip):
    page = start_page(_counting(open_page), server, still_then_moving_clip, SETTINGS, query=QUERY).page
    assert page.evaluate("Boolean(window.__glAllocations)"), "the counter script did not run"
    wait_until(page, f"window.vbg.frames > {WARM_UP_FRAMES} && window.vbg.stats.personVisible"
                     " && window.vbg.stats.segmentations > 2", PAGE_TIMEOUT_S)
    stats_before = page.evaluate("window.vbg.stats")
    assert stats_before["gateEnabled"] and stats_before["qualityPinned"], stats_before
    before = _counts(page)
    assert before["createTexture"] > 0 and before["createProgram"] > 0, before  # the wrapper sees the pipeline
    page.evaluate("window.__glAllocations.tracing = true")

    # PHASE_FRAMES in each background, counted from the switch: a click can take seconds here.
    _wait_frames(page, stats_before["frames"] + PHASE_FRAMES)
    skip_rates = [page.evaluate("window.vbg.stats.skipRate")]
    for choice in SWITCHES:
        page.get_by_role("radio", name=choice).check(timeout=PAGE_TIMEOUT_S * 1000)
        _wait_frames(page, page.evaluate("window.vbg.frames") + PHASE_FRAMES)
        skip_rates.append(page.evaluate("window.vbg.stats.skipRate"))

    after = _counts(page)
    traces = page.evaluate("window.__glAllocations.traces")
    stats_after = page.evaluate("window.vbg.stats")
    growth = {name: after[name] - before[name] for name in after if after[name] != before[name]}
    allowed = all(count <= ALLOWED_GROWTH.get(name, 0) for name, count in growth.items())
    assert allowed, f"allocations after warm-up: {growth}\n\n" + "\n\n".join(traces)
    assert all(IMAGE_UPLOAD_FUNCTION in trace for trace in traces), "\n\n".join(traces)
    # Both gate paths ran while counting: frames that segmented and frames the gate skipped.
    assert stats_after["segmentations"] > stats_before["segmentations"], (stats_before, stats_after)
    assert max(skip_rates) > 0, skip_rates
    assert stats_after["personVisible"], stats_after


RING_PROBE = """async () => {
  const { createFrameRing, RING_SLOTS } = await import('/static/js/gl/frame_ring.js');
  const gl = new OffscreenCanvas(8, 8).getContext('webgl2');
  const frame = document.createElement('canvas');  // stands in for the <video>: same size fields
  Object.assign(frame, { width: 64, height: 36, videoWidth: 64, videoHeight: 36 });
  const ring = createFrameRing({ gl }, { width: 16, height: 9 });
  const counts = window.__glAllocations.counts;
  const before = counts.texImage2D;
  ring.upload(ring.slots[0], frame);
  const afterFirst = counts.texImage2D;
  for (const slot of ring.slots.slice(1)) ring.upload(slot, frame);
  const afterAll = counts.texImage2D;
  ring.cleanUp();
  return { slots: RING_SLOTS, first: afterFirst - before, rest: afterAll - afterFirst };
}"""


def test_the_first_camera_frame_allocates_every_ring_slot(server, open_page):
    """The fourth slot is used only when three frames are held (a slow segmenter), possibly long after
    warm-up: its storage must come with the first frame, not with its own first use."""
    page = _counting(open_page)(server.url).page
    page.reload()
    result = page.evaluate(RING_PROBE)
    assert result["first"] == result["slots"] and result["rest"] == 0, result
