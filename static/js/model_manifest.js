/** Fetch a model's manifest: the one source of truth for its input, normalisation and output. */

export class ModelUnavailableError extends Error {
  constructor(message, cause) {
    super(message);
    this.name = 'ModelUnavailableError';
    this.cause = cause;
  }
}

const REQUIRED_KEYS = ['file', 'sha256', 'precision', 'input', 'output'];

/** What the page calls a model: its manifest's label ("vbg-portrait (int8 weights)"), else "name (precision)". */
export function modelLabel(manifest) {
  return manifest.label ?? `${manifest.name ?? manifest.file} (${manifest.precision})`;
}

/** Resolve to the manifest with a `url` for the weights, or reject with a ModelUnavailableError. */
export async function fetchManifest(manifestUrl) {
  let response;
  try {
    response = await fetch(manifestUrl);
  } catch (error) {
    throw new ModelUnavailableError('The model could not be downloaded: the server did not answer. Check that it is running, then reload.', error);
  }
  if (response.status === 404) {
    throw new ModelUnavailableError('No segmentation model is installed on this server. Run the setup command again (it ships the model), then reload.');
  }
  if (!response.ok) {
    throw new ModelUnavailableError(`The model manifest could not be loaded (HTTP ${response.status}). Reload the page; if it persists, reinstall the server.`);
  }
  let manifest;
  try {
    manifest = await response.json();
  } catch (error) {
    throw new ModelUnavailableError('The model manifest is corrupt (not JSON). Reinstall the model on the server.', error);
  }
  const missing = REQUIRED_KEYS.filter((key) => !(key in manifest));
  if (missing.length) {
    throw new ModelUnavailableError(`The model manifest lacks ${missing.join(', ')}. Reinstall the model on the server.`);
  }
  const base = new URL(manifestUrl, location.href);
  return { ...manifest, url: new URL(`${manifest.sha256}/${manifest.file}`, base).href };
}
