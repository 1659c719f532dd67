// The FCM data messages of packages/contracts/src/push.ts, parsed from RemoteMessage.getData():
// a wake-up (ring, then connect signaling to get the offer) or a cancel (stop ringing). Anything else,
// malformed or expired, is null: ignore it.
package voip.client;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.Set;

public sealed interface PushMessage {
  String callId();

  /** When this push stops meaning anything (ring deadline for a wake-up). */
  Instant expiresAt();

  record WakeUp(String callId, String callerId, String callerName, String media, Instant expiresAt)
      implements PushMessage {}

  /** reason: a call-ended reason, or {@code answered-elsewhere}. */
  record Cancel(String callId, String reason, Instant expiresAt) implements PushMessage {}

  String TYPE_WAKE_UP = "incoming-call";
  String TYPE_CANCEL = "call-cancelled";
  Set<String> CANCEL_REASONS = Set.of(
      "hangup", "cancelled", "no-answer", "rejected", "busy", "connection-lost", "failed", "answered-elsewhere");

  /** Parses FCM data; null for unknown types, missing fields, or a push already past its expiresAt. */
  static PushMessage parse(Map<String, String> data, Instant now) {
    if (data == null) return null;
    String type = data.get("type");
    String callId = data.get("callId");
    Instant expires;
    try {
      expires = Instant.parse(data.getOrDefault("expiresAt", ""));
    } catch (DateTimeParseException e) {
      return null;
    }
    if (callId == null || callId.isEmpty() || !expires.isAfter(now)) return null;
    if (TYPE_WAKE_UP.equals(type)) {
      String media = data.get("media");
      if (!"audio".equals(media) && !"video".equals(media) || data.get("callerId") == null) return null;
      return new WakeUp(callId, data.get("callerId"), data.getOrDefault("callerName", ""), media, expires);
    }
    if (TYPE_CANCEL.equals(type)) {
      String reason = data.get("reason");
      if (!CANCEL_REASONS.contains(reason)) return null;
      return new Cancel(callId, reason, expires);
    }
    return null;
  }
}
