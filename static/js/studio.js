/** The studio: the page's controls wired to the camera, the segmenter and the render pipeline.
 *
 * Every page that sends a picture (the home page, a meeting) runs one studio; what leaves the
 * page is `studio.outputStream`, captured from the composited canvas and never the raw camera. */
import { openCamera, closeCamera, listCameras, CameraError } from './camera.js';
import { createPipeline } from './pipeline.js';
import { createSession } from './session.js';
import { qualityFromUrl } from './quality.js';
import { loadRuntime } from './runtime.js';
import { fetchManifest } from './model_manifest.js';
import { createSegmenterSupervisor } from './segmenter_supervisor.js';
import { backendFromUrl } from './segmenter/backend_choice.js';
import { startRecording, download } from './recorder.js';
import { benchEnabled, createBenchProbe } from './bench_probe.js';
import { createStatusPanel } from './ui/status_panel.js';
import { createMessageBox } from './ui/message.js';
import { createSettingsStore, parseResolution, UPLOAD_IMAGE_ID } from './ui/settings_store.js';
import { bindControls } from './ui/controls.js';
import { createStatsOverlay } from './ui/stats_overlay.js';
import { renderBuiltinBackground } from './backgrounds/builtin.js';
import { loadUploadedImage } from './backgrounds/upload.js';
import { isVideoFile, loadUploadedVideo } from './backgrounds/video.js';
import { UserError } from './user_error.js';

