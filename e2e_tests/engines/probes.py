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
    hardwareConcurrency: navigator.hardwareConcurrency || 1,
    wasmThreads: typeof SharedArrayBuffer === 'function' && atomics,
    wasmSimd: simd,
    webgpu,
    canvasCaptureStream: typeof HTMLCanvasElement.prototype.captureStream === 'function',
    mediaRecorderWebm: typeof MediaRecorder === 'function' && MediaRecorder.isTypeSupported('video/webm'),
    runtime: window.vbg?.runtime ?? null,
    backend: window.vbg?.model?.backend ?? null,
  };
})()"""

RECORD_MS = 2000  # of the outgoing stream
# The page's recorder (recorder.js) on the outgoing stream for RECORD_MS: {size, type} of the file, or
# {title} of the RecordingError that explains why there is none.
RECORD_JS = f"""import('/static/js/recorder.js').then(async ({{ startRecording }}) => {{
  try {{
    const recording = startRecording(window.vbg.outputStream);
    await new Promise((resolve) => setTimeout(resolve, {RECORD_MS}));
    const blob = await recording.stop();
    return {{ size: blob.size, type: blob.type }};
  }} catch (error) {{
    return {{ title: error.title ?? String(error) }};
  }}
}})"""


def picture(page, size: tuple[int, int], selector: str = "#output") -> np.ndarray:
    """The element as shown (the composited canvas by default), resized to SIZE: (H, W, 3) float32.

    A screenshot, what a user sees, not the canvas's own pixels: outside the frame's task the drawing buffer
    is gone (preserveDrawingBuffer false), and WebKitGTK's drawImage of it gives black. (Its captureStream
    does play in a second video element once frames are composited: checked while the camera ran.)"""
    from PIL import Image

    png = page.screenshot(selector)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB").resize(size, Image.BILINEAR), np.float32)
