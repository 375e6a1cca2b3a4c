/** "Turn on microphone": the button of a broadcast or meeting that started without sound. */
import { openMicrophone } from '../share/microphone.js';
import { UserError } from '../user_error.js';

/**
 * On each click, ask for the microphone and hand it to `use`, or say why there is none.
 * @param {HTMLButtonElement} button
 * @param {{message, topic: string, wanted: () => boolean, use: (track: MediaStreamTrack) => Promise<void>}} options
 *   message/topic: where a problem is shown (and cleared once the microphone is in use);
 *   wanted: still needed once the microphone opened (not ended or turned on meanwhile);
 *   use: send it in place of the silence.
 */
export function bindMicrophoneOnButton(button, { message, topic, wanted, use }) {
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const microphone = await openMicrophone();
      if (!microphone) {
        message.show(topic, new UserError('The microphone is blocked or missing.',
          'Allow the microphone for this site (the icon in the address bar) or connect one, then press "Turn on microphone" again.'));
        return;
      }
      if (!wanted()) {
        microphone.stop();
        return;
      }
      await use(microphone);
      message.clear(topic);
    } finally {
      button.disabled = false;
    }
  });
}
