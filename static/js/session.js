/** A running camera session: every camera frame is composited with the mask computed from that
 * same frame, so the background follows a moving person instead of trailing them.
 *
 * Each camera frame goes into a slot of the GPU frame ring (gl/frame_ring.js). Then:
 * - the motion gate shows the current mask still fits it (nothing changed in the mask's edge band
 *   since the mask's frame): composited at once with that mask;
 * - otherwise the frame is segmented (or waits for the segmenter, replacing an older waiting frame)
 *   and is composited when its own mask arrives: the picture is about one inference behind the
 *   camera, the trade Meet and MediaPipe make;
 * - the deadline: when DEADLINE_FRAMES camera frames in a row are still waiting (a slow device, a
 *   busy core), the newest frame is composited with the newest mask, but every pixel that changed
 *   since that mask's frame is background (refine.frag.js): blurred room there, never the raw camera;
 * - without a trustworthy mask (none yet, segmenter gone, failing, or too old: privacy_guard.js)
 *   the whole frame is the privacy blur.
 * The render loop never waits on inference: frames that are not composited yet simply wait in the
 * ring. `sync: false` (`?sync=0`, for the benchmark only) is the old behaviour: every frame composited
 * on arrival with the newest mask, whatever frame it came from. */
import { startFrameLoop } from './frame_loop.js';
import { createMotionGate } from './motion_gate.js';
import { createPrivacyGuard } from './privacy_guard.js';
import { createQualityController } from './quality.js';

const MS_PER_S = 1000;
const FPS_WINDOW_MS = 1000; // processed fps is counted over 1 s windows
const DEFAULT_CAMERA_FPS = 30; // when the track does not report its rate
// Frames waiting in a row before the deadline path draws the newest one: a frame's mask may take up
// to 2 camera intervals (66.7 ms at 30 fps, the added-latency target) before the picture moves on
// without it. One interval would send every inference slower than 33 ms down the (coarser) deadline
// path; measured here inference p95 is 18 ms, so 2 leaves room for a busy core's hiccups.
export const DEADLINE_FRAMES = 2;

/** How a frame was composited (the benchmark probe records it; e2e tests check it). */
export const COMPOSITED_WITH = Object.freeze({
  OWN_MASK: 0, // the mask computed from this very frame
  GATE_PROVEN: 1, // an earlier frame's mask, which the motion gate showed fits this frame
  DEADLINE: 2, // the newest mask, with every pixel changed since its frame shown as background
  PRIVACY_BLUR: 3, // no trustworthy mask: the whole frame blurred
  UNSYNCED: 4, // `?sync=0`: the newest mask whatever frame it came from (the old behaviour)
});

/**
 * @param {{pipeline, video: HTMLVideoElement, canvas: HTMLCanvasElement, look: () => object,
 *   onProblem: (topic, error|null) => void, probe?, sync?: boolean}} options
 */
