/** Load the shipped model once at start-up and time one inference, to show the runtime really works. */
import { ModelUnavailableError } from './model_manifest.js';

/** Create a session on `backend` and run a blank frame through it; resolves to {session, ms}. */
export async function checkModel(ort, manifest, backend = 'wasm') {
  let session;
  try {
    session = await ort.InferenceSession.create(manifest.url, { executionProviders: [backend] });
  } catch (error) {
    throw new ModelUnavailableError(`The model file did not load (${error.message ?? error}). Reinstall the model on the server, then reload.`, error);
  }
  const shape = manifest.input.shape;
  const blank = new ort.Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  const started = performance.now();
  const outputs = await session.run({ [manifest.input.name]: blank });
  const ms = performance.now() - started;
  outputs[manifest.output.name]?.dispose?.();
  return { session, ms };
}
