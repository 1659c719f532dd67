// One Janus VideoRoom room per recorded call, held by the media instance that started it: a Janus session
// (long-polled), an admin handle that created the room with recording on, one publisher handle per
// participant (their send-only connection) and one subscriber handle per participant (the other's media).
// Destroying the room closes Janus's recording files; destroying the session releases everything else.
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import {
  type JanusClient,
  JanusRequestError,
  type JanusSession,
  JanusUnavailableError,
  type Jsep,
} from './janus-client.js';

const PLUGIN = 'janus.plugin.videoroom';
/** VideoRoom error codes: no such feed (the other side has not published yet), already published/joined. */
const NO_SUCH_FEED = 428;

export class NotPublishedYetError extends Error {
  override name = 'NotPublishedYetError';
}

export interface LiveRoom {
  recordingId: string;
  room: number;
  rawDir: string;
  session: JanusSession;
  adminHandle: number;
  /** userId → feed id (1 caller, 2 callee) and the handle publishing it. */
  feeds: Map<string, number>;
  publishers: Map<string, number>;
  subscribers: Map<string, number>;
}

export interface RoomManagerOptions {
  janus: JanusClient;
  apiSecret: string;
  recordingsDir: string;
  /** Janus lost the room's session (crashed, restarted, unreachable). */
  onLost: (recordingId: string, err: Error) => void;
}

export const rawDirOf = (recordingsDir: string, recordingId: string) =>
  join(recordingsDir, 'raw', recordingId);

export function createRoomManager(o: RoomManagerOptions) {
  const rooms = new Map<string, LiveRoom>();

  async function open(recordingId: string, participants: [string, string]): Promise<LiveRoom> {
    const rawDir = rawDirOf(o.recordingsDir, recordingId);
    const session = await o.janus.createSession((err) => {
      if (rooms.delete(recordingId)) o.onLost(recordingId, err);
    });
    try {
      const adminHandle = await session.attach(PLUGIN);
      const room = randomInt(1, 2 ** 47);
      await session.send(adminHandle, {
        request: 'create',
        room,
        admin_key: o.apiSecret,
        description: `recording ${recordingId}`,
        is_private: true,
        publishers: 2,
        audiocodec: 'opus',
        videocodec: 'vp8',
        record: true,
        rec_dir: rawDir,
        permanent: false,
      });
      const live: LiveRoom = {
        recordingId,
        room,
        rawDir,
        session,
        adminHandle,
        feeds: new Map(participants.map((u, i) => [u, i + 1])),
        publishers: new Map(),
        subscribers: new Map(),
      };
      rooms.set(recordingId, live);
      return live;
    } catch (err) {
      await session.destroy();
      throw err;
    }
  }

  const roomOf = (recordingId: string): LiveRoom => {
    const live = rooms.get(recordingId);
    if (!live) throw new JanusUnavailableError('the recording has no room on this instance');
    return live;
  };

  /** Publishing or subscribing again (a retry, a new connection) first lets go of the participant's old handle. */
  const detachPrevious = async (live: LiveRoom, handles: Map<string, number>, userId: string) => {
    const previous = handles.get(userId);
    if (previous === undefined) return;
    handles.delete(userId);
    await live.session.detach(previous);
  };

  /** The participant's offer (send-only, every candidate inside) → Janus's answer. Again: a new publisher. */
  async function publish(recordingId: string, userId: string, offer: Jsep): Promise<Jsep> {
    const live = roomOf(recordingId);
    const feed = live.feeds.get(userId);
    if (!feed) throw new Error('not a participant');
    await detachPrevious(live, live.publishers, userId);
    const handle = await live.session.attach(PLUGIN);
    live.publishers.set(userId, handle);
    await live.session.sendAsync(handle, {
      request: 'join',
      ptype: 'publisher',
      room: live.room,
      id: feed,
      display: userId,
    });
    const reply = await live.session.sendAsync(
      handle,
      { request: 'publish', audio: true, video: true },
      offer,
    );
    if (!reply.jsep) throw new JanusRequestError('janus answered the offer without an SDP', undefined);
    return reply.jsep;
  }

  /** Janus's offer of the other participant's media for `userId` (NotPublishedYetError until they publish). */
  async function subscribe(recordingId: string, userId: string): Promise<Jsep> {
    const live = roomOf(recordingId);
    const other = [...live.feeds.entries()].find(([u]) => u !== userId)?.[1];
    if (!other) throw new Error('no other participant');
    await detachPrevious(live, live.subscribers, userId);
    const handle = await live.session.attach(PLUGIN);
    try {
      const reply = await live.session.sendAsync(handle, {
        request: 'join',
        ptype: 'subscriber',
        room: live.room,
        streams: [{ feed: other }],
      });
      if (!reply.jsep) throw new JanusRequestError('janus offered no SDP', undefined);
      live.subscribers.set(userId, handle);
      return reply.jsep;
    } catch (err) {
      await live.session.detach(handle);
      if (err instanceof JanusRequestError && err.code === NO_SUCH_FEED)
        throw new NotPublishedYetError('the other participant is not sending to the room yet');
      throw err;
    }
  }

  async function answer(recordingId: string, userId: string, jsep: Jsep): Promise<void> {
    const live = roomOf(recordingId);
    const handle = live.subscribers.get(userId);
    if (!handle) throw new NotPublishedYetError('subscribe first');
    await live.session.sendAsync(handle, { request: 'start' }, jsep);
  }

  /** Destroys the room (Janus closes the recording files) and the session. Idempotent. */
  async function close(recordingId: string): Promise<void> {
    const live = rooms.get(recordingId);
    if (!live) return;
    rooms.delete(recordingId);
    await live.session
      .send(live.adminHandle, { request: 'destroy', room: live.room, admin_key: o.apiSecret })
      .catch(() => {});
    await live.session.destroy();
  }

  return {
    open,
    publish,
    subscribe,
    answer,
    close,
    has: (recordingId: string) => rooms.has(recordingId),
    get size() {
      return rooms.size;
    },
    get publishers() {
      let n = 0;
      for (const r of rooms.values()) n += r.publishers.size;
      return n;
    },
    async closeAll(): Promise<void> {
      await Promise.all([...rooms.keys()].map(close));
    },
  };
}

export type RoomManager = ReturnType<typeof createRoomManager>;
