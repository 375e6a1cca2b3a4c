/** The microphone track that goes out with the composited picture. */

/** One audio track, or null when the microphone is blocked or missing (the caller says so). */
export async function openMicrophone() {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    return stream.getAudioTracks()[0] ?? null;
  } catch {
    return null;
  }
}

/** The stream to send: the picture's video track(s) and, if there is one, the microphone. */
export function outgoingStream(picture, microphone) {
  return new MediaStream([...picture.getVideoTracks(), ...(microphone ? [microphone] : [])]);
}
