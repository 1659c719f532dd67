// Everything the signaling connection tells the app, as typed events: the connection's own life and
// every server event of API.md (packages/contracts ServerEventSchemas; ContractsTest keeps them in step).
// Delivered on the library's signaling thread: post to the main thread before touching views.
package voip.client;

import java.util.List;
import java.util.Set;
import org.json.JSONObject;

public sealed interface SignalingEvent {
  // ---- connection ----

  /** Usable (after {@code session}); {@code resumed}: the server restored the previous session and its calls. */
  record Connected(String sessionId, boolean resumed, long resumeWindowMs, long heartbeatIntervalMs)
      implements SignalingEvent {}

  /** The link dropped or a try failed; try {@code attempt} of {@link Backoff#MAX_ATTEMPTS} starts in delayMs. */
  record Reconnecting(int attempt, long delayMs, String code) implements SignalingEvent {}

  /** Gave up (five tries, or a refusal retrying cannot fix: UNAUTHORIZED, SESSION_REVOKED). */
  record Failed(String code, String message) implements SignalingEvent {}

  /** The server is stopping: the library reconnects (elsewhere) after reconnectAfterMs, nothing to do. */
  record ServerShutdown(long reconnectAfterMs) implements SignalingEvent {}

  /** The session was revoked (logout elsewhere, stolen phone, admin): tokens are cleared, show sign-in. */
  record SessionRevoked(String reason) implements SignalingEvent {}

  record Presence(String userId, String status) implements SignalingEvent {}

  // ---- calls ----

  /** Something about one call. */
  sealed interface CallEvent extends SignalingEvent {
    String callId();
  }

  record Caller(String id, String displayName, String kind) {}

  /** Ring (also sent again on reconnect for the same callId: treat it as the same call). */
  record IncomingCall(String callId, Caller from, String media, String offerSdp, String expiresAt) implements CallEvent {}

  /** A callee device has the call: play the ringback tone. */
  record Ringing(String callId) implements CallEvent {}

  /** The callee answered: its SDP answer has been given to the MediaSession already. */
  record Accepted(String callId, String answerSdp) implements CallEvent {}

  record Rejected(String callId, String reason) implements CallEvent {}

  /** The peer's ICE candidate (null candidate = end of candidates); already given to the MediaSession. */
  record RemoteCandidate(String callId, IceCandidate candidate) implements CallEvent {}

  /** The peer renegotiated (ICE restart after its network changed); handled with the MediaSession already. */
  record Renegotiated(String callId, String type, String sdp) implements CallEvent {}

  /** Another of this user's devices answered: stop ringing here. */
  record AnsweredElsewhere(String callId) implements CallEvent {}

  /** The peer's link dropped; it has the resume window to come back. Show "reconnecting…". */
  record PeerReconnecting(String callId) implements CallEvent {}

  record PeerReconnected(String callId) implements CallEvent {}

  /**
   * The peer's sending step changed ({@code 1080p}, {@code 720p}, {@code 480p}, {@code audio-only}; null when it
   * reports none) or its connection became poor / recovered (estimated MOS under 3.1): show "poor connection".
   */
  record PeerQuality(String callId, String step, boolean poor) implements CallEvent {}

  // ---- recording (issue 18; apps/media/README.md): REST calls go through VoipApi's recording methods ----

  /** One participant asked to record; the other must consent (VoipApi#consentToRecording) before expiresAt. */
  record RecordingRequested(String callId, String recordingId, String requestedBy, String expiresAt) implements CallEvent {}

  /** Both consented: show the recording indicator; publish to and subscribe from the room (media through Janus). */
  record RecordingStarted(String callId, String recordingId, String startedAt) implements CallEvent {}

  /** Hide the indicator; go back to the peer-to-peer media. Reasons: contracts RecordingStopReason. */
  record RecordingStopped(String callId, String recordingId, String reason, String stoppedBy) implements CallEvent {}

  /** The media server failed (media-server-unavailable, media-server-lost) or post-processing did. */
  record RecordingFailed(String callId, String recordingId, String reason) implements CallEvent {}

