/** The page's controls: background gallery, camera and backend pickers, stats switch, compare,
 * snapshot and record. They read and write the settings store; what the choices do is main.js's job.
 *
 * The store is the one source of truth: a control changes the store, and every control is redrawn
 * from the store, so settings restored from localStorage and changes made in code show up alike. */
import { DEFAULT_SETTINGS, parseResolution, RESOLUTIONS, UPLOAD_IMAGE_ID } from './settings_store.js';
import { ACCEPTED_TYPES } from '../backgrounds/upload.js';
import { ACCEPTED_VIDEO_TYPES, isVideoFile } from '../backgrounds/video.js';
import { createGallery, choiceOf, patchOf } from './gallery.js';

const BACKEND_LABELS = Object.freeze({ wasm: 'WebAssembly (CPU)', webgpu: 'WebGPU (graphics card)' });
const BACKEND_SHORT_LABELS = Object.freeze({ wasm: 'WASM', webgpu: 'WebGPU' });
const RECORDING_TICK_MS = 1000; // the recording clock shows whole seconds

function formatClock(seconds) {
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${String(seconds % 60).padStart(2, '0')}`;
}

/**
 * Wire the controls in `doc` to `store`.
 * handlers.onUpload(file) checks and applies the picture or video and shows any error; it resolves
 * to something truthy on success and to nothing on failure. The gallery selects the upload only on
 * success; its tile and thumbnail come through setUpload. handlers.onUploadRemove() forgets the user's
 * file (setUpload(null) then hides its tile).
 * @param {Document} doc
 * @param {{get(): object, update(patch: object): object, subscribe(fn: Function): Function}} store
 * @param {{onUpload(file: File): Promise<unknown>, onUploadRemove(): void, onSnapshot(): void, onRecordToggle(): void, onCompareChange(showingBefore: boolean): void}} handlers
 */
export function bindControls(doc, store, handlers) {
  const byId = (id) => {
    const node = doc.getElementById(id);
    if (!node) throw new Error(`the page is missing #${id}`);
    return node;
  };
  const cameraSelect = byId('camera-select');
  const resolutionSelect = byId('resolution-select');
  const backendSelect = byId('backend-select');
  const statsToggle = byId('stats-toggle');
  const statsOverlay = byId('stats');
  const compareButton = byId('compare-toggle');
  const compareBadge = byId('compare-badge');
  const snapshotButton = byId('snapshot-button');
  const recordButton = byId('record-button');
  const recordLabel = recordButton.querySelector('.tool-label');
  const recordingBadge = byId('recording-badge');
  const recordingTime = byId('recording-time');
  const uploadInput = byId('upload-input');
  const live = byId('controls-live');

  const listeners = [];
  const listen = (target, type, listener) => {
    target.addEventListener(type, listener);
    listeners.push(() => target.removeEventListener(type, listener));
  };

  // Screen readers speak a live region when its text changes; a trailing no-break space that
  // alternates makes a repeated message ("Background: Aurora" twice) count as a change.
  let announcementParity = false;
  function announce(text) {
    announcementParity = !announcementParity;
    live.textContent = announcementParity ? text : `${text}\u00a0`;
  }

  const gallery = createGallery(byId('background-gallery'), {
    onSelect(choice) {
      store.update(patchOf(choice));
      announce(`Background: ${gallery.labelOf(choice)}`);
    },
    onColour(colour, committed) {
      store.update({ mode: 'colour', colour });
      if (committed) announce(`Background: colour ${colour}`);
    },
    onUploadRequest() {
      uploadInput.click();
    },
    onUploadRemove() {
      const label = gallery.labelOf(UPLOAD_IMAGE_ID);
      handlers.onUploadRemove();
      announce(`${label} removed`);
    },
  });

  uploadInput.accept = [...ACCEPTED_TYPES, ...ACCEPTED_VIDEO_TYPES].join(',');
  listen(uploadInput, 'change', async () => {
    const [file] = uploadInput.files;
    // Cleared at once so choosing the same file again fires another change event.
    uploadInput.value = '';
    if (!file) return;
    const kind = isVideoFile(file) ? 'video' : 'image';
    gallery.setUploadBusy(true);
    announce(`Loading your ${kind}…`);
    try {
      // Its tile and thumbnail arrive through setUpload (the studio follows the background choice's file).
      if (!await handlers.onUpload(file)) return;
      store.update({ mode: 'image', imageId: UPLOAD_IMAGE_ID });
      gallery.select(choiceOf(store.get()));
      announce(`Background: your ${kind}`);
    } finally {
      gallery.setUploadBusy(false);
    }
  });

  for (const resolution of RESOLUTIONS) {
    const { width, height } = parseResolution(resolution);
    resolutionSelect.append(new Option(`${height}p (${width} × ${height})`, resolution));
  }
  listen(resolutionSelect, 'change', () => {
    store.update({ resolution: resolutionSelect.value });
    announce(`Resolution: ${resolutionSelect.selectedOptions[0].textContent}`);
  });
  listen(cameraSelect, 'change', () => {
    store.update({ cameraId: cameraSelect.value });
    announce(`Camera: ${cameraSelect.selectedOptions[0].textContent}`);
  });
  listen(backendSelect, 'change', () => {
    store.update({ backend: backendSelect.value });
    announce(`Inference backend: ${backendSelect.selectedOptions[0].textContent}`);
  });
  listen(statsToggle, 'change', () => {
    store.update({ showStats: statsToggle.checked });
    announce(statsToggle.checked ? 'Stats shown on the preview' : 'Stats hidden');
  });

  function setCompare(showingBefore) {
    compareButton.setAttribute('aria-pressed', String(showingBefore));
    compareBadge.hidden = !showingBefore;
  }
  listen(compareButton, 'click', () => {
    const showingBefore = compareButton.getAttribute('aria-pressed') !== 'true';
    setCompare(showingBefore);
    handlers.onCompareChange(showingBefore);
    announce(showingBefore ? 'Showing the original camera picture, on this screen only' : 'Showing the virtual background');
  });
  listen(snapshotButton, 'click', () => handlers.onSnapshot());
  listen(recordButton, 'click', () => handlers.onRecordToggle());

  function selectIfPresent(select, value, fallback) {
    const present = [...select.options].some((option) => option.value === value);
    select.value = present ? value : fallback;
  }

  function render(settings) {
    gallery.setColour(settings.colour);
    gallery.select(choiceOf(settings));
    selectIfPresent(resolutionSelect, settings.resolution, RESOLUTIONS[0]);
    selectIfPresent(cameraSelect, settings.cameraId, '');
    selectIfPresent(backendSelect, settings.backend, 'auto');
    statsToggle.checked = settings.showStats;
    statsOverlay.hidden = !settings.showStats;
  }
  render(store.get());
  const unsubscribe = store.subscribe(render);

  let recording = false;
  let recordingTimer = 0;
  function stopRecordingClock() {
    clearInterval(recordingTimer);
    recordingTimer = 0;
  }

  return {
    /** Fill the camera picker: `devices` as from enumerateDevices, `currentId` the one in use. */
    setCameras(devices, currentId = '') {
      const usable = devices.filter((device) => device.deviceId);
      const current = usable.find((device) => device.deviceId === currentId);
      const defaultLabel = current && !store.get().cameraId ? `Default camera (${current.label || 'in use'})` : 'Default camera';
      cameraSelect.replaceChildren(new Option(defaultLabel, ''),
        ...usable.map((device, index) => new Option(device.label || `Camera ${index + 1}`, device.deviceId)));
      selectIfPresent(cameraSelect, store.get().cameraId, '');
    },

    /** Fill the backend picker: 'Automatic' plus `available`; `current`, if a backend ('wasm'), is the one automatic chose. */
    setBackends(available, current) {
      // "Automatic (WebGPU)" tells what automatic picked; only meaningful while automatic is chosen.
      const picked = store.get().backend === 'auto' ? BACKEND_SHORT_LABELS[current] : undefined;
      const autoLabel = picked ? `Automatic (${picked})` : 'Automatic';
      backendSelect.replaceChildren(new Option(autoLabel, 'auto'),
        ...available.filter((name) => BACKEND_LABELS[name]).map((name) => new Option(BACKEND_LABELS[name], name)));
      selectIfPresent(backendSelect, store.get().backend, 'auto');
    },

    /** Show the user's own file on its tile (`{source, kind}`), or with null (removed, or none remembered)
     * hide the tile: a choice of it falls back to the default picture. */
    setUpload(own) {
      if (own) {
        gallery.showUpload(own.source, own.kind); // checked, when it is the choice
        return;
      }
      gallery.hideUpload();
      if (store.get().imageId === UPLOAD_IMAGE_ID) store.update({ imageId: DEFAULT_SETTINGS.imageId });
    },

    /** Show whether a recording is running (button label, the REC badge and its clock). */
    setRecording(isRecording) {
      if (isRecording === recording) return;
      recording = isRecording;
      recordButton.classList.toggle('is-recording', isRecording);
      recordLabel.textContent = isRecording ? 'Stop recording' : 'Record';
      recordingBadge.hidden = !isRecording;
      stopRecordingClock();
      if (isRecording) {
        const startedAt = performance.now();
        recordingTime.textContent = formatClock(0);
        recordingTimer = setInterval(() => {
          recordingTime.textContent = formatClock(Math.floor((performance.now() - startedAt) / 1000));
        }, RECORDING_TICK_MS);
      }
      announce(isRecording ? 'Recording started' : 'Recording stopped');
    },

    /** Enable the controls that need a running camera; stopping also ends the before/after view. */
    setRunning(isRunning) {
      compareButton.disabled = !isRunning;
      snapshotButton.disabled = !isRunning;
      recordButton.disabled = !isRunning;
      if (!isRunning && compareButton.getAttribute('aria-pressed') === 'true') {
        setCompare(false);
        handlers.onCompareChange(false);
      }
    },

    /** Remove every listener and element this binding added. */
    cleanUp() {
      stopRecordingClock();
      unsubscribe();
      for (const remove of listeners) remove();
      gallery.cleanUp();
    },
  };
}