const STATS_REFRESH_MS = 250; // the overlay and the System panel update 4x per second
const BACKGROUND_RENDER_SIZE = Object.freeze({ width: 1920, height: 1080 }); // px, built-ins are drawn once at this size

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
  // The raw camera, shown only in this page's preview for the before/after comparison; the
  // outgoing stream is captured from the composited canvas alone.
  const video = document.createElement('video');
  video.className = 'compare-video';
  video.muted = true;
  video.playsInline = true;
  video.hidden = true;
  canvas.after(video);

  const app = {
    manifest: null, manifestFp32: null, pipeline: null, session: null, supervisor: null,
    stream: null, track: null, outputStream: null, recorder: null, uploadedImage: null, uploadedVideo: null, statsTimer: 0,
  };
  // Read-only facts for tests and diagnostics; nothing here changes behaviour.
  window.vbg = {
    state: 'starting', runtime: null, model: null, outputStream: null,
    get frames() { return app.session?.stats.frames ?? 0; },
    get stats() { return app.session ? { ...app.session.stats, gateEnabled: app.session.gate.enabled } : null; },
    /** Test-only: present when the page was opened with ?fault=... (see segmenter/protocol.js). */
    setFault: (name) => app.supervisor?.setFault(name),
  };

  const look = () => store.get();
  const cameraListeners = []; // called with true/false when the camera starts or stops

  const controls = bindControls(document, store, {
    onUpload: async (file) => {
      try {
        if (isVideoFile(file)) return await useUploadedVideo(file);
        const bitmap = await loadUploadedImage(file);
        app.uploadedVideo?.release();
        app.uploadedVideo = null;
        app.uploadedImage?.close?.();
        app.uploadedImage = bitmap;
        message.clear('upload');
        store.update({ mode: 'image', imageId: UPLOAD_IMAGE_ID });
        await applyBackgroundImage();
        return bitmap;
      } catch (error) {
        message.show('upload', error);
        return undefined;
      }
    },
    onSnapshot: async () => {
      if (!app.session) return;
      const blob = await app.session.snapshot();
      if (blob) download(blob, `vbg-${new Date().toISOString().replace(/[:.]/g, '-')}.png`);
    },
    onRecordToggle: async () => {
      if (app.recorder) {
        const recorder = app.recorder;
        app.recorder = null;
        controls.setRecording(false);
        try {
          download(await recorder.stop(), `vbg-${new Date().toISOString().replace(/[:.]/g, '-')}.webm`);
        } catch (error) {
          message.show('recording', error);
        }
        return;
      }
      try {
        app.recorder = startRecording(app.outputStream);
        message.clear('recording');
        controls.setRecording(true);
      } catch (error) {
        message.show('recording', error);
      }
    },
    onCompareChange: (showingBefore) => {
      video.hidden = !showingBefore;
    },
  });

  /** Check and play an uploaded video as the picture background; resolves to its video element. */
  async function useUploadedVideo(file) {
    const clip = await loadUploadedVideo(file);
    app.uploadedVideo?.release();
    app.uploadedImage?.close?.();
    app.uploadedImage = null;
    app.uploadedVideo = clip;
    message.clear('upload');
    store.update({ mode: 'image', imageId: UPLOAD_IMAGE_ID });
    await applyBackgroundImage();
    return clip.video;
  }

  /** The uploaded video decodes only while it is the background in use. */
  function playBackgroundVideo(settings) {
    if (!app.uploadedVideo) return;
    if (settings.mode === 'image' && settings.imageId === UPLOAD_IMAGE_ID) app.uploadedVideo.play();
    else app.uploadedVideo.pause();
  }

  async function applyBackgroundImage() {
    if (!app.pipeline) return;
    const { imageId } = store.get();
    if (imageId === UPLOAD_IMAGE_ID && app.uploadedVideo) {
      app.pipeline.setBackgroundVideo(app.uploadedVideo.video);
      return;
    }
    if (imageId === UPLOAD_IMAGE_ID && app.uploadedImage) {
      app.pipeline.setBackgroundImage(app.uploadedImage);
      return;
    }
    const id = imageId === UPLOAD_IMAGE_ID ? null : imageId;
    if (!id) return;
    const bitmap = await renderBuiltinBackground(id, BACKGROUND_RENDER_SIZE.width, BACKGROUND_RENDER_SIZE.height);
    if (store.get().imageId === imageId) app.pipeline.setBackgroundImage(bitmap);
    bitmap.close?.();
  }

  function showSegmentationProblem(error) {
    if (error) message.show('segmentation', { title: error.title ?? 'Segmentation failed.', advice: error.advice ?? error.message });
    else message.clear('segmentation');
  }

  /** Fetch the model manifests; resolves true when they arrived (the pipeline is built for them). */
  async function loadManifests() {
    try {
      app.manifest = await fetchManifest(config.modelManifestUrl);
      app.manifestFp32 = config.webgpuModelManifestUrl === config.modelManifestUrl
        ? app.manifest
        : await fetchManifest(config.webgpuModelManifestUrl).catch(() => app.manifest);
      return true;
    } catch (error) {
      status.set('model', 'unavailable', 'bad');
      message.show('model', { title: 'Segmentation is not available.', advice: error.message });
      return false;
    }
  }

  async function loadModel() {
    try {
      const runtime = await loadRuntime(config);
      status.set('ort-version', runtime.version);
      status.set('backends', `${runtime.backends.join(', ')} · ${runtime.threads} WASM thread${runtime.threads > 1 ? 's' : ''}`);
      window.vbg.runtime = { version: runtime.version, backends: runtime.backends, isolated: runtime.isolated, threads: runtime.threads };
      controls.setBackends(runtime.backends, store.get().backend);
    } catch (error) {
      status.set('ort-version', 'unavailable', 'bad');
      message.show('runtime', { title: 'Segmentation is not available.', advice: error.message });
      return;
    }
    if (!await manifestsLoaded) return;
    status.set('model', `${config.modelName} · ${app.manifest.precision} · ${app.manifest.input.shape.join('x')} · loading…`);
    app.supervisor = createSegmenterSupervisor({
      ortBase: config.ortBase,
      manifest: app.manifest,
      manifestFp32: app.manifestFp32,
      onReady: (segmenter) => {
        app.session?.setSegmenter(segmenter);
        status.set('model', `${config.modelName} · ${app.manifest.precision} · ${segmenter.backend}`);
        window.vbg.model = { name: config.modelName, precision: app.manifest.precision, backend: segmenter.backend, choice: segmenter.choice };
      },
      onLost: (error) => app.session?.setSegmenter(null, error),
      onProblem: (error) => {
        if (error) status.set('model', 'failed, retrying…', 'bad');
        showSegmentationProblem(error);
      },
    });
    app.supervisor.start(backendFromUrl(location.search) ?? store.get().backend);
  }

  function ensurePipeline() {
    if (app.session) return; // once per page; a lost WebGL context rebuilds only the pipeline
    app.pipeline = createPipeline(canvas, app.manifest);
    const probe = benchEnabled(location.search)
      ? createBenchProbe(app.pipeline.gl, app.pipeline.modelSize.width, app.pipeline.modelSize.height)
      : null;
    window.vbg.bench = probe;
    app.session = createSession({
      probe,
      // `?sync=0`: the old unsynchronised compositing, kept for the benchmark's before/after only.
      sync: new URLSearchParams(location.search).get('sync') !== '0',
      pipeline: app.pipeline,
      video,
      canvas,
      look,
      onProblem: (topic, error) => (topic === 'segmentation' ? showSegmentationProblem(error) : null),
    });
    if (app.supervisor?.segmenter) app.session.setSegmenter(app.supervisor.segmenter);
    // `?gate=off` segments every frame: the benchmark's baseline, and a diagnostic for users.
    if (new URLSearchParams(location.search).get('gate') === 'off') app.session.gate.enabled = false;
    // `?quality=high|medium|low|lowest` fixes the quality tier; absent or `auto`, it follows the frame rate.
    app.session.quality.pin(qualityFromUrl(location.search));
    // One stream for the whole page life: sharing features keep their reference across camera restarts.
    app.outputStream = canvas.captureStream();
    window.vbg.outputStream = app.outputStream;
    applyBackgroundImage();
    canvas.addEventListener('webglcontextlost', onGraphicsLost);
    canvas.addEventListener('webglcontextrestored', onGraphicsRestored);
  }

  // The GPU process can drop the WebGL context (driver reset, too many contexts, a test's
  // WEBGL_lose_context). Nothing is drawn meanwhile, so the outgoing stream holds its last
  // composited frame; once restored, every stage is rebuilt and the picture stays fully blurred
  // until a new mask arrives.
  function onGraphicsLost(event) {
    event.preventDefault(); // without this the browser never restores the context
    app.session.setPipeline(null);
    app.pipeline = null;
    message.show('graphics', new UserError('The graphics were reset.', 'Restoring them; the shared picture holds its last frame meanwhile.'));
  }

  function onGraphicsRestored() {
    app.pipeline = createPipeline(canvas, app.manifest);
    app.session.setPipeline(app.pipeline);
    applyBackgroundImage();
    message.clear('graphics');
  }

  function stopCamera() {
    app.session?.stop();
    closeCamera(app.stream);
    app.stream = null;
    app.track = null;
    video.srcObject = null;
    clearInterval(app.statsTimer);
    placeholder.hidden = false;
    stopButton.hidden = true;
    enableButton.hidden = false;
    controls.setRunning(false);
    status.set('camera', 'off');
    window.vbg.state = 'idle';
    for (const listener of cameraListeners) listener(false);
  }

  async function enableCamera() {
    message.clear('camera');
    enableButton.disabled = true;
    status.set('camera', 'starting…');
    try {
      // The pipeline is sized and normalised for the model: a click before its manifest arrived
      // waits for it (a pipeline built without one could only ever blur).
      await manifestsLoaded;
      ensurePipeline();
      if (app.stream) stopCamera();
      const settings = store.get();
      const { width, height } = parseResolution(settings.resolution);
      app.stream = await openCamera({ width, height, frameRate: 30, deviceId: settings.cameraId || undefined });
      [app.track] = app.stream.getVideoTracks();
      app.track.addEventListener('ended', () => {
        stopCamera();
        message.show('camera', new CameraError('The camera stopped.', 'It was unplugged or taken by another app. Reconnect it, then press "Enable camera".'));
      });
      video.srcObject = app.stream;
      await video.play();
      const trackSettings = app.track.getSettings();
      status.set('camera', `${app.track.label || 'camera'} · ${trackSettings.width}x${trackSettings.height} @ ${Math.round(trackSettings.frameRate ?? 0)} fps`);
      app.session.start(app.track);
      controls.setCameras(await listCameras(), trackSettings.deviceId ?? settings.cameraId);
      placeholder.hidden = true;
      enableButton.hidden = true;
      stopButton.hidden = false;
      controls.setRunning(true);
      app.statsTimer = setInterval(refreshStats, STATS_REFRESH_MS);
      window.vbg.state = 'running';
      for (const listener of cameraListeners) listener(true);
    } catch (error) {
      closeCamera(app.stream);
      app.stream = null;
      status.set('camera', 'off', 'bad');
      message.show('camera', error);
      window.vbg.state = 'camera-error';
    } finally {
      enableButton.disabled = false;
    }
  }

  function refreshStats() {
    const stats = app.session?.stats;
    if (!stats) return;
    status.set('frames', String(stats.frames));
    if (store.get().showStats) statsOverlay.update(stats);
  }

  store.subscribe((settings, changed) => {
    playBackgroundVideo(settings);
    if (changed.includes('imageId') || (changed.includes('mode') && settings.mode === 'image')) applyBackgroundImage();
    if (changed.includes('backend')) app.supervisor?.switchBackend(settings.backend);
    if ((changed.includes('cameraId') || changed.includes('resolution')) && app.stream) enableCamera();
  });

  navigator.mediaDevices?.addEventListener?.('devicechange', async () => {
    if (app.stream) controls.setCameras(await listCameras(), app.track?.getSettings().deviceId);
  });

  status.set('isolated', globalThis.crossOriginIsolated ? 'yes' : 'no (WASM runs on one thread)',
    globalThis.crossOriginIsolated ? 'ok' : 'bad');
  enableButton.addEventListener('click', enableCamera);
  stopButton.addEventListener('click', stopCamera);
  window.vbg.state = 'idle';
  const manifestsLoaded = loadManifests(); // in parallel with the runtime's download
  loadModel();

  return {
    /** The composited stream, the same object for the life of the page (null before the first camera start). */
    get outputStream() { return app.outputStream; },
    get running() { return Boolean(app.stream); },
    enableCamera,
    stopCamera,
    message,
    onCameraChange(listener) { cameraListeners.push(listener); },
  };
}
