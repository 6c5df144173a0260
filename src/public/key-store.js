// @ts-check
// Keeps the API key for this tab (sessionStorage) or, when asked, for this browser
// (localStorage). Storage can be unavailable (privacy modes): then the key lives in the field only.

const KEY = 'onnx-digits.apiKey';

/** @param {'session' | 'local'} kind @returns {Storage | null} */
function storage(kind) {
  try { return kind === 'local' ? window.localStorage : window.sessionStorage; } catch { return null; }
}

/** @returns {{ key: string, remembered: boolean }} */
export function loadKey() {
  const local = storage('local')?.getItem(KEY);
  if (local) return { key: local, remembered: true };
  return { key: storage('session')?.getItem(KEY) ?? '', remembered: false };
}

/** @param {string} key @param {boolean} remember */
export function saveKey(key, remember) {
  const [keep, drop] = remember ? [storage('local'), storage('session')] : [storage('session'), storage('local')];
  try {
    drop?.removeItem(KEY);
    if (key) keep?.setItem(KEY, key); else keep?.removeItem(KEY);
  } catch {
    // quota or disabled storage: the key still works for this page view
  }
}
