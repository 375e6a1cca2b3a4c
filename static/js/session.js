/** A running camera session: for every camera frame, upload -> gate -> (segment) -> composite.
 *
 * The render loop never waits on inference: a run starts when the gate asks for one and the
 * segmenter is idle, and its mask is used from the first frame after it arrives. */
import { startFrameLoop } from './frame_loop.js';
import { createMotionGate } from './motion_gate.js';
import { createPrivacyGuard } from './privacy_guard.js';
import { createQualityController } from './quality.js';

const MS_PER_S = 1000;
const FPS_WINDOW_MS = 1000; // processed fps is counted over 1 s windows
const DEFAULT_CAMERA_FPS = 30; // when the track does not report its rate

/**
 * @param {{pipeline, video: HTMLVideoElement, canvas: HTMLCanvasElement, look: () => object, onProblem: (topic, error|null) => void}} options
 */
export function createSession({ pipeline: firstPipeline, video, canvas, look, onProblem, probe = null }) {
  let pipeline = firstPipeline; // null while the WebGL context is lost: no frame is drawn
  const gate = createMotionGate();
  const guard = createPrivacyGuard();
  const quality = createQualityController();
  const stats = {
    frames: 0, fps: 0, cameraFps: DEFAULT_CAMERA_FPS, inferenceMs: 0, backend: '-',
    gateState: 'running', skipRate: 0, droppedFrames: 0, latencyMs: 0, quality: quality.tier.name, qualityPinned: false,
    segmentations: 0, failures: 0, personVisible: false,
  };
  const state = {
    segmenter: null, stopLoop: null, pending: null, frameId: 0,
    windowStart: 0, windowFrames: 0, lastPresented: -1, lastCallback: 0, snapshotWaiters: [],
    awaitingFirstMask: false,
  };
  const lookWithGuard = { mode: 'blur', blurLevel: 'light', colour: '#000000', personVisible: false, tier: quality.tier };

  function onResult(result) {
    state.pending = result;
    probe?.maskArrived(result.mask, result.inferenceMs);
    stats.inferenceMs = result.inferenceMs;
  }

  function onRunFailure(error) {
    guard.failed(performance.now(), error);
    stats.failures += 1;
    onProblem('segmentation', error);
  }

  function onFrame(now, metadata) {
    const started = performance.now();
    if (!pipeline || !pipeline.uploadFrame(video)) return;
    if (probe) probe.readFrameCode(pipeline.smallFrameBuffer);
    if (state.pending) {
      pipeline.setMask(state.pending.mask);
      // A segmentation problem is over when masks flow again, not when a new segmenter is merely ready.
      if (guard.failedAt !== null || state.awaitingFirstMask) onProblem('segmentation', null);
      state.awaitingFirstMask = false;
      guard.maskArrived();
      stats.segmentations += 1;
      state.pending = null;
    }
    const segmenter = state.segmenter;
    let ran = false;
    if (segmenter && !segmenter.busy) {
      if (gate.shouldRun(pipeline.measureMotion())) {
        pipeline.prepareInput(segmenter.input);
        state.frameId += 1;
        probe?.segmentationStarted();
        segmenter.run(state.frameId).then(onResult, onRunFailure);
        ran = true;
      }
    }
    const base = look();
    lookWithGuard.mode = base.mode;
    lookWithGuard.blurLevel = base.blurLevel;
    lookWithGuard.colour = base.colour;
    lookWithGuard.personVisible = guard.personVisible(started);
    lookWithGuard.tier = quality.tier;
    pipeline.composite(lookWithGuard);
    // The drawing buffer is only valid during this task (preserveDrawingBuffer: false).
    if (state.snapshotWaiters.length) flushSnapshots();

    const finished = performance.now();
    stats.frames += 1;
    stats.personVisible = lookWithGuard.personVisible;
    stats.gateState = segmenter?.busy ? 'segmenting' : gate.state;
    stats.skipRate = gate.skipRate;
    stats.backend = segmenter?.backend ?? '-';
    const captured = metadata?.captureTime ?? metadata?.presentationTime;
    if (captured) stats.latencyMs = finished - captured;
    const cameraIntervalMs = MS_PER_S / stats.cameraFps;
    const advanced = cameraFramesSince(metadata, now, cameraIntervalMs);
    if (advanced > 1) stats.droppedFrames += advanced - 1;
    state.windowFrames += 1;
    if (finished - state.windowStart >= FPS_WINDOW_MS) {
      stats.fps = (state.windowFrames * MS_PER_S) / (finished - state.windowStart);
      state.windowStart = finished;
      state.windowFrames = 0;
    }
    if (quality.observe(finished - started, advanced, cameraIntervalMs)) stats.quality = quality.tier.name;
    probe?.frameDone(captured, finished - started, ran, lookWithGuard.personVisible);
  }

  /** Camera frames since the previous callback (1 = none dropped): presentedFrames' step, or
   * without frame metadata (requestAnimationFrame fallback), the elapsed time in camera intervals. */
  function cameraFramesSince(metadata, now, cameraIntervalMs) {
    let advanced = 1;
    if (metadata) {
      if (state.lastPresented >= 0) advanced = metadata.presentedFrames - state.lastPresented;
      state.lastPresented = metadata.presentedFrames;
    } else {
      if (state.lastCallback > 0) advanced = Math.max(1, Math.round((now - state.lastCallback) / cameraIntervalMs));
      state.lastCallback = now;
    }
    return advanced;
  }

  function flushSnapshots() {
    const waiters = state.snapshotWaiters.splice(0);
    canvas.toBlob((blob) => {
      for (const resolve of waiters) resolve(blob);
    }, 'image/png');
  }

  return {
    stats,
    gate,
    guard,
    quality,
    /** Draw with another pipeline (rebuilt after a WebGL context loss), or none (null) meanwhile. */
    setPipeline(next) {
      pipeline = next;
      state.pending = null;
    },
    /** Use a (new) segmenter; null while there is none (the picture stays blurred). */
    setSegmenter(segmenter) {
      state.segmenter = segmenter;
      state.pending = null;
      state.awaitingFirstMask = segmenter !== null;
    },
    /** Start drawing frames of `video` (already playing `stream`). */
    start(track) {
      const settings = track.getSettings();
      stats.cameraFps = settings.frameRate || DEFAULT_CAMERA_FPS;
      quality.start(settings.width || video.videoWidth);
      stats.quality = quality.tier.name;
      stats.qualityPinned = quality.pinned;
      guard.reset();
      gate.reset();
      pipeline.resetMask();
      state.windowStart = performance.now();
      state.windowFrames = 0;
      state.lastPresented = -1;
      state.lastCallback = 0;
      state.stopLoop = startFrameLoop(video, onFrame, { cameraFps: stats.cameraFps });
    },
    stop() {
      state.stopLoop?.();
      state.stopLoop = null;
    },
    /** A PNG of the next composited frame. */
    snapshot() {
      return new Promise((resolve) => state.snapshotWaiters.push(resolve));
    },
  };
}
