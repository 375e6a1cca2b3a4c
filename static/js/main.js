/** Entry point: wire the page's controls to the camera, the render pipeline and the runtime. */
import { readClientConfig } from './config.js';
import { openCamera, closeCamera, DEFAULT_CAMERA } from './camera.js';
import { startFrameLoop } from './frame_loop.js';
import { createPipeline } from './pipeline.js';
import { loadRuntime } from './runtime.js';
import { fetchManifest } from './model_manifest.js';
import { checkModel } from './model_check.js';
import { createStatusPanel } from './ui/status_panel.js';
import { createMessageBox } from './ui/message.js';

// The frame counter is text in the DOM; updating it every frame would cost layout for nothing.
const STATUS_REFRESH_FRAMES = 15;

function startApp() {
  const config = readClientConfig();
  const status = createStatusPanel(document.getElementById('status'));
  const message = createMessageBox(document.getElementById('message'));
  const canvas = document.getElementById('output');
  const placeholder = document.getElementById('placeholder');
  const enableButton = document.getElementById('enable-camera');
  const stopButton = document.getElementById('stop-camera');
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;

  const state = { stream: null, stopLoop: null, pipeline: null, frames: 0 };
  // Exposed for tests and diagnostics: read-only facts, never a way to change behaviour.
  window.vbg = { state: 'starting', runtime: null, model: null, get frames() { return state.frames; } };

  status.set('isolated', globalThis.crossOriginIsolated ? 'yes' : 'no (WASM runs on one thread)',
    globalThis.crossOriginIsolated ? 'ok' : 'bad');

  async function describeRuntime() {
    try {
      const runtime = await loadRuntime(config);
      status.set('ort-version', runtime.version);
      status.set('backends', `${runtime.backends.join(', ')} · ${runtime.threads} WASM thread${runtime.threads > 1 ? 's' : ''}`);
      window.vbg.runtime = { version: runtime.version, backends: runtime.backends, isolated: runtime.isolated, threads: runtime.threads };
      const manifest = await fetchManifest(config.modelManifestUrl);
      const { ms } = await checkModel(runtime.ort, manifest);
      status.set('model', `${config.modelName} · ${manifest.precision} · ${manifest.input.shape.join('x')} · ${ms.toFixed(1)} ms first run`);
      window.vbg.model = { name: config.modelName, precision: manifest.precision, firstRunMs: ms };
    } catch (error) {
      status.set(window.vbg.runtime ? 'model' : 'ort-version', 'unavailable', 'bad');
      message.show('model', { title: 'Segmentation is not available.', advice: error.message });
    }
  }

  function stopCamera() {
    state.stopLoop?.();
    state.stopLoop = null;
    closeCamera(state.stream);
    state.stream = null;
    video.srcObject = null;
    placeholder.hidden = false;
    stopButton.hidden = true;
    enableButton.hidden = false;
    status.set('camera', 'off');
    window.vbg.state = 'idle';
  }

  async function enableCamera() {
    message.clear('camera');
    enableButton.disabled = true;
    status.set('camera', 'starting…');
    try {
      state.pipeline ??= createPipeline(canvas);
      state.stream = await openCamera(DEFAULT_CAMERA);
      const [track] = state.stream.getVideoTracks();
      track.addEventListener('ended', () => {
        stopCamera();
        message.show('camera', { title: 'The camera stopped.', advice: 'It was unplugged or taken by another app. Reconnect it, then press "Enable camera".' });
      });
      video.srcObject = state.stream;
      await video.play();
      const settings = track.getSettings();
      status.set('camera', `${track.label || 'camera'} · ${settings.width}x${settings.height} @ ${Math.round(settings.frameRate ?? 0)} fps`);
      state.stopLoop = startFrameLoop(video, () => {
        if (state.pipeline.render(video)) {
          state.frames += 1;
          if (state.frames % STATUS_REFRESH_FRAMES === 1) status.set('frames', String(state.frames));
        }
      });
      placeholder.hidden = true;
      enableButton.hidden = true;
      stopButton.hidden = false;
      window.vbg.state = 'running';
    } catch (error) {
      closeCamera(state.stream);
      state.stream = null;
      status.set('camera', 'off', 'bad');
      message.show('camera', error);
      window.vbg.state = 'camera-error';
    } finally {
      enableButton.disabled = false;
    }
  }

  enableButton.addEventListener('click', enableCamera);
  stopButton.addEventListener('click', stopCamera);
  window.vbg.state = 'idle';
  describeRuntime();
}

startApp();
