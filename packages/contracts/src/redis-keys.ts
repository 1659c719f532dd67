// The one place that names every Redis key, channel and stream. Services and packages import these;
// nobody builds a key by hand. All keys live under the `voip:` namespace.
export const ns = 'voip';

export const keys = {
  /** hash: userId, kind, displayName, createdAt, refreshHash — exists while the session is valid. */
  session: (sid: string) => `${ns}:session:${sid}`,
  /** string → sid: lookup of the current refresh token hash. */
  refresh: (hash: string) => `${ns}:refresh:${hash}`,
  /** hash {sid, next, sealed, at}: a rotated (used) refresh token hash, kept to detect re-use (and for the retry grace window). */
  refreshUsed: (hash: string) => `${ns}:refresh-used:${hash}`,
  /** list of a session's last rotated refresh token hashes (bounded; deleted with the session): which refreshUsed keys are its own. */
  sessionRefreshUsed: (sid: string) => `${ns}:session-refresh-used:${sid}`,
  /** set of sids for one user. */
  userSessions: (userId: string) => `${ns}:user-sessions:${userId}`,
  /** string with TTL: one instance claimed this run of a periodic job (e.g. the guest sweep) for the cluster. */
  jobClaim: (job: string) => `${ns}:job-claim:${job}`,
  /** fixed-window counters for throttling. */
  rateLimit: (scope: string, id: string) => `${ns}:rl:${scope}:${id}`,
  /** hash: status, lastSeenAt, kind. */
  presence: (userId: string) => `${ns}:presence:${userId}`,
  /** hash clientId → JSON {instanceId, socketId, connectedAt, state, kind}: the user's devices, connected or reconnecting (written only by signaling's device registry; others read it through user-clients.ts). */
  userClients: (userId: string) => `${ns}:user-clients:${userId}`,
  /** hash: the resumable state of one client connection (resume token hash, user, instance, state, the call it carries, the ringing call it was offered). */
  client: (userId: string, clientId: string) => `${ns}:client:${userId}:${clientId}`,
  /** string with TTL: an instance's heartbeat. */
  instance: (instanceId: string) => `${ns}:instance:${instanceId}`,
  /** set of instance ids that have registered. */
  instances: () => `${ns}:instances`,
  /** set of userId:clientId held by one instance (for clean-up when it dies). */
  instanceClients: (instanceId: string) => `${ns}:instance-clients:${instanceId}`,
  /** hash: the call record while it is live (see @voip/call-state). */
  call: (callId: string) => `${ns}:call:${callId}`,
  /** string → callId: the call a user is in (ringing or accepted). */
  userCall: (userId: string) => `${ns}:user-call:${userId}`,
  /** zset callId scored by ring deadline (ms): the shared ring-timeout wheel. */
  ringDeadlines: () => `${ns}:call-ring-deadlines`,
  /** zset callId scored by creation time (ms): every ringing or accepted call (metrics, reconciliation). */
  liveCalls: () => `${ns}:calls-live`,
  /** zset userId:clientId scored by resume deadline (ms): the shared wheel ending calls of clients that never came back. */
  resumeDeadlines: () => `${ns}:resume-deadlines`,
  /** list: the caller's ICE candidates sent while ringing, replayed to a callee device that connects later. */
  callCandidates: (callId: string) => `${ns}:call-candidates:${callId}`,
  /** list: signaling messages queued for a reconnecting client. */
  pending: (userId: string, clientId: string) => `${ns}:pending:${userId}:${clientId}`,
  /** string (integer): the bytes held in pending(userId, clientId), written with it and with its TTL. */
  pendingBytes: (userId: string, clientId: string) => `${ns}:pending-bytes:${userId}:${clientId}`,
  /**
   * list: numbered messages already emitted to a device that asked for numbering (`auth.lastSeq`), oldest
   * first, bounded (oldest dropped); replayed on its resume from the `seq` it says it has.
   */
  replay: (userId: string, clientId: string) => `${ns}:replay:${userId}:${clientId}`,
  /** string (integer): the bytes held in replay(userId, clientId), written with it and with its TTL. */
  replayBytes: (userId: string, clientId: string) => `${ns}:replay-bytes:${userId}:${clientId}`,
  /** string (integer): the bytes held in callCandidates(callId), written with it and with its TTL. */
  callCandidateBytes: (callId: string) => `${ns}:call-candidate-bytes:${callId}`,
  /** set of userIds that have userId among their contacts (written by the user service): who sees its presence. */
  contactWatchers: (userId: string) => `${ns}:contact-watchers:${userId}`,
  /** set of userIds that userId has blocked (written by the user service, read on call initiation). */
  blocks: (userId: string) => `${ns}:blocks:${userId}`,
  /** string "1" while userId is on do-not-disturb (written by the user service). */
  dnd: (userId: string) => `${ns}:dnd:${userId}`,
  /**
   * hash {kind, displayName, dnd, incomingCalls}: what call initiation needs of userId, written by the user
   * service with keys.blocks(userId) and keys.contacts(userId) in one MULTI (reach-mirror.ts). Its presence
   * says the three are complete; absent = unknown (ask the user service), never "no such user".
   */
  reach: (userId: string) => `${ns}:reach:${userId}`,
  /** set of userIds that userId has as active contacts (written with keys.reach(userId)). */
  contacts: (userId: string) => `${ns}:contacts:${userId}`,
  /**
   * set of JSON {deviceId, platform, pushToken} with TTL: the devices a call's wake-up push reached and
   * that have not been sent its cancel yet (written by the call service's dispatcher, taken whole by
   * whoever sends the cancel, so each device gets one).
   */
  pushWokenDevices: (callId: string) => `${ns}:push-woken:${callId}`,
  /** string → callId with TTL: the last call that woke userId's phones by push; signaling tells a late fresh device it ended. */
  pushWokenCall: (userId: string) => `${ns}:push-woken-call:${userId}`,
} as const;

export const channels = {
  /** pub/sub fan-out of bus events of one type: `voip:bus:session.revoked`. */
  bus: (type: string) => `${ns}:bus:${type}`,
  /**
   * Prefix of the Socket.io sharded adapter's channels (`voip:sio#/#`, `voip:sio#/#user:…#`, …), so the
   * signaling fan-out stays inside the namespace too. Every signaling instance must use the same one.
   */
  socketIoAdapterPrefix: `${ns}:sio`,
} as const;

export const streams = {
  /** Durable events that must not be lost: call lifecycle (call.ended, …). */
  callEvents: `${ns}:stream:call-events`,
  /** Durable account events: user.registered, guest.created, guest.deleted. */
  accountEvents: `${ns}:stream:account-events`,
  /** The media service's post-processing jobs (recording.process), one group, survives its restarts. */
  recordingJobs: `${ns}:stream:recording-jobs`,
  /** Where consumers put what they could not parse or kept failing on. */
  deadLetter: `${ns}:stream:dead-letter`,
} as const;

/**
 * coturn's own schema in its Redis user database (a separate database number, never the service db;
 * see apps/call TURN_REDIS_URL). Written and deleted only by the call service for call-scoped TURN.
 */
export const coturnKeys = {
  /** string: hex HMAC key, md5("username:realm:password"), of one long-term-credential TURN user. */
  userKey: (realm: string, username: string) => `turn/realm/${realm}/user/${username}/key`,
} as const;
