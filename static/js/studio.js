/** The studio: the page's controls wired to the camera, the segmenter and the render pipeline.
 * Each concern lives in its own module under studio/; this file connects them to the page.
 *
 * Every page that sends a picture (the home page, a meeting) runs one studio; what leaves the
 * page is `studio.outputStream`, captured from the composited canvas and never the raw camera. */
import { listCameras } from './camera.js';
import { backendFromUrl } from './segmenter/backend_choice.js';
import { publishDiagnostics } from './diagnostics.js';
import { createStatusPanel } from './ui/status_panel.js';
import { createMessageBox } from './ui/message.js';
import { createSettingsStore, parseResolution } from './ui/settings_store.js';
import { bindControls } from './ui/controls.js';
import { createStatsOverlay } from './ui/stats_overlay.js';
import { createRecording } from './studio/recording.js';
import { connectSegmentedView } from './studio/segmented_view.js';
import { createCameraControl } from './studio/camera_control.js';
import { startStatsRefresh } from './studio/stats_refresh.js';

/** The raw camera, shown only in this page's preview for the before/after comparison; the outgoing
 * stream is captured from the composited canvas alone. */
function createCompareVideo(canvas) {
  const video = document.createElement('video');
  video.className = 'compare-video';
  video.muted = true;
  video.playsInline = true;
  video.hidden = true;
  canvas.after(video);
  return video;
}

/** Start the studio on the current page (its markup comes from templates/_studio.html). */
export function startStudio(config) {
  const status = createStatusPanel(document.getElementById('status'));
  const message = createMessageBox(document.getElementById('message'));
  const store = createSettingsStore(window.localStorage);
  const canvas = document.getElementById('output');
  const placeholder = document.getElementById('placeholder');
  const enableButton = document.getElementById('enable-camera');
  const stopButton = document.getElementById('stop-camera');
  const statsOverlay = createStatsOverlay(document.getElementById('stats'));
  const video = createCompareVideo(canvas);
  const cameraListeners = []; // called with true/false when the camera starts or stops
  let outputStream = null; // one stream for the whole page life: sharing keeps it across camera restarts
  let stopStatsRefresh = () => {};

  publishDiagnostics({
    state: 'starting', runtime: null, model: null, outputStream: null, bench: null,
    get frames() { return view.compositor?.session.stats.frames ?? 0; },
    get stats() { return view.compositor ? { ...view.compositor.session.stats, gateEnabled: view.compositor.session.gate.enabled } : null; },
    /** Test-only: works when the page was opened with ?fault=... (see segmenter/protocol.js). */
    setFault: (name) => model.supervisor?.setFault(name),
  });

  const recording = createRecording({
    session: () => view.compositor?.session ?? null,
    outputStream: () => outputStream,
    message,
    onRecordingChange: (recordingNow) => controls.setRecording(recordingNow),
  });
  const controls = bindControls(document, store, {
    onUpload: (file) => backgrounds.upload(file),
    onUploadRemove: () => backgrounds.removeUpload(),
    onSnapshot: () => recording.snapshot(),
    onRecordToggle: () => recording.toggle(),
    onCompareChange: (showingBefore) => {
      video.hidden = !showingBefore;
    },
  });

  const view = connectSegmentedView({
    config,
    canvas,
    video,
    settings: store,
    status,
    message,
    backend: () => backendFromUrl(location.search) ?? store.get().backend,
    onRuntime: (runtime) => {
      publishDiagnostics({ runtime: { version: runtime.version, backends: runtime.backends, isolated: runtime.isolated, threads: runtime.threads } });
      controls.setBackends(runtime.backends, store.get().backend);
    },
    onBuilt: (compositor) => {
      outputStream = canvas.captureStream();
      publishDiagnostics({ bench: compositor.probe, outputStream });
    },
  });
  const { backgrounds, model } = view;
  // The user's own file, remembered in this browser: its tile, after a reload or an upload in another tab.
  backgrounds.onUploadChange((own) => controls.setUpload(own));
  backgrounds.rememberedUpload().then((own) => controls.setUpload(own));

  const camera = createCameraControl({
    video,
    prepare: view.prepareSession,
    request: () => {
      const settings = store.get();
      return { ...parseResolution(settings.resolution), deviceId: settings.cameraId };
    },
    ui: {
      starting() {
        message.clear('camera');
        enableButton.disabled = true;
        status.set('camera', 'starting…');
        publishDiagnostics({ state: 'camera-starting' });
      },
      async started(track) {
        const settings = track.getSettings();
        status.set('camera', `${track.label || 'camera'} · ${settings.width}x${settings.height} @ ${Math.round(settings.frameRate ?? 0)} fps`);
        controls.setCameras(await listCameras(), settings.deviceId ?? store.get().cameraId);
        placeholder.hidden = true;
        enableButton.hidden = true;
        enableButton.disabled = false;
        stopButton.hidden = false;
        controls.setRunning(true);
        stopStatsRefresh = startStatsRefresh({
          stats: () => view.compositor?.session.stats ?? null,
          status,
          overlay: statsOverlay,
          showOverlay: () => store.get().showStats,
        });
        publishDiagnostics({ state: 'running' });
        for (const listener of cameraListeners) listener(true);
      },
      stopped() {
        stopStatsRefresh();
        placeholder.hidden = false;
        stopButton.hidden = true;
        enableButton.hidden = false;
        controls.setRunning(false);
        status.set('camera', 'off');
        publishDiagnostics({ state: 'idle' });
        for (const listener of cameraListeners) listener(false);
      },
      failed(error) {
        enableButton.disabled = false;
        status.set('camera', 'off', 'bad');
        message.show('camera', error);
        publishDiagnostics({ state: 'camera-error' });
      },
      lost(error) {
        message.show('camera', error);
      },
    },
  });

  store.subscribe((settings, changed) => {
    backgrounds.follow(settings, changed);
    if (changed.includes('backend')) model.supervisor?.switchBackend(settings.backend);
    if ((changed.includes('cameraId') || changed.includes('resolution')) && camera.running) camera.start();
  });
  navigator.mediaDevices?.addEventListener?.('devicechange', async () => {
    if (camera.running) controls.setCameras(await listCameras(), camera.track?.getSettings().deviceId);
  });

  status.set('isolated', globalThis.crossOriginIsolated ? 'yes' : 'no (WASM runs on one thread)',
    globalThis.crossOriginIsolated ? 'ok' : 'bad');
  enableButton.addEventListener('click', camera.start);
  stopButton.addEventListener('click', camera.stop);
  publishDiagnostics({ state: 'idle' });

  return {
    /** The composited stream, the same object for the life of the page (null before the first camera start). */
    get outputStream() { return outputStream; },
    get running() { return camera.running; },
    enableCamera: camera.start,
    stopCamera: camera.stop,
    message,
    onCameraChange(listener) { cameraListeners.push(listener); },
  };
}