export function createSession({ pipeline: firstPipeline, video, canvas, look, onProblem, probe = null, sync = true }) {
  let pipeline = firstPipeline; // null while the WebGL context is lost: no frame is drawn
  const gate = createMotionGate();
  const guard = createPrivacyGuard();
  const quality = createQualityController();
  const stats = {
    frames: 0, fps: 0, cameraFps: DEFAULT_CAMERA_FPS, inferenceMs: 0, backend: '-',
    gateState: 'running', skipRate: 0, droppedFrames: 0, latencyMs: 0, quality: quality.tier.name, qualityPinned: false,
    segmentations: 0, failures: 0, personVisible: false, deadlineFrames: 0, sync,
  };
  const state = {
    segmenter: null, stopLoop: null,
    serial: 0, // camera frames taken in, never reset: a result for an older frame can never match a newer one
    inflight: null, // the slot whose mask is being computed
    waiting: null, // the newest slot that needs a mask and waits for the segmenter
    shownSerial: 0, // serial of the newest composited frame
    windowStart: 0, windowFrames: 0, lastPresented: -1, lastCallback: 0, snapshotWaiters: [],
    awaitingFirstMask: false,
  };
  const lookWithGuard = {
    mode: 'blur', blurLevel: 'light', colour: '#000000', personVisible: false, tier: quality.tier, distrustChange: false,
  };

  /** Per camera frame: take it in, decide how it is composited, count it. */
  function onFrame(now, metadata) {
    const started = performance.now();
    const slot = pipeline ? takeFrameIn(metadata, started) : null;
    if (!slot) return;
    routeFrame(slot, started);
    slot.uploadMs = performance.now() - started;
    countCameraFrame(now, metadata, started);
  }

  /** Upload the camera frame into a free ring slot and stamp it; null until the video has a frame. */
  function takeFrameIn(metadata, started) {
    const slot = pipeline.ring.acquire(state.inflight, state.waiting, pipeline.lastComposited);
    if (!pipeline.uploadFrame(video, slot)) return null;
    state.serial += 1;
    slot.serial = state.serial;
    slot.arrivedAt = started;
    slot.capturedAt = metadata?.captureTime ?? metadata?.presentationTime ?? Number.NaN;
    slot.ranSegmentation = false;
    slot.uploadMs = Number.NaN; // set by onFrame; a frame composited before then measures it itself
    if (probe) slot.code = probe.readFrameCode(slot.small.framebuffer);
    return slot;
  }

  /** Composite the frame now (privacy blur, a mask the gate shows fits, the old unsynced way) or
   * have it segmented and wait for its own mask, unless the deadline has come. */
  function routeFrame(slot, started) {
    if (!guard.personVisible(started)) {
      // No mask to trust: blurred now, and this frame is segmented so the person comes back.
      segmentOrWait(slot);
      composite(slot, COMPOSITED_WITH.PRIVACY_BLUR);
    } else if (!gate.shouldRun(pipeline.measureMotion(slot), guard.maskAge(started))) {
      state.waiting = null; // an older waiting frame is superseded by one the mask already fits
      composite(slot, COMPOSITED_WITH.GATE_PROVEN);
    } else if (!sync) {
      segmentOrWait(slot);
      state.waiting = null;
      composite(slot, COMPOSITED_WITH.UNSYNCED);
    } else {
      segmentOrWait(slot);
      compositeIfDeadline(slot);
    }
  }

  /** After DEADLINE_FRAMES frames in a row waited for their masks, the newest is drawn now. */
  function compositeIfDeadline(slot) {
    if (state.serial - state.shownSerial <= DEADLINE_FRAMES) return;
    stats.deadlineFrames += 1;
    composite(slot, COMPOSITED_WITH.DEADLINE);
  }

  /** Segment `slot` now if the segmenter is idle; else it waits (replacing an older waiting frame). */
  function segmentOrWait(slot) {
    const segmenter = state.segmenter;
    if (!segmenter) return;
    if (segmenter.busy) {
      state.waiting = slot;
      return;
    }
    pipeline.prepareInput(slot, segmenter.input);
    state.inflight = slot;
    slot.ranSegmentation = true;
    // One pair of handlers per slot, made once: no closure per frame.
    slot.handlers ??= { resolve: (result) => onResult(slot, result), reject: (error) => onRunFailure(slot, error) };
    segmenter.run(slot.serial).then(slot.handlers.resolve, slot.handlers.reject);
  }

  /** After a run settles: the frame that waited meanwhile goes to the segmenter. */
  function segmentWaiting() {
    const waiting = state.waiting;
    if (!waiting || !state.segmenter || state.segmenter.busy || !pipeline) return;
    state.waiting = null;
    segmentOrWait(waiting);
  }

  function onResult(slot, result) {
    if (state.inflight !== slot || result.frameId !== slot.serial) {
      segmentWaiting(); // a result for a frame from before a camera restart or a new segmenter
      return;
    }
    state.inflight = null;
    pipeline.setMask(result.mask, slot);
    probe?.maskArrived(result.mask, result.inferenceMs, slot.code);
    stats.inferenceMs = result.inferenceMs;
    stats.segmentations += 1;
    // A segmentation problem is over when masks flow again, not when a new segmenter is merely ready.
    if (guard.failedAt !== null || state.awaitingFirstMask) onProblem('segmentation', null);
    state.awaitingFirstMask = false;
    guard.maskArrived(slot.arrivedAt);
    if (sync && slot.serial > state.shownSerial) {
      const waiting = state.waiting;
      if (waiting && gate.fits(pipeline.measureMotion(waiting))) {
        state.waiting = null; // the newer waiting frame needs no mask of its own
        composite(waiting, COMPOSITED_WITH.GATE_PROVEN);
      } else {
        composite(slot, COMPOSITED_WITH.OWN_MASK);
      }
    }
    segmentWaiting();
  }

  function onRunFailure(slot, error) {
    if (state.inflight !== slot) {
      segmentWaiting();
      return;
    }
    state.inflight = null;
    guard.failed(performance.now(), error);
    stats.failures += 1;
    onProblem('segmentation', error);
    // The frame gets no mask of its own: drawn now the safe way (the guard decides whether the
    // person may still be shown at all), unless a newer frame already was.
    if (sync && pipeline && slot.serial > state.shownSerial && !state.waiting) composite(slot, COMPOSITED_WITH.DEADLINE);
    segmentWaiting();
  }

  /** Draw `slot` the way `how` says, hand any snapshot its PNG, and count the frame. */
  function composite(slot, how) {
    const started = performance.now();
    const base = look();
    lookWithGuard.mode = base.mode;
    lookWithGuard.blurLevel = base.blurLevel;
    lookWithGuard.colour = base.colour;
    lookWithGuard.personVisible = how !== COMPOSITED_WITH.PRIVACY_BLUR && guard.personVisible(started);
    lookWithGuard.distrustChange = how === COMPOSITED_WITH.DEADLINE;
    lookWithGuard.tier = quality.tier;
    pipeline.composite(slot, lookWithGuard);
    state.shownSerial = slot.serial;
    // The drawing buffer is only valid during this task (preserveDrawingBuffer: false).
    if (state.snapshotWaiters.length) flushSnapshots();
    countComposited(slot, how, started);
  }

  /** Per composited frame: stats, the processed fps, and the benchmark probe's record. */
  function countComposited(slot, how, started) {
    const finished = performance.now();
    stats.frames += 1;
    stats.personVisible = lookWithGuard.personVisible;
    if (Number.isFinite(slot.capturedAt)) stats.latencyMs = finished - slot.capturedAt;
    state.windowFrames += 1;
    if (finished - state.windowStart >= FPS_WINDOW_MS) {
      stats.fps = (state.windowFrames * MS_PER_S) / (finished - state.windowStart);
      state.windowStart = finished;
      state.windowFrames = 0;
    }
    if (probe) {
      if (probe.wantsAlpha) pipeline.readAlpha(probe.alphaBuffer);
      const takeInMs = Number.isNaN(slot.uploadMs) ? started - slot.arrivedAt : slot.uploadMs;
      probe.frameDone(slot, takeInMs + finished - started, lookWithGuard.personVisible, how, gate.lastChangedFraction);
    }
  }

  /** Per camera frame: stats, and the quality controller's pacing. */
  function countCameraFrame(now, metadata, started) {
    const segmenter = state.segmenter;
    stats.gateState = segmenter?.busy ? 'segmenting' : gate.state;
    stats.skipRate = gate.skipRate;
    stats.backend = segmenter?.backend ?? '-';
    const cameraIntervalMs = MS_PER_S / stats.cameraFps;
    const advanced = cameraFramesSince(metadata, now, cameraIntervalMs);
    if (advanced > 1) stats.droppedFrames += advanced - 1;
    if (quality.observe(performance.now() - started, advanced, cameraIntervalMs)) stats.quality = quality.tier.name;
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

  /** Nothing from before is trusted: no frame waits, and the picture is blurred until the next mask. */
  function forgetFrames(error = null) {
    state.inflight = null;
    state.waiting = null;
    guard.lost(performance.now(), error);
  }

  return {
    stats,
    gate,
    guard,
    quality,
    /** Draw with another pipeline (rebuilt after a WebGL context loss), or none (null) meanwhile. */
    setPipeline(next) {
      pipeline = next;
      forgetFrames();
    },
    /**
     * Use a (new) segmenter, or none (null: it died, lost its device, or is being switched; `error`
     * says why when it failed). Either way the picture is blurred from this frame until the
     * segmenter's first mask: masks from before are not trusted.
     */
    setSegmenter(segmenter, error = null) {
      state.segmenter = segmenter;
      forgetFrames(error);
      if (error) stats.failures += 1; // the supervisor reports the problem itself
      state.awaitingFirstMask = segmenter !== null;
    },
    /** Start drawing frames of `video` (already playing `stream`). */
    start(track) {
      const settings = track.getSettings();
      stats.cameraFps = settings.frameRate || DEFAULT_CAMERA_FPS;
      quality.start(settings.width || video.videoWidth);
      stats.quality = quality.tier.name;
      stats.qualityPinned = quality.pinned;
      forgetFrames();
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
      forgetFrames();
    },
    /** A PNG of the next composited frame. */
    snapshot() {
      return new Promise((resolve) => state.snapshotWaiters.push(resolve));
    },
  };
}