  /** The file is ready: ask VoipApi for a download link. */
  record RecordingReady(String callId, String recordingId, long durationMs, long sizeBytes) implements CallEvent {}

  /** The call is over; {@code replacedBy} in glare names the call that survives. */
  record Ended(String callId, String reason, long durationMs, String replacedBy) implements CallEvent {}

  /** {@code call-ended} reasons (contracts EndReason). */
  Set<String> END_REASONS = Set.of("hangup", "cancelled", "no-answer", "rejected", "busy", "connection-lost", "failed");

  /** Server event names the library handles, each mapped onto one of the records above. */
  List<String> SERVER_EVENTS = List.of(
      "session",
      "incoming-call",
      "call-ringing",
      "call-accepted",
      "call-answered-elsewhere",
      "call-rejected",
      "ice-candidate",
      "renegotiate",
      "call-ended",
      "peer-reconnecting",
      "peer-reconnected",
      "peer-quality",
      "presence",
      "server-shutdown",
      "session-revoked",
      "recording-requested",
      "recording-started",
      "recording-stopped",
      "recording-failed",
      "recording-ready");

  /**
   * Client event names of the contract (contracts ClientEventSchemas). The library sends all but
   * {@code call-quality}, which the app sends with {@link VoipClient.Call#sendQuality} from its WebRTC
   * stack's statistics (schema: packages/contracts/src/quality.ts; the library has no media stack of its own).
   */
  List<String> CLIENT_EVENTS = List.of(
      "call-user", "accept-call", "reject-call", "ice-candidate", "renegotiate", "end-call", "heartbeat", "call-quality");

  /** Maps one server event onto its record; null for {@code session} (handled by the client itself). */
  static SignalingEvent parse(String event, JSONObject p) {
    String callId = p.optString("callId", null);
    return switch (event) {
      case "incoming-call" -> {
        JSONObject from = p.getJSONObject("from");
        yield new IncomingCall(
            callId,
            new Caller(from.getString("id"), from.optString("displayName", ""), from.optString("kind", "user")),
            p.getString("media"),
            p.getJSONObject("offer").getString("sdp"),
            p.getString("expiresAt"));
      }
      case "call-ringing" -> new Ringing(callId);
      case "call-accepted" -> new Accepted(callId, p.getJSONObject("answer").getString("sdp"));
      case "call-answered-elsewhere" -> new AnsweredElsewhere(callId);
      case "call-rejected" -> new Rejected(callId, p.optString("reason", "declined"));
      case "ice-candidate" -> new RemoteCandidate(callId, IceCandidate.fromJson(p.optJSONObject("candidate")));
      case "renegotiate" -> {
        JSONObject d = p.getJSONObject("description");
        yield new Renegotiated(callId, d.getString("type"), d.getString("sdp"));
      }
      case "call-ended" -> new Ended(
          callId, p.getString("reason"), p.optLong("durationMs", 0), p.optString("replacedBy", null));
      case "peer-reconnecting" -> new PeerReconnecting(callId);
      case "peer-reconnected" -> new PeerReconnected(callId);
      case "peer-quality" -> new PeerQuality(callId, p.isNull("step") ? null : p.optString("step", null), p.optBoolean("poor", false));
      case "presence" -> new Presence(p.getString("userId"), p.getString("status"));
      case "server-shutdown" -> new ServerShutdown(p.optLong("reconnectAfterMs", 0));
      case "session-revoked" -> new SessionRevoked(p.optString("reason", "revoked"));
      case "recording-requested" -> new RecordingRequested(
          callId, p.getString("recordingId"), p.getString("requestedBy"), p.getString("expiresAt"));
      case "recording-started" -> new RecordingStarted(callId, p.getString("recordingId"), p.getString("startedAt"));
      case "recording-stopped" -> new RecordingStopped(
          callId, p.getString("recordingId"), p.getString("reason"), p.optString("stoppedBy", null));
      case "recording-failed" -> new RecordingFailed(callId, p.getString("recordingId"), p.getString("reason"));
      case "recording-ready" -> new RecordingReady(
          callId, p.getString("recordingId"), p.getLong("durationMs"), p.getLong("sizeBytes"));
      default -> null;
    };
  }
}
