/** The picture behind the person in `image` mode: a built-in one, an admin's, or the user's own picture or
 * looping video (which never leaves the browser), handed to the pipeline.
 *
 * The user's own file is remembered in this browser (backgrounds/upload_store.js): a reload, or the output
 * view in another tab, opens it again. A newer upload in another tab replaces it here too; when none is
 * remembered (removed, or a browser that keeps nothing) the `upload` choice shows the default picture. */
import { DEFAULT_SETTINGS, UPLOAD_IMAGE_ID } from '../ui/settings_store.js';
import { renderBuiltinBackground } from '../backgrounds/builtin.js';
import { loadUploadedImage } from '../backgrounds/upload.js';
import { createUploadStore } from '../backgrounds/upload_store.js';
import { isVideoFile, loadUploadedVideo } from '../backgrounds/video.js';
import { findAdminBackground, openAdminVideo } from '../backgrounds/admin.js';

const BACKGROUND_RENDER_SIZE = Object.freeze({ width: 1920, height: 1080 }); // px, built-ins are drawn once at this size

/** Open a checked upload: `{image, video, kind}` (one of image and video set); throws UploadError. */
async function openUpload(file) {
  if (isVideoFile(file)) return { image: null, video: await loadUploadedVideo(file), kind: 'video' };
  return { image: await loadUploadedImage(file), video: null, kind: 'image' };
}

function discard(opened) {
  opened?.video?.release();
  opened?.image?.close?.();
}

/**
 * @param {{store, message, pipeline: () => object|null, uploads?: object}} options
 *   store: the settings store (imageId, mode); pipeline: the current pipeline, null when there is none;
 *   uploads: where the user's own file is remembered (backgrounds/upload_store.js).
 */
export function createBackgroundChoice({ store, message, pipeline, uploads = createUploadStore() }) {
  let own = null; // {image: ImageBitmap|null, video: clip|null, kind} of the user's file, opened
  let remembered = null; // Promise of the remembered file being opened (once per file), resolves to `own`
  let generation = 0; // bumped by every new or removed file: an older file still opening is then dropped
  let adminVideo = null; // {id, clip: {video, play, pause, release}} of the admin's looping video in use
  const uploadListeners = new Set();

  const ownSource = () => own?.video?.video ?? own?.image ?? null;
  const showingUpload = (settings) => settings.mode === 'image' && settings.imageId === UPLOAD_IMAGE_ID;

  /** Replace the user's file in memory (the previous one is released). */
  function keep(opened) {
    if (opened === own) return;
    discard(own);
    own = opened;
    playOnlyWhenShown(store.get());
    for (const listener of uploadListeners) listener(own ? { source: ownSource(), kind: own.kind } : null);
  }

  /** A new file of the user's (or none): it replaces the one in memory, and one still opening is dropped. */
  function replaceOwn(opened) {
    generation += 1;
    remembered = Promise.resolve(opened);
    keep(opened);
  }

  /** Open the remembered file, once per file: resolves to `own` (null when none is remembered). */
  function openRemembered() {
    if (!remembered) {
      const mine = generation;
      remembered = (async () => {
        const file = await uploads.read();
        let opened = null;
        try {
          opened = file && await openUpload(file);
        } catch {
          await uploads.forget(); // it no longer opens (say, a browser without its codec): forget it quietly
        }
        if (mine !== generation) {
          discard(opened); // a newer file arrived meanwhile
          return own;
        }
        keep(opened);
        return own;
      })();
    }
    return remembered;
  }

  /** Show the chosen picture in the current pipeline (a built-in one is drawn first). */
  async function apply() {
    const target = pipeline();
    if (!target) return;
    const wanted = store.get().imageId;
    let imageId = wanted;
    if (wanted === UPLOAD_IMAGE_ID) {
      await openRemembered();
      if (store.get().imageId !== wanted) return;
      const source = ownSource();
      if (source) {
        pipeline()?.setBackground(source);
        return;
      }
      imageId = DEFAULT_SETTINGS.imageId; // nothing remembered: the default picture, never an empty frame
    }
    if (!imageId) return;
    const admin = await findAdminBackground(imageId);
    if (admin?.kind === 'video') {
      await showAdminVideo(imageId);
      return;
    }
    const bitmap = await renderBuiltinBackground(imageId, BACKGROUND_RENDER_SIZE.width, BACKGROUND_RENDER_SIZE.height);
    if (store.get().imageId === wanted) pipeline()?.setBackground(bitmap);
    bitmap.close?.();
  }

  // Another tab of this browser uploaded or removed its file: open the new one (or none) here too.
  uploads.onChange(() => {
    generation += 1;
    remembered = null;
    openRemembered().then(() => {
      if (showingUpload(store.get())) apply();
    });
  });

  /** An admin's looping video (`vbg serve --backgrounds-dir`), opened once and kept while it is chosen. */
  async function showAdminVideo(imageId) {
    if (adminVideo?.id !== imageId) {
      const clip = await openAdminVideo(imageId);
      if (store.get().imageId !== imageId) {
        clip.release();
        return;
      }
      adminVideo?.clip.release();
      adminVideo = { id: imageId, clip };
    }
    adminVideo.clip.play();
    pipeline()?.setBackground(adminVideo.clip.video);
  }

  /** A background video decodes only while it is the background in use; an admin video no longer chosen is
   * released. */
  function playOnlyWhenShown(settings) {
    if (own?.video) {
      if (showingUpload(settings)) own.video.play();
      else own.video.pause();
    }
    if (adminVideo && !(settings.mode === 'image' && settings.imageId === adminVideo.id)) {
      if (settings.imageId === adminVideo.id) adminVideo.clip.pause();
      else {
        adminVideo.clip.release();
        adminVideo = null;
      }
    }
  }

  return {
    apply,
    /** Check and use the user's file, and remember it in this browser; resolves to its bitmap or video
     * element, or undefined after showing why it cannot be used (the previous file stays). */
    async upload(file) {
      let opened;
      try {
        opened = await openUpload(file);
      } catch (error) {
        message.show('upload', error);
        return undefined;
      }
      replaceOwn(opened);
      message.clear('upload');
      store.update({ mode: 'image', imageId: UPLOAD_IMAGE_ID });
      await apply();
      uploads.save(file); // a browser that keeps nothing still shows it now; it is gone after a reload
      return ownSource();
    },
    /** The remembered file, opened: resolves to `{source, kind}` or null (the gallery's "Your image" tile). */
    async rememberedUpload() {
      await openRemembered();
      return own ? { source: ownSource(), kind: own.kind } : null;
    },
    /** Forget the user's file, here and in this browser's storage (the caller chooses another background). */
    async removeUpload() {
      replaceOwn(null);
      await uploads.forget();
    },
    /** Call `listener({source, kind} | null)` when the user's file changes (here or in another tab). */
    onUploadChange(listener) {
      uploadListeners.add(listener);
      return () => uploadListeners.delete(listener);
    },
    /** Follow a settings change (settings_store's subscribe arguments). */
    follow(settings, changed) {
      playOnlyWhenShown(settings);
      if (changed.includes('imageId') || (changed.includes('mode') && settings.mode === 'image')) apply();
    },
  };
}
