/** The user's choices (background, camera, backend, stats), validated and kept in localStorage.
 *
 * Every value read back from storage is checked one key at a time: a corrupt or outdated entry
 * loses only that key, which falls back to its default. The 'upload' choice is kept like any other; the
 * file itself is not here but in backgrounds/upload_store.js, and a studio that finds none remembered
 * falls back to the default picture (ui/controls.js setUpload). */
import { builtinBackgrounds, BUILTIN_IMAGE_PREFIX } from '../backgrounds/builtin.js';
import { isAdminImageId } from '../backgrounds/admin.js';

const STORAGE_KEY = 'vbg.settings.v1';
const MAX_CAMERA_ID_LENGTH = 512; // characters; real device ids are 64 hex characters
const COLOUR_PATTERN = /^#[0-9a-f]{6}$/;

/** The imageId of the user's own picture or video (remembered in this browser, backgrounds/upload_store.js). */
export const UPLOAD_IMAGE_ID = 'upload';
const BUILTIN_IMAGE_IDS = Object.freeze(builtinBackgrounds.map(({ id }) => `${BUILTIN_IMAGE_PREFIX}${id}`));

/** The allowed values of each enumerated setting. */
export const MODES = Object.freeze(['blur', 'image', 'colour']);
export const BLUR_LEVELS = Object.freeze(['light', 'strong']);
export const BACKENDS = Object.freeze(['auto', 'wasm', 'webgpu']);
export const RESOLUTIONS = Object.freeze(['1280x720', '960x540', '640x360']);

/** What a first visit gets. */
export const DEFAULT_SETTINGS = Object.freeze({
  mode: 'blur',
  blurLevel: 'light',
  imageId: BUILTIN_IMAGE_IDS[0],
  colour: '#2f5d62', // a calm teal: keeps skin tones natural, unlike saturated greens or blues
  backend: 'auto',
  cameraId: '', // '' = the browser's default camera
  resolution: '1280x720',
  showStats: false,
});

const oneOf = (choices) => (value) => choices.includes(value);

// One check per key; a value that fails its check is never stored.
const VALIDATORS = Object.freeze({
  mode: oneOf(MODES),
  blurLevel: oneOf(BLUR_LEVELS),
  // An admin's background is checked against the server's list once it arrives (ui/gallery.js).
  imageId: (value) => value === UPLOAD_IMAGE_ID || BUILTIN_IMAGE_IDS.includes(value) || isAdminImageId(value),
  colour: (value) => typeof value === 'string' && COLOUR_PATTERN.test(value),
  backend: oneOf(BACKENDS),
  cameraId: (value) => typeof value === 'string' && value.length <= MAX_CAMERA_ID_LENGTH,
  resolution: oneOf(RESOLUTIONS),
  showStats: (value) => typeof value === 'boolean',
});

/** Parse a resolution setting ('1280x720') into `{width, height}` in px. */
export function parseResolution(resolution) {
  const [width, height] = resolution.split('x').map(Number);
  return { width, height };
}

function normalise(key, value) {
  return key === 'colour' && typeof value === 'string' ? value.toLowerCase() : value;
}

function readStored(storage) {
  let raw = null;
  try {
    raw = storage?.getItem(STORAGE_KEY) ?? null;
  } catch {
    return {}; // storage disabled (privacy settings): behave like a first visit
  }
  if (raw === null) return {};
  let parsed;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return {};
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
  const restored = {};
  for (const key of Object.keys(DEFAULT_SETTINGS)) {
    const value = normalise(key, parsed[key]);
    if (Object.hasOwn(parsed, key) && VALIDATORS[key](value)) restored[key] = value;
  }
  return restored;
}

/** Whether `storage` holds a saved choice (false on a first visit, or with storage disabled). */
export function hasSavedSettings(storage) {
  try {
    return storage?.getItem(STORAGE_KEY) != null;
  } catch {
    return false;
  }
}

/** A store over `storage` (window.localStorage, or null for none): get, update, subscribe. */
export function createSettingsStore(storage) {
  let current = Object.freeze({ ...DEFAULT_SETTINGS, ...readStored(storage) });
  const listeners = new Set();

  function persist() {
    try {
      storage?.setItem(STORAGE_KEY, JSON.stringify(current));
    } catch {
      // Full or disabled storage: the choice still applies now, it just will not survive a reload.
    }
  }

  return {
    /** The current settings (a frozen object; replaced, never mutated, on each change). */
    get() {
      return current;
    },

    /** Apply `patch`; throws TypeError on an unknown key or an invalid value (a bug in the caller). */
    update(patch) {
      const changed = [];
      const next = { ...current };
      for (const [key, rawValue] of Object.entries(patch)) {
        if (!Object.hasOwn(VALIDATORS, key)) throw new TypeError(`unknown setting "${key}"`);
        const value = normalise(key, rawValue);
        if (!VALIDATORS[key](value)) throw new TypeError(`invalid value for setting "${key}": ${JSON.stringify(rawValue)}`);
        if (next[key] !== value) {
          next[key] = value;
          changed.push(key);
        }
      }
      if (changed.length === 0) return current;
      current = Object.freeze(next);
      persist();
      for (const listener of listeners) listener(current, changed);
      return current;
    },

    /** Call `listener(settings, changedKeys)` after every change; returns the unsubscribe function. */
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
