"""JS expressions the engine tests and benchmark evaluate in the page (each a plain expression)."""
import io

import numpy as np

# What the engine offers that the page uses, and what the page chose (window.vbg.runtime / model).
CAPABILITIES_JS = """(async () => {
  const validate = (bytes) => { try { return WebAssembly.validate(new Uint8Array(bytes)); } catch { return false; } };
  // wasm-feature-detect's probes: a v128 instruction, and an atomic on shared memory.
  const simd = validate([0,97,115,109,1,0,0,0,1,5,1,96,0,1,123,3,2,1,0,10,10,1,8,0,65,0,253,15,253,98,11]);
  const atomics = validate([0,97,115,109,1,0,0,0,1,4,1,96,0,0,3,2,1,0,5,4,1,3,1,1,10,11,1,9,0,65,0,254,16,2,0,26,11]);
  let webgpu = false;
  try { webgpu = Boolean(navigator.gpu && await navigator.gpu.requestAdapter()); } catch { webgpu = false; }
  const gl = document.createElement('canvas').getContext('webgl2');
  return {
    userAgent: navigator.userAgent,
    webgl2: Boolean(gl),
    floatTargets: Boolean(gl && gl.getExtension('EXT_color_buffer_float')),
    requestVideoFrameCallback: typeof HTMLVideoElement.prototype.requestVideoFrameCallback === 'function',
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    wasmThreads: typeof SharedArrayBuffer === 'function' && atomics,
    wasmSimd: simd,
    webgpu,
    canvasCaptureStream: typeof HTMLCanvasElement.prototype.captureStream === 'function',
    mediaRecorderWebm: typeof MediaRecorder === 'function' && MediaRecorder.isTypeSupported('video/webm'),
    runtime: window.vbg?.runtime ?? null,
    backend: window.vbg?.model?.backend ?? null,
  };
})()"""

def picture(page, size: tuple[int, int], selector: str = "#output") -> np.ndarray:
    """The element as shown (the composited canvas by default), resized to SIZE: (H, W, 3) float32.

    A screenshot, not the canvas's own pixels or its stream: WebKitGTK returns nothing from drawImage of a
    WebGL canvas after its frame, and played no frame of its captureStream in a second video element."""
    from PIL import Image

    png = page.screenshot(selector)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB").resize(size, Image.BILINEAR), np.float32)
