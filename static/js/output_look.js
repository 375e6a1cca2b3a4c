/** What the output view (/output) draws behind the person: `?background=` or, without it, the
 * background the user last chose in the studio (the same settings store). */
import { builtinBackgrounds, BUILTIN_IMAGE_PREFIX } from './backgrounds/builtin.js';
import { isAdminImageId } from './backgrounds/admin.js';
import { UserError } from './user_error.js';

// The keying green of broadcast chroma keyers (Rec. 709 "chroma key green", as OBS's Chroma Key
// filter's default "Green" expects): far from every skin tone.
export const CHROMA_KEY_GREEN = '#00b140';
/** The `?background=` words besides a picture's name. */
export const OUTPUT_BACKGROUNDS = Object.freeze(['blur', 'green', 'transparent']);
const BUILTIN_NAMES = Object.freeze(builtinBackgrounds.map(({ id }) => id));

function pictureId(value) {
  if (BUILTIN_NAMES.includes(value)) return `${BUILTIN_IMAGE_PREFIX}${value}`;
  if (value.startsWith(BUILTIN_IMAGE_PREFIX) && BUILTIN_NAMES.includes(value.slice(BUILTIN_IMAGE_PREFIX.length))) return value;
  return isAdminImageId(value) ? value : null;
}

/**
 * The look to draw: {mode, blurLevel, colour, imageId}, plus `fromStudio` (it follows the studio's
 * choice) and `problem` (a UserError for a `?background=` we do not know; the studio's choice is used).
 * @param {string} search the page URL's query
 * @param {object} stored the studio's settings (ui/settings_store.js)
 */
export function outputLook(search, stored) {
  const studio = { mode: stored.mode, blurLevel: stored.blurLevel, colour: stored.colour, imageId: stored.imageId };
  const wanted = new URLSearchParams(search).get('background')?.trim().toLowerCase();
  if (!wanted) return { ...studio, fromStudio: true, problem: null };
  if (wanted === 'blur') return { ...studio, mode: 'blur', fromStudio: false, problem: null };
  if (wanted === 'green') return { ...studio, mode: 'colour', colour: CHROMA_KEY_GREEN, fromStudio: false, problem: null };
  if (wanted === 'transparent') return { ...studio, mode: 'transparent', fromStudio: false, problem: null };
  const imageId = pictureId(wanted);
  if (imageId) return { ...studio, mode: 'image', imageId, fromStudio: false, problem: null };
  const choices = [...OUTPUT_BACKGROUNDS, ...BUILTIN_NAMES].join(', ');
  return {
    ...studio,
    fromStudio: true,
    problem: new UserError(`Unknown background "${wanted.slice(0, 40)}".`, `Showing the studio's choice. Use ?background= with one of: ${choices}.`),
  };
}
