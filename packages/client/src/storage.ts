// Where the SDK keeps what must survive a restart (tokens, the per-install clientId). The shape is the
// Web Storage one so `localStorage`/`sessionStorage` plug in directly; Node and tests use memory.
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export function memoryStorage(initial: Record<string, string> = {}): KeyValueStorage {
  const map = new Map(Object.entries(initial));
  return {
    getItem: (key) => map.get(key) ?? null,
    setItem: (key, value) => void map.set(key, value),
    removeItem: (key) => void map.delete(key),
  };
}

/** localStorage in a browser (when usable: private modes may throw), memory anywhere else. */
export function defaultStorage(): KeyValueStorage {
  const ls = (globalThis as { localStorage?: KeyValueStorage }).localStorage;
  if (ls) {
    try {
      const probe = '__voip_probe__';
      ls.setItem(probe, '1');
      ls.removeItem(probe);
      return ls;
    } catch {
      // fall through to memory
    }
  }
  return memoryStorage();
}
