/** The background gallery: one native radio per choice inside a fieldset.
 *
 * Native radios give the radiogroup behaviour for free: one tab stop, arrow keys move and select,
 * screen readers announce "3 of 9". The colour picker and the upload button sit beside the radios
 * as their own controls (an input inside a radio's label would be two controls in one). */
import { ADMIN_IMAGE_PREFIX, loadAdminBackgrounds } from '../backgrounds/admin.js';
import { builtinBackgrounds, BUILTIN_IMAGE_PREFIX } from '../backgrounds/builtin.js';
import { hasSavedSettings, UPLOAD_IMAGE_ID } from './settings_store.js';
import { drawBlurThumbnail, drawBuiltinThumbnail, drawColourThumbnail, drawPictureThumbnail } from './thumbnails.js';

const THUMB_WIDTH = 224; // px: twice the widest tile in CSS px, so thumbnails stay sharp on HiDPI screens
const THUMB_HEIGHT = 126; // px: 16:9 like the preview
const RADIO_NAME = 'background';
const UPLOAD_BUTTON_NAME = 'Upload image or video…';
// The own-upload tile's name, by what was uploaded.
const UPLOAD_LABELS = Object.freeze({ image: 'Your image', video: 'Your video' });
const UPLOAD_CAPTION = 'Upload…';
const REMOVE_LABELS = Object.freeze({ image: 'Remove your image', video: 'Remove your video' });

const VIDEO_BADGE = 'Video'; // on an admin's looping video tile
// What a first visit shows when the admin named no default (settings_store.js's DEFAULT_SETTINGS).
const FALLBACK_CHOICE = 'blur:light';

const BLUR_PREFIX = 'blur:';
const COLOUR_CHOICE = 'colour';
// A picture choice is its imageId, so the own-picture tile's value is the settings' upload id.
const UPLOAD_CHOICE = UPLOAD_IMAGE_ID;

/** The gallery choice that shows `settings` ('blur:light', 'builtin:aurora', 'colour', 'upload'). */
export function choiceOf(settings) {
  if (settings.mode === 'blur') return `${BLUR_PREFIX}${settings.blurLevel}`;
  if (settings.mode === 'colour') return COLOUR_CHOICE;
  return settings.imageId;
}

/** The settings patch that selects gallery `choice`. */
export function patchOf(choice) {
  if (choice.startsWith(BLUR_PREFIX)) return { mode: 'blur', blurLevel: choice.slice(BLUR_PREFIX.length) };
  if (choice === COLOUR_CHOICE) return { mode: 'colour' };
  return { mode: 'image', imageId: choice };
}

/** The radio choices in gallery order: `{value, label, draw(canvas)}`; the colour tile draws itself later. */
function radioChoices() {
  return [
    { value: `${BLUR_PREFIX}light`, label: 'Light blur', draw: (canvas) => drawBlurThumbnail(canvas, 'light') },
    { value: `${BLUR_PREFIX}strong`, label: 'Strong blur', draw: (canvas) => drawBlurThumbnail(canvas, 'strong') },
    ...builtinBackgrounds.map(({ id, label }) => ({
      value: `${BUILTIN_IMAGE_PREFIX}${id}`, label, draw: (canvas) => drawBuiltinThumbnail(canvas, id),
    })),
    { value: COLOUR_CHOICE, label: 'Colour', draw: null },
    { value: UPLOAD_CHOICE, label: UPLOAD_LABELS.image, draw: null },
  ];
}

