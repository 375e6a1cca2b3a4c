/** Benchmark probe, present only with `?bench=1`: records per composited frame which clip frame it
 * showed, which mask it used and how (session.js COMPOSITED_WITH), with timings, into preallocated
 * arrays that benchmarks/pipeline.py and the e2e latency tests read back. Clips built with
 * `clips.build --barcode` carry their frame index as a row of black and white blocks in the top-left
 * corner (FRAME_CODE layout below); the probe reads it from the model-size frame. With
 * `?bench=alpha` it also keeps the composite's alpha (the share of each pixel that is camera) at the
 * model's size for every composited frame: output-level quality, whatever the background. */

// Must match clips/build.py's barcode: BITS blocks of BLOCK_FRACTION of the frame width each, in
// the top rows, most significant bit first.
export const FRAME_CODE = Object.freeze({ bits: 12, blockFraction: 1 / 40 });
const CAPACITY_FRAMES = 8192; // ~4.5 min at 30 fps
const MASK_CAPACITY = 2048; // distinct masks kept (8-bit, model size)
const ALPHA_CAPACITY = 1500; // composited frames whose alpha is kept (50 s at 30 fps; 55 MB at 256x144)

/** Whether the URL asks for the probe; 'alpha' asks for the output alpha too. */
export function benchEnabled(search) {
  const value = new URLSearchParams(search).get('bench');
  return value === '1' || value === 'alpha';
}

export function createBenchProbe(gl, modelWidth, modelHeight, search = location.search) {
  const row = new Uint8Array(modelWidth * 4);
  const maskBytes = modelWidth * modelHeight;
  const wantsAlpha = new URLSearchParams(search).get('bench') === 'alpha';
  const records = {
    count: 0,
    finishedAt: new Float64Array(CAPACITY_FRAMES), // performance.now() after compositing, ms
    capturedAt: new Float64Array(CAPACITY_FRAMES), // camera frame capture time, ms (NaN if unknown)
    arrivedAt: new Float64Array(CAPACITY_FRAMES), // when the page took the camera frame in, ms
    processingMs: new Float32Array(CAPACITY_FRAMES), // JS time: taking the frame in plus compositing it
    frameCode: new Int32Array(CAPACITY_FRAMES), // clip frame index read from the barcode
    maskSerial: new Int32Array(CAPACITY_FRAMES), // which stored mask was composited (-1: none)
    compositedWith: new Uint8Array(CAPACITY_FRAMES), // session.js COMPOSITED_WITH
    changedFraction: new Float32Array(CAPACITY_FRAMES), // the gate's last changed fraction of the edge band
    ranSegmentation: new Uint8Array(CAPACITY_FRAMES),
    personVisible: new Uint8Array(CAPACITY_FRAMES),
    maskCount: 0,
    maskFrameCode: new Int32Array(MASK_CAPACITY), // clip frame the mask was computed from
    masks: new Uint8Array(MASK_CAPACITY * maskBytes),
    inferenceMs: new Float32Array(MASK_CAPACITY),
    alphaCount: 0,
    alphas: wantsAlpha ? new Uint8Array(ALPHA_CAPACITY * maskBytes) : new Uint8Array(0), // frame i's alpha at i * W*H
  };
  const alphaBuffer = new Uint8Array(wantsAlpha ? 4 * maskBytes : 0); // RGBA readback, reused
  const blockPx = modelWidth * FRAME_CODE.blockFraction;
  const sampleRow = Math.floor(blockPx / 2);
  let currentSerial = -1;

  return {
    records,
    wantsAlpha,
    alphaBuffer,
    /** The clip index of the frame in the model-size `framebuffer`. */
    readFrameCode(framebuffer) {
      gl.bindFramebuffer(gl.FRAMEBUFFER, framebuffer);
      gl.readPixels(0, sampleRow, modelWidth, 1, gl.RGBA, gl.UNSIGNED_BYTE, row);
      gl.bindFramebuffer(gl.FRAMEBUFFER, null);
      let code = 0;
      for (let bit = 0; bit < FRAME_CODE.bits; bit += 1) {
        const x = Math.floor((bit + 0.5) * blockPx);
        code = code * 2 + (row[x * 4 + 1] > 127 ? 1 : 0); // green channel: luma-heavy
      }
      return code;
    },
    /** A mask computed from clip frame `code` arrived; it is the newest mask from now on. */
    maskArrived(mask, inferenceMs, code) {
      if (records.maskCount >= MASK_CAPACITY) return;
      const serial = records.maskCount;
      const offset = serial * maskBytes;
      for (let i = 0; i < maskBytes; i += 1) records.masks[offset + i] = mask[i] * 255;
      records.maskFrameCode[serial] = code;
      records.inferenceMs[serial] = inferenceMs;
      records.maskCount += 1;
      currentSerial = serial;
    },
    /** After compositing `slot`'s frame (alphaBuffer filled first when wantsAlpha). */
    frameDone(slot, processingMs, personVisible, compositedWith, changedFraction) {
      const i = records.count;
      if (i >= CAPACITY_FRAMES) return;
      records.finishedAt[i] = performance.now();
      records.capturedAt[i] = slot.capturedAt;
      records.arrivedAt[i] = slot.arrivedAt;
      records.processingMs[i] = processingMs;
      records.frameCode[i] = slot.code;
      records.maskSerial[i] = currentSerial;
      records.compositedWith[i] = compositedWith;
      records.changedFraction[i] = changedFraction;
      records.ranSegmentation[i] = slot.ranSegmentation ? 1 : 0;
      records.personVisible[i] = personVisible ? 1 : 0;
      if (wantsAlpha && i < ALPHA_CAPACITY) {
        const offset = i * maskBytes;
        for (let p = 0; p < maskBytes; p += 1) records.alphas[offset + p] = alphaBuffer[4 * p];
        records.alphaCount = i + 1;
      }
      records.count += 1;
    },
    reset() {
      records.count = 0;
      records.maskCount = 0;
      records.alphaCount = 0;
      currentSerial = -1;
    },
  };
}
