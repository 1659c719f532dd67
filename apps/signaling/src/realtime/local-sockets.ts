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
  const sessions = new Map<string, Set<SignalingSocket>>();
  const users = new Map<string, Set<SignalingSocket>>();
  const guestSockets = new Set<SignalingSocket>();

  const addTo = (m: Map<string, Set<SignalingSocket>>, k: string, s: SignalingSocket) => {
    let set = m.get(k);
    if (!set) {
      set = new Set();
      m.set(k, set);
    }
    set.add(s);
  };
  const removeFrom = (m: Map<string, Set<SignalingSocket>>, k: string, s: SignalingSocket) => {
    const set = m.get(k);
    if (!set) return;
    set.delete(s);
    if (set.size === 0) m.delete(k);
  };

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
    bySession: (sid) => [...(sessions.get(sid) ?? [])],
    byUser: (uid) => [...(users.get(uid) ?? [])],
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