function element(doc, tag, className, attributes = {}) {
  const node = doc.createElement(tag);
  if (className) node.className = className;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

function createThumb(doc) {
  return element(doc, 'canvas', 'tile-thumb', { width: THUMB_WIDTH, height: THUMB_HEIGHT, 'aria-hidden': 'true' });
}

function createRadioTile(doc, { value, label, badge }) {
  const slot = element(doc, 'div', 'tile-slot');
  const tile = element(doc, 'label', 'tile');
  const input = element(doc, 'input', 'tile-input', { type: 'radio', name: RADIO_NAME, value });
  const face = element(doc, 'span', 'tile-face');
  const thumb = createThumb(doc);
  const caption = element(doc, 'span', 'tile-label');
  caption.textContent = label;
  tile.title = label; // the caption is cut to fit a long name
  face.append(thumb, caption);
  if (badge) {
    const kind = element(doc, 'span', 'tile-kind');
    kind.textContent = badge;
    face.append(kind);
  }
  tile.append(input, face);
  slot.append(tile);
  return { slot, input, thumb, caption };
}

function createUploadButton(doc) {
  const slot = element(doc, 'div', 'tile-slot');
  const button = element(doc, 'button', 'tile tile-upload', { type: 'button', id: 'upload-button' });
  const face = element(doc, 'span', 'tile-face');
  const art = element(doc, 'span', 'tile-upload-art', { 'aria-hidden': 'true' });
  // Our own icon: an arrow out of a tray.
  art.innerHTML = '<svg viewBox="0 0 24 24"><path d="M12 15V4.5M7.5 9 12 4.5 16.5 9M4.5 14.5v4a1.5 1.5 0 0 0 1.5 1.5h12a1.5 1.5 0 0 0 1.5-1.5v-4"/></svg>';
  // The visible word is short to fit the tile; the full name is what assistive technology reads.
  button.setAttribute('aria-label', UPLOAD_BUTTON_NAME);
  const caption = element(doc, 'span', 'tile-label');
  caption.textContent = UPLOAD_CAPTION;
  face.append(art, caption);
  button.append(face);
  slot.append(button);
  return { slot, button, caption };
}

/**
 * Build the gallery inside `fieldset`.
 * @param {{onSelect(choice: string): void, onColour(colour: string, committed: boolean): void, onUploadRequest(): void,
 *   onUploadRemove(): void}} handlers
 */
export function createGallery(fieldset, handlers) {
  const doc = fieldset.ownerDocument;
  const radios = new Map(); // value -> {slot, input, thumb, label}
  const grid = element(doc, 'div', 'gallery-grid');

  function addRadioTile(choice, before = null) {
    const tile = createRadioTile(doc, choice);
    radios.set(choice.value, { ...tile, label: choice.label });
    grid.insertBefore(tile.slot, before);
    choice.draw?.(tile.thumb).catch(() => tile.thumb.classList.add('tile-thumb-missing'));
  }
  for (const choice of radioChoices()) addRadioTile(choice);

  const colourTile = radios.get(COLOUR_CHOICE);
  const colourInput = element(doc, 'input', 'tile-colour-input', { type: 'color', 'aria-label': 'Choose the colour' });
  colourTile.slot.classList.add('tile-slot-colour');
  colourTile.slot.append(colourInput);

  const uploadTile = radios.get(UPLOAD_CHOICE);
  uploadTile.slot.hidden = true; // until the user has chosen a picture
  // A button of its own beside the radio (like the colour picker): forgets the file in this browser.
  const removeButton = element(doc, 'button', 'tile-remove', { type: 'button', 'aria-label': REMOVE_LABELS.image });
  removeButton.title = REMOVE_LABELS.image;
  removeButton.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M7.5 7.5l9 9M16.5 7.5l-9 9"/></svg>';
  uploadTile.slot.append(removeButton);
  const upload = createUploadButton(doc);
  grid.append(upload.slot);
  fieldset.append(grid);

  // Captured before anything is saved: the admin's default applies to a first visit only.
  const firstVisit = !hasSavedSettings(window.localStorage);
  let shownChoice = null; // what the settings show, kept for tiles that arrive later
  let userChose = false;
  grid.addEventListener('change', (event) => {
    if (event.target.name !== RADIO_NAME || !event.target.checked) return;
    userChose = true;
    handlers.onSelect(event.target.value);
  });

  // The admin's backgrounds (vbg serve --backgrounds-dir) join the built-ins when the server's list arrives.
  const adminTilesAdded = loadAdminBackgrounds().then(({ backgrounds }) => {
    if (!grid.isConnected) return;
    for (const { id, name, kind } of backgrounds) {
      const value = `${ADMIN_IMAGE_PREFIX}${id}`;
      addRadioTile({
        value, label: name, badge: kind === 'video' ? VIDEO_BADGE : null,
        draw: (canvas) => drawBuiltinThumbnail(canvas, value),
      }, colourTile.slot);
    }
    const fallback = backgrounds.find((entry) => entry.default);
    const fallbackChoice = fallback ? `${ADMIN_IMAGE_PREFIX}${fallback.id}` : FALLBACK_CHOICE;
    const wanted = shownChoice;
    if (firstVisit && fallback && !userChose && wanted === FALLBACK_CHOICE) {
      handlers.onSelect(fallbackChoice);
    } else if (wanted?.startsWith(ADMIN_IMAGE_PREFIX) && !radios.has(wanted)) {
      handlers.onSelect(fallbackChoice); // the admin removed it since it was chosen
    }
    if (shownChoice) api.select(shownChoice);
  });

  colourInput.addEventListener('input', () => {
    userChose = true;
    handlers.onColour(colourInput.value, false);
  });
  colourInput.addEventListener('change', () => handlers.onColour(colourInput.value, true));
  removeButton.addEventListener('click', () => handlers.onUploadRemove());
  let uploadBusy = false;
  upload.button.addEventListener('click', () => {
    if (uploadBusy) return;
    userChose = true;
    handlers.onUploadRequest();
  });

  const api = {
    /** Resolves once the admin's backgrounds (if any) are in the gallery. */
    ready: adminTilesAdded,
    /** Check the radio of `choice` (no change event: this mirrors the settings, it does not set them). A choice
     * whose tile is not there yet (the user's file still opening, an admin's list still loading) checks none
     * until the tile arrives. */
    select(choice) {
      shownChoice = choice;
      const tile = radios.get(choice);
      if (tile && !tile.slot.hidden) tile.input.checked = true;
      else for (const other of radios.values()) other.input.checked = false;
    },
    /** Show `colour` on the colour tile and in its picker. */
    setColour(colour) {
      if (colourInput.value !== colour) colourInput.value = colour;
      drawColourThumbnail(colourTile.thumb, colour);
    },
    /** Reveal the "Your image" tile with a preview of `source` (ImageBitmap, image, canvas or video, if any);
     * `kind` 'video' names it "Your video". */
    showUpload(source, kind) {
      uploadTile.slot.hidden = false;
      if (kind) {
        uploadTile.label = UPLOAD_LABELS[kind];
        uploadTile.caption.textContent = uploadTile.label;
        uploadTile.slot.querySelector('.tile').title = uploadTile.label;
        removeButton.setAttribute('aria-label', REMOVE_LABELS[kind]);
        removeButton.title = REMOVE_LABELS[kind];
      }
      if (source) drawPictureThumbnail(uploadTile.thumb, source);
      if (shownChoice === UPLOAD_CHOICE) uploadTile.input.checked = true;
    },
    /** Hide the "Your image" tile (its file was removed); the keyboard focus moves to the upload button. */
    hideUpload() {
      const hadFocus = uploadTile.slot.contains(doc.activeElement);
      uploadTile.slot.hidden = true;
      uploadTile.input.checked = false;
      uploadTile.thumb.getContext('2d')?.clearRect(0, 0, uploadTile.thumb.width, uploadTile.thumb.height);
      if (hadFocus) upload.button.focus();
    },
    /** Mark the upload button busy while a picture is being checked and decoded. */
    setUploadBusy(busy) {
      // aria-disabled, not disabled: a disabled button would drop the keyboard focus.
      uploadBusy = busy;
      upload.button.setAttribute('aria-disabled', String(busy));
      upload.button.setAttribute('aria-busy', String(busy));
      upload.caption.textContent = busy ? 'Loading…' : UPLOAD_CAPTION;
    },
    /** Remove the tiles (and with them their listeners). */
    cleanUp() {
      grid.remove();
    },
    /** The words for `choice` ("Aurora", "Light blur"). */
    labelOf(choice) {
      return radios.get(choice)?.label ?? choice;
    },
  };
  return api;
}
