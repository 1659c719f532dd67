// This instance's own sockets, indexed by auth session and by user: what a session revocation, the guest
// manager, /status and the metrics need without asking Redis or walking every socket.
import type { SignalingSocket } from './types.js';

export interface LocalSockets {
  add(socket: SignalingSocket): void;
  remove(socket: SignalingSocket): void;
  bySession(sessionId: string): SignalingSocket[];
  byUser(userId: string): SignalingSocket[];
  guests(): IterableIterator<SignalingSocket>;
  all(): IterableIterator<SignalingSocket>;
  connectionCount(): number;
  userCount(): number;
  guestCount(): number;
}

export function createLocalSockets(): LocalSockets {
  const sockets = new Set<SignalingSocket>();
  // Most users and sessions have one socket here: it is kept as is, a Set only from the second one on
  // (a Set per key cost two Sets per idle socket, a tenth of its heap over bare Socket.io's).
  type Entry = SignalingSocket | Set<SignalingSocket>;
  const sessions = new Map<string, Entry>();
  const users = new Map<string, Entry>();
  const guestSockets = new Set<SignalingSocket>();

  const addTo = (m: Map<string, Entry>, k: string, s: SignalingSocket) => {
    const e = m.get(k);
    if (!e) m.set(k, s);
    else if (e instanceof Set) e.add(s);
    else if (e !== s) m.set(k, new Set([e, s]));
  };
  const removeFrom = (m: Map<string, Entry>, k: string, s: SignalingSocket) => {
    const e = m.get(k);
    if (!e) return;
    if (!(e instanceof Set)) {
      if (e === s) m.delete(k);
      return;
    }
    e.delete(s);
    if (e.size === 1) m.set(k, e.values().next().value as SignalingSocket);
    else if (e.size === 0) m.delete(k);
  };
  const list = (e: Entry | undefined): SignalingSocket[] => (!e ? [] : e instanceof Set ? [...e] : [e]);

  return {
    add(s) {
      sockets.add(s);
      addTo(sessions, s.data.sessionId, s);
      addTo(users, s.data.userId, s);
      if (s.data.kind === 'guest') guestSockets.add(s);
    },
    remove(s) {
      sockets.delete(s);
      removeFrom(sessions, s.data.sessionId, s);
      removeFrom(users, s.data.userId, s);
      guestSockets.delete(s);
    },
    bySession: (sid) => list(sessions.get(sid)),
    byUser: (uid) => list(users.get(uid)),
    guests: () => guestSockets.values(),
    all: () => sockets.values(),
    connectionCount: () => sockets.size,
    userCount: () => users.size,
    guestCount: () => {
      const ids = new Set<string>();
      for (const s of guestSockets) ids.add(s.data.userId);
      return ids.size;
    },
  };
}
