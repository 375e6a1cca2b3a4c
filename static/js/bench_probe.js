/** Benchmark probe, present only with `?bench=1`: records per-frame timings and which clip frame
 * and which mask each composited frame used, into preallocated arrays that benchmarks/pipeline.py
 * reads back. Clips built with `clips.build --barcode` carry their frame index as a row of black and
 * white blocks in the top-left corner (FRAME_CODE layout below); the probe reads it from the
 * model-size frame. */

// Must match clips/build.py's barcode: BITS blocks of BLOCK_FRACTION of the frame width each, in
// the top rows, most significant bit first.
export const FRAME_CODE = Object.freeze({ bits: 12, blockFraction: 1 / 40 });
const CAPACITY_FRAMES = 8192; // ~4.5 min at 30 fps
const MASK_CAPACITY = 2048; // distinct masks kept (8-bit, model size)

export function benchEnabled(search) {
  return new URLSearchParams(search).get('bench') === '1';
}

export function createBenchProbe(gl, modelWidth, modelHeight) {
  const row = new Uint8Array(modelWidth * 4);
  const maskBytes = modelWidth * modelHeight;
  const records = {
    count: 0,
    finishedAt: new Float64Array(CAPACITY_FRAMES), // performance.now() after compositing, ms
    capturedAt: new Float64Array(CAPACITY_FRAMES), // camera frame capture time, ms (NaN if unknown)
    processingMs: new Float32Array(CAPACITY_FRAMES), // JS time spent in the frame callback
    frameCode: new Int32Array(CAPACITY_FRAMES), // clip frame index read from the barcode
    maskSerial: new Int32Array(CAPACITY_FRAMES), // which stored mask was composited (-1: none)
    ranSegmentation: new Uint8Array(CAPACITY_FRAMES),
    personVisible: new Uint8Array(CAPACITY_FRAMES),
    maskCount: 0,
    maskFrameCode: new Int32Array(MASK_CAPACITY), // clip frame the mask was computed from
    masks: new Uint8Array(MASK_CAPACITY * maskBytes),
    inferenceMs: new Float32Array(MASK_CAPACITY),
  };
  const blockPx = modelWidth * FRAME_CODE.blockFraction;
  const sampleRow = Math.floor(blockPx / 2);
  let currentCode = -1;
  let pendingCode = -1;
  let currentSerial = -1;

  return {
    records,
    /** Read this frame's clip index from the model-size frame (bound as `framebuffer`). */
    readFrameCode(framebuffer) {
      gl.bindFramebuffer(gl.FRAMEBUFFER, framebuffer);
      gl.readPixels(0, sampleRow, modelWidth, 1, gl.RGBA, gl.UNSIGNED_BYTE, row);
      gl.bindFramebuffer(gl.FRAMEBUFFER, null);
      let code = 0;
      for (let bit = 0; bit < FRAME_CODE.bits; bit += 1) {
        const x = Math.floor((bit + 0.5) * blockPx);
        code = code * 2 + (row[x * 4 + 1] > 127 ? 1 : 0); // green channel: luma-heavy
      }
      currentCode = code;
    },
    /** A segmentation run starts on this frame. */
    segmentationStarted() {
      pendingCode = currentCode;
    },
    /** A mask arrived and is composited from now on. */
    maskArrived(mask, inferenceMs) {
      if (records.maskCount >= MASK_CAPACITY) return;
      const serial = records.maskCount;
      const offset = serial * maskBytes;
      for (let i = 0; i < maskBytes; i += 1) records.masks[offset + i] = mask[i] * 255;
      records.maskFrameCode[serial] = pendingCode;
      records.inferenceMs[serial] = inferenceMs;
      records.maskCount += 1;
      currentSerial = serial;
    },
    /** After compositing a frame. */
    frameDone(capturedAt, processingMs, ranSegmentation, personVisible) {
      const i = records.count;
      if (i >= CAPACITY_FRAMES) return;
      records.finishedAt[i] = performance.now();
      records.capturedAt[i] = capturedAt ?? Number.NaN;
      records.processingMs[i] = processingMs;
      records.frameCode[i] = currentCode;
      records.maskSerial[i] = currentSerial;
      records.ranSegmentation[i] = ranSegmentation ? 1 : 0;
      records.personVisible[i] = personVisible ? 1 : 0;
      records.count += 1;
    },
    reset() {
      records.count = 0;
      records.maskCount = 0;
      currentSerial = -1;
    },
  };
}
