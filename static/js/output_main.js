/** Entry point of the output view (/output): the composited picture alone, full window, for OBS's
 * Browser Source (and through OBS's virtual camera, any meeting app). Every privacy rule of the
 * studio holds: no mask yet, a failing segmenter or a lost one → the whole frame is the privacy blur,
 * opaque in every mode (`transparent` included), never the raw camera. */
import { readClientConfig } from './config.js';
import { publishDiagnostics } from './diagnostics.js';
import { backendFromUrl } from './segmenter/backend_choice.js';
import { createMessageBox } from './ui/message.js';
import { createSettingsStore, parseResolution } from './ui/settings_store.js';
import { connectSegmentedView } from './studio/segmented_view.js';
import { createCameraControl } from './studio/camera_control.js';
import { CameraError } from './camera.js';
import { outputLook } from './output_look.js';

const SETTINGS_KEY = 'vbg.settings.v1'; // ui/settings_store.js: a change in the studio's tab shows here
const NO_STATUS = Object.freeze({ set() {} }); // this view has no status panel: nothing but the picture
const RETRY_LABEL = 'Enable camera'; // the button a camera error's advice names (camera.js)

/** A start the browser refused for want of a click (autoplay or permission policy), not a camera failure. */
function needsGesture(error) {
  return !(error instanceof CameraError) && error?.name === 'NotAllowedError';
}

function startOutput() {
  const config = readClientConfig();
  const canvas = document.getElementById('output');
  const startButton = document.getElementById('output-start');
  const message = createMessageBox(document.getElementById('message'));
  const readStudio = () => createSettingsStore(window.localStorage).get();
  let look = outputLook(location.search, readStudio());
  const transparent = look.mode === 'transparent'; // the canvas keeps its alpha channel
  document.documentElement.dataset.background = transparent ? 'transparent' : look.mode;
  if (look.problem) message.show('background', look.problem);
  const video = document.createElement('video'); // the raw camera: decoded here, never shown
  video.muted = true;
  video.playsInline = true;

  publishDiagnostics({
    state: 'starting', model: null,
    get look() { return look; },
    get frames() { return view.compositor?.session.stats.frames ?? 0; },
    get stats() { return view.compositor ? { ...view.compositor.session.stats } : null; },
    /** Test-only: works when the page was opened with ?fault=... (see segmenter/protocol.js). */
    setFault: (name) => model.supervisor?.setFault(name),
  });

  const view = connectSegmentedView({
    config,
    canvas,
    video,
    settings: { get: () => look },
    status: NO_STATUS,
    message,
    backend: () => backendFromUrl(location.search) ?? readStudio().backend,
    transparent,
  });
  const { backgrounds, model } = view;

  const camera = createCameraControl({
    video,
    prepare: view.prepareSession,
    request: () => {
      const studio = readStudio();
      return { ...parseResolution(studio.resolution), deviceId: studio.cameraId };
    },
    ui: {
      starting() {
        startButton.hidden = true;
        message.clear('camera');
        publishDiagnostics({ state: 'camera-starting' });
      },
      started() {
        publishDiagnostics({ state: 'running' });
      },
      stopped() {
        publishDiagnostics({ state: 'idle' });
      },
      failed(error) {
        if (needsGesture(error)) {
          startButton.textContent = 'Click to start camera';
          publishDiagnostics({ state: 'needs-click' });
        } else {
          startButton.textContent = RETRY_LABEL;
          message.show('camera', error);
          publishDiagnostics({ state: 'camera-error' });
        }
        startButton.hidden = false;
      },
      lost(error) {
        startButton.textContent = RETRY_LABEL;
        startButton.hidden = false;
        message.show('camera', error);
      },
    },
  });

  // Following the studio: a new choice there (another tab of this browser) shows here at once.
  window.addEventListener('storage', (event) => {
    if (!look.fromStudio || event.key !== SETTINGS_KEY) return;
    look = outputLook(location.search, readStudio());
    backgrounds.apply();
  });
  startButton.addEventListener('click', camera.start);
  camera.start();
}

startOutput();
