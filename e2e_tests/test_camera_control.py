"""static/js/studio/camera_control.js in a real Chromium with its fake camera: a camera that opens but
never sends a picture (its video's play() never settles, as a stuck driver or another app holding the
device does) ends in a clear error within the deadline, with the camera closed, instead of
"starting…" forever."""
from e2e_tests.conftest import wait_until

PAGE_TIMEOUT_S = 30
DEADLINE_MS = 1000  # the test's first-picture deadline (the page's own is 20 s)
STILL_STARTING_MS = 5000  # DEADLINE_MS with room to spare: no answer by then is the property broken

NO_PICTURE_JS = """async ([deadlineMs, stillStartingMs]) => {
  const { createCameraControl } = await import('/static/js/studio/camera_control.js');
  const video = document.createElement('video');
  video.muted = true;
  video.play = () => new Promise(() => {});  // the camera never sends a picture
  let opened = null;
  const ended = new Promise((resolve) => {
    const camera = createCameraControl({
      video,
      prepare: async () => ({ start() {}, stop() {} }),
      request: () => ({ width: 640, height: 360 }),
      firstPictureDeadlineMs: deadlineMs,
      ui: {
        starting() {},
        started: () => resolve({ outcome: 'started' }),
        stopped() {},
        failed: (error) => resolve({ outcome: 'failed', name: error.name, title: error.title, advice: error.advice,
                                     running: camera.running }),
        lost() {},
      },
    });
    const opening = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = async (constraints) => (opened = await opening(constraints));
    camera.start();
  });
  const result = await Promise.race([ended, new Promise((resolve) => setTimeout(() => resolve({ outcome: 'still starting' }), stillStartingMs))]);
  return { ...result, tracks: opened?.getTracks().map((track) => track.readyState) ?? null, srcObject: video.srcObject !== null };
}"""


def test_a_camera_that_sends_no_picture_is_explained_and_closed(server, open_page, quadrant_clip):
    page = open_page(server.url, clip=quadrant_clip).page
    wait_until(page, "window.vbg && window.vbg.state === 'idle'", PAGE_TIMEOUT_S)
    result = page.evaluate(NO_PICTURE_JS, [DEADLINE_MS, STILL_STARTING_MS])
    assert result["outcome"] == "failed", result
    assert (result["name"], result["title"]) == ("CameraError", "The camera sent no picture."), result
    assert 'press "Enable camera" again' in result["advice"], result
    assert result["running"] is False and result["srcObject"] is False, result
    assert result["tracks"] == ["ended"], result  # the camera (and its light) is off again
