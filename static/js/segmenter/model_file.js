/** Download a model's weights and check them against the manifest's sha256 before the runtime sees them. */
import { FAILURE } from './segmenter_error.js';

/** A failure with one of FAILURE's codes, for the worker to post to the page. */
export class CodedError extends Error {
  constructor(code, detail) {
    super(detail);
    this.code = code;
  }
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * Resolve to the model's bytes (Uint8Array) or reject with a CodedError (missing, download, damaged).
 * `damage(bytes)` is the test-only corruption hook; it runs before the check, like a bad disk would.
 */
export async function fetchModelBytes(url, sha256, damage = null) {
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new CodedError(FAILURE.MODEL_DOWNLOAD, `${url}: ${error.message}`);
  }
  if (response.status === 404) throw new CodedError(FAILURE.MODEL_MISSING, `HTTP 404 for ${url}`);
  if (!response.ok) throw new CodedError(FAILURE.MODEL_DOWNLOAD, `HTTP ${response.status} for ${url}`);
  let bytes;
  try {
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    throw new CodedError(FAILURE.MODEL_DOWNLOAD, `${url}: ${error.message}`);
  }
  damage?.(bytes);
  // crypto.subtle exists only in secure contexts (https, localhost); elsewhere the camera does not work
  // either, so skipping the check there loses nothing a user could reach.
  if (sha256 && globalThis.crypto?.subtle) {
    const actual = hex(await crypto.subtle.digest('SHA-256', bytes));
    if (actual !== sha256.toLowerCase()) {
      throw new CodedError(FAILURE.MODEL_DAMAGED, `sha256 ${actual} of ${url}, manifest says ${sha256}`);
    }
  }
  return bytes;
}
