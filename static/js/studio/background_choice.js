/** The picture behind the person in `image` mode: a built-in one, or the user's own picture or
 * looping video (which never leave the browser), handed to the pipeline. */
import { UPLOAD_IMAGE_ID } from '../ui/settings_store.js';
import { renderBuiltinBackground } from '../backgrounds/builtin.js';
import { loadUploadedImage } from '../backgrounds/upload.js';
import { isVideoFile, loadUploadedVideo } from '../backgrounds/video.js';
import { findAdminBackground, openAdminVideo } from '../backgrounds/admin.js';

const BACKGROUND_RENDER_SIZE = Object.freeze({ width: 1920, height: 1080 }); // px, built-ins are drawn once at this size

/**
 * @param {{store, message, pipeline: () => object|null}} options
 *   store: the settings store (imageId, mode); pipeline: the current pipeline, null when there is none.
 */
export function createBackgroundChoice({ store, message, pipeline }) {
  let uploadedImage = null; // ImageBitmap of the user's picture
  let uploadedVideo = null; // {video, play, pause, release} of the user's video
  let adminVideo = null; // {id, clip: {video, play, pause, release}} of the admin's looping video in use

  /** Show the chosen picture in the current pipeline (a built-in one is drawn first). */
  async function apply() {
    const target = pipeline();
    if (!target) return;
    const { imageId } = store.get();
    if (imageId === UPLOAD_IMAGE_ID) {
      const own = uploadedVideo?.video ?? uploadedImage;
      if (own) target.setBackground(own);
      return;
    }
    if (!imageId) return;
    const admin = await findAdminBackground(imageId);
    if (admin?.kind === 'video') {
      await showAdminVideo(imageId);
      return;
    }
    const bitmap = await renderBuiltinBackground(imageId, BACKGROUND_RENDER_SIZE.width, BACKGROUND_RENDER_SIZE.height);
    if (store.get().imageId === imageId) pipeline()?.setBackground(bitmap);
    bitmap.close?.();
  }

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
    const shown = (id) => settings.mode === 'image' && settings.imageId === id;
    if (uploadedVideo) {
      if (shown(UPLOAD_IMAGE_ID)) uploadedVideo.play();
      else uploadedVideo.pause();
    }
    if (adminVideo && !shown(adminVideo.id)) {
      if (settings.imageId === adminVideo.id) adminVideo.clip.pause();
      else {
        adminVideo.clip.release();
        adminVideo = null;
      }
    }
  }

  /** Keep the previous upload until the new one loaded; then it replaces it. */
  function replaceUpload(image, video) {
    uploadedVideo?.release();
    uploadedImage?.close?.();
    uploadedImage = image;
    uploadedVideo = video;
    message.clear('upload');
    store.update({ mode: 'image', imageId: UPLOAD_IMAGE_ID });
    return apply();
  }

  return {
    apply,
    /** Check and use the user's file; resolves to its bitmap or video element (the thumbnail), or
     * undefined after showing why it cannot be used. */
    async upload(file) {
      try {
        if (isVideoFile(file)) {
          const clip = await loadUploadedVideo(file);
          await replaceUpload(null, clip);
          return clip.video;
        }
        const bitmap = await loadUploadedImage(file);
        await replaceUpload(bitmap, null);
        return bitmap;
      } catch (error) {
        message.show('upload', error);
        return undefined;
      }
    },
    /** Follow a settings change (settings_store's subscribe arguments). */
    follow(settings, changed) {
      playOnlyWhenShown(settings);
      if (changed.includes('imageId') || (changed.includes('mode') && settings.mode === 'image')) apply();
    },
  };
}
