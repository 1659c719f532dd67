// The stable per-install id the signaling handshake carries (API.md): one user may be connected from
// several devices, and a resumed connection must present the same clientId it had.
import { ulid } from 'ulid';
import type { KeyValueStorage } from './storage.js';

const KEY = 'voip.clientId';
const VALID = /^[A-Za-z0-9_-]{8,64}$/;

export function loadClientId(storage: KeyValueStorage): string {
  const existing = storage.getItem(KEY);
  if (existing && VALID.test(existing)) return existing;
  const id = ulid();
  storage.setItem(KEY, id);
  return id;
}
