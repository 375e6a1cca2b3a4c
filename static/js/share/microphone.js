/** The audio track that goes out with the composited picture: the microphone, or silence in its place. */

/** One audio track, or null when the microphone is blocked or missing (the caller says so). */
export async function openMicrophone() {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    return stream.getAudioTracks()[0] ?? null;
  } catch {
    return null;
  }
}

/** A live audio track that carries silence, sent where there is no microphone so that one can take its
 * place later without renegotiating any link (replaceAudio); null where the browser has no Web Audio.
 * Its stop() also closes the AudioContext that makes it. */
export function silentAudioTrack() {
  if (typeof AudioContext !== 'function') return null;
  const context = new AudioContext();
  const [track] = context.createMediaStreamDestination().stream.getAudioTracks();
  const stop = track.stop.bind(track);
  track.stop = () => {
    stop();
    context.close().catch(() => {});
  };
  return track;
}

/** The stream to send: the picture's video track(s) and, if there is one, the audio track. */
export function outgoingStream(picture, audio) {
  return new MediaStream([...picture.getVideoTracks(), ...(audio ? [audio] : [])]);
}

/** Send `track` instead of STREAM's audio track: in STREAM (links made later take it from there) and on the
 * audio sender of each of CONNECTIONS, whose negotiated m-line stays (RTCRtpSender.replaceTrack). */
export async function replaceAudio(stream, connections, track) {
  for (const old of stream.getAudioTracks()) stream.removeTrack(old);
  stream.addTrack(track);
  await Promise.all(connections.map((pc) => pc.getTransceivers()
    .find((transceiver) => transceiver.receiver.track.kind === 'audio')?.sender.replaceTrack(track)));
}

/**
 * The sound a broadcast or meeting sends: the microphone when WANTED and allowed, else silence in its
 * place, which a microphone turned on later replaces without renegotiating any link.
 * @returns {Promise<{blocked: boolean, microphone, silence, track, useMicrophone, stop}>}
 *   blocked: the microphone was wanted but is blocked or missing (the caller says so).
 */
export async function openOutgoingAudio(wanted) {
  let microphone = wanted ? await openMicrophone() : null;
  let silence = microphone ? null : silentAudioTrack();
  return {
    blocked: wanted && !microphone,
    get microphone() { return microphone; }, // the microphone's track while it goes out
    get silence() { return silence; }, // the silent track sent in its place
    get track() { return microphone ?? silence; }, // what goes out now
    /** Send TRACK (a microphone) instead of the silence: SEND(track) puts it on every link. */
    async useMicrophone(track, send) {
      await send(track);
      silence?.stop();
      silence = null;
      microphone = track;
    },
    stop() {
      microphone?.stop();
      silence?.stop();
      microphone = null;
      silence = null;
    },
  };
}
