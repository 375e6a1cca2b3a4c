/** The user's own background picture or video, kept in this browser so that it survives a reload and
 * the output view (/output in another tab of the same browser) can show it.
 *
 * The file lives in this origin's IndexedDB and nowhere else: no request carries it. One file is kept,
 * the latest upload; removing it in the gallery deletes it. Remembering is a convenience, never a
 * condition: with IndexedDB missing, refused (some private windows) or full, the upload still applies
 * in its own tab and only the remembering is lost. A record that holds no file (another format, a
 * damaged database) reads as none and is deleted. Other tabs hear of a new or removed file through a
 * BroadcastChannel. */

const DB_NAME = 'vbg-backgrounds';
const DB_VERSION = 1;
const STORE_NAME = 'uploads';
const RECORD_KEY = 'current'; // the one remembered upload
const CHANNEL_NAME = 'vbg.upload';
// An open that neither succeeds nor fails (another tab holding an old version open) counts as no storage.
const OPEN_TIMEOUT_MS = 5000;

function requestResult(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
  });
}

function transactionDone(transaction) {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onabort = () => reject(transaction.error ?? new Error('IndexedDB transaction aborted'));
    transaction.onerror = () => reject(transaction.error ?? new Error('IndexedDB transaction failed'));
  });
}

/** The database, or a rejection when this browser offers none (or refuses it). */
function openDatabase(factory) {
  return new Promise((resolve, reject) => {
    if (!factory) {
      reject(new Error('IndexedDB is not available'));
      return;
    }
    const timer = setTimeout(() => reject(new Error(`IndexedDB did not open within ${OPEN_TIMEOUT_MS} ms`)), OPEN_TIMEOUT_MS);
    let request;
    try {
      request = factory.open(DB_NAME, DB_VERSION);
    } catch (error) {
      clearTimeout(timer);
      reject(error);
      return;
    }
    request.onupgradeneeded = () => request.result.createObjectStore(STORE_NAME);
    request.onsuccess = () => {
      clearTimeout(timer);
      resolve(request.result);
    };
    request.onerror = () => {
      clearTimeout(timer);
      reject(request.error ?? new Error('IndexedDB could not be opened'));
    };
  });
}

/** The file a stored record holds, or null for anything else. */
function fileOf(record) {
  const blob = record?.file;
  if (!(blob instanceof Blob) || blob.size === 0) return null;
  if (blob instanceof File) return blob;
  const name = typeof record.name === 'string' ? record.name : 'background';
  return new File([blob], name, { type: blob.type });
}

/**
 * The remembered upload of this origin.
 * @param {{factory?: IDBFactory|null, channelName?: string}} [options] factory: IndexedDB (tests pass
 *   null for a browser without it); channelName: where tabs announce changes.
 * @returns {{save(file: File): Promise<boolean>, read(): Promise<File|null>, forget(): Promise<boolean>,
 *   onChange(listener: () => void): () => void}}
 */
export function createUploadStore({ factory = globalThis.indexedDB ?? null, channelName = CHANNEL_NAME } = {}) {
  let database = null; // Promise<IDBDatabase>, opened on first use
  const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(channelName) : null;
  const listeners = new Set();
  channel?.addEventListener('message', () => {
    for (const listener of listeners) listener();
  });

  function db() {
    database ??= openDatabase(factory);
    return database;
  }

  /** Run `work(store)` in one transaction; resolves to its request's result. */
  async function withStore(mode, work) {
    const transaction = (await db()).transaction(STORE_NAME, mode);
    const [, result] = await Promise.all([transactionDone(transaction), requestResult(work(transaction.objectStore(STORE_NAME)))]);
    return result;
  }

  function announce() {
    channel?.postMessage('changed');
  }

  return {
    /** Remember `file` in place of the previous upload; false when this browser would not keep it. */
    async save(file) {
      try {
        await withStore('readwrite', (store) => store.put({ file, name: file.name ?? '', savedAt: Date.now() }, RECORD_KEY));
      } catch {
        return false;
      }
      announce();
      return true;
    },

    /** The remembered file, or null (none, no storage, or a record without a file, which is deleted). */
    async read() {
      let record;
      try {
        record = await withStore('readonly', (store) => store.get(RECORD_KEY));
      } catch {
        return null;
      }
      const file = fileOf(record);
      if (!file && record !== undefined) await this.forget();
      return file;
    },

    /** Delete the remembered file; false when there was no storage to delete it from. */
    async forget() {
      try {
        await withStore('readwrite', (store) => store.delete(RECORD_KEY));
      } catch {
        return false;
      }
      announce();
      return true;
    },

    /** Call `listener()` when another tab saved or forgot the upload; returns the unsubscribe function. */
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
