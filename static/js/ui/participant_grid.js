/** Tiles of the other meeting participants: their picture, name, and muted / camera-off marks. */

export function createParticipantGrid(list, emptyNote) {
  const tiles = new Map(); // peerId -> {item, video, label, marks}

  function tile(peerId) {
    let entry = tiles.get(peerId);
    if (entry) return entry;
    const item = document.createElement('li');
    item.className = 'participant';
    item.dataset.peerId = peerId;
    const video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    const label = document.createElement('span');
    label.className = 'participant-name';
    const marks = document.createElement('span');
    marks.className = 'participant-marks';
    item.append(video, label, marks);
    list.append(item);
    entry = { item, video, label, marks, frames: 0 };
    // Counting decoded frames shows (to the user's eye and to tests) that the picture moves.
    const count = () => {
      entry.frames += 1;
      video.requestVideoFrameCallback(count);
    };
    video.requestVideoFrameCallback(count);
    tiles.set(peerId, entry);
    emptyNote.hidden = true;
    return entry;
  }

  return {
    tiles,
    /** Create or update a participant's tile. */
    update(peerId, { name, stream, muted, cameraOff, connection }) {
      const entry = tile(peerId);
      if (name !== undefined) entry.label.textContent = name || 'Guest';
      if (stream && entry.video.srcObject !== stream) {
        entry.video.srcObject = stream;
        entry.video.play().catch(() => {});
      }
      if (muted !== undefined) entry.item.dataset.muted = String(muted);
      if (cameraOff !== undefined) entry.item.dataset.cameraOff = String(cameraOff);
      if (connection !== undefined) entry.item.dataset.connection = connection;
      const notes = [];
      if (entry.item.dataset.muted === 'true') notes.push('muted');
      if (entry.item.dataset.cameraOff === 'true') notes.push('camera off');
      if (entry.item.dataset.connection === 'failed' || entry.item.dataset.connection === 'disconnected') notes.push('connection lost');
      entry.marks.textContent = notes.join(' · ');
    },
    remove(peerId) {
      tiles.get(peerId)?.item.remove();
      tiles.delete(peerId);
      emptyNote.hidden = tiles.size > 0;
    },
    clear() {
      for (const peerId of [...tiles.keys()]) this.remove(peerId);
    },
  };
}
