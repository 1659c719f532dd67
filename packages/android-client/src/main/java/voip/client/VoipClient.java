// The library's front door: one per signed-in app process. Holds the REST API, the signaling connection
// and the call model: dial, incoming, accept, reject, hang up, ICE both ways, renegotiation (ICE restart),
// answered elsewhere, peer reconnecting/reconnected and the end, driving the app's MediaSession and
// telling the app through SignalingEvent listeners (after the media side has been handled).
package voip.client;

import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import okhttp3.OkHttpClient;
import org.json.JSONObject;

public final class VoipClient {
  private final VoipApi api;
  private final SignalingClient signaling;
  private final CopyOnWriteArrayList<SignalingClient.Listener> listeners = new CopyOnWriteArrayList<>();
  private final Map<String, Call> calls = new ConcurrentHashMap<>();
  /** Offers of ringing incoming calls, by callId, until accepted, rejected or ended. */
  private final Map<String, SignalingEvent.IncomingCall> ringing = new ConcurrentHashMap<>();

  /** One call this device takes part in. */
  public final class Call {
    private final String callId;
    private final boolean outgoing;
    private final MediaSession media;
    private final CompletableFuture<JSONObject> signaled = new CompletableFuture<>();
    private volatile String replacedBy;
    private volatile boolean answered;

    Call(String callId, boolean outgoing, MediaSession media) {
      this.callId = callId;
      this.outgoing = outgoing;
      this.media = media;
    }

    public String callId() {
      return callId;
    }

    public boolean outgoing() {
      return outgoing;
    }

    /** Completes when the server acked call-user (outgoing) or accept-call (incoming). */
    public CompletableFuture<JSONObject> signaled() {
      return signaled;
    }

    /** Glare: this call lost to the peer's call with this id; answer that one's IncomingCall. */
    public String replacedBy() {
      return replacedBy;
    }

    /** A local ICE candidate from PeerConnection.Observer.onIceCandidate (null: gathering complete). */
    public CompletableFuture<JSONObject> sendCandidate(IceCandidate c) {
      return signaling.request("ice-candidate", new JSONObject()
          .put("callId", callId)
          .put("candidate", c == null ? JSONObject.NULL : c.toJson()));
    }

    /** ICE restart after this device's network changed: a new offer, sent as renegotiate. */
    public CompletableFuture<JSONObject> restartIce() {
      CompletableFuture<JSONObject> done = new CompletableFuture<>();
      media.createOffer(true, sdpTo(done, sdp -> signaling.request("renegotiate", new JSONObject()
          .put("callId", callId)
          .put("description", new JSONObject().put("type", "offer").put("sdp", sdp)))));
      return done;
    }

    /**
     * A media-quality summary ({@code call-quality}, API.md): the contract's fields (seq, intervalMs, rttMs,
     * bitrateKbps, path, step, final…) measured by the app from its PeerConnection's stats; callId is added.
     * The server takes at most one a second per call; send the {@code final} one before hangUp.
     */
    public CompletableFuture<JSONObject> sendQuality(JSONObject summary) {
      return signaling.request("call-quality", new JSONObject(summary.toString()).put("callId", callId));
    }

    /** Ends the call: {@code cancelled} while an outgoing call rings, {@code hangup} otherwise. */
    public CompletableFuture<JSONObject> hangUp() {
      return VoipClient.this.hangUp(callId);
    }
  }

  public interface SdpSend {
    CompletableFuture<JSONObject> send(String sdp);
  }

  private static MediaSession.SdpCallback sdpTo(CompletableFuture<JSONObject> done, SdpSend send) {
    return new MediaSession.SdpCallback() {
      @Override
      public void onSdp(String sdp) {
        send.send(sdp).whenComplete((ack, err) -> {
          if (err != null) done.completeExceptionally(err);
          else done.complete(ack);
        });
      }

      @Override
      public void onError(String message) {
        done.completeExceptionally(new ApiException(0, "MEDIA_ERROR", message));
      }
    };
  }

  public VoipClient(String baseUrl, String clientId, TokenStore store, OkHttpClient http, SignalingClient.Options opts) {
    RestClient rest = new RestClient(baseUrl, http, store);
    this.api = new VoipApi(rest);
    this.signaling = new SignalingClient(baseUrl, clientId, rest, opts);
    this.signaling.addListener(this::onSignalingEvent);
  }

  public VoipClient(String baseUrl, String clientId, TokenStore store) {
    this(baseUrl, clientId, store, RestClient.defaultHttpClient(), SignalingClient.Options.defaults());
  }

  public VoipApi api() {
    return api;
  }

  public SignalingClient signaling() {
    return signaling;
  }

  /** Told of every SignalingEvent, on the signaling thread, after the call model handled it. */
  public void addListener(SignalingClient.Listener l) {
    listeners.add(l);
  }

  public void removeListener(SignalingClient.Listener l) {
    listeners.remove(l);
  }

  /** Told when the session is gone for good (refresh refused, or session-revoked): show sign-in. */
  public void addSessionListener(RestClient.SessionListener l) {
    api.rest().addSessionListener(l);
  }

  public void connect() {
    signaling.connect();
  }

  public void disconnect() {
    signaling.disconnect();
  }

  /**
   * Logout: the socket closes first (so the server's session-revoked for this very logout is not taken
   * for a revocation from elsewhere), then the server ends the session and the TokenStore is cleared.
   */
  public void logout() throws ApiException {
    signaling.disconnect();
    api.logout();
  }

  /** Registers this install's FCM token under its clientId (so a connected device gets no cancel push). */
  public JSONObject registerPushToken(String fcmToken) throws ApiException {
    return api.putDevice(signaling.clientId(), "android", fcmToken);
  }

  /** Parses an FCM data message (null: ignore it). See docs/ANDROID.md for what the service does with each. */
  public static PushMessage parsePush(Map<String, String> data) {
    return PushMessage.parse(data, Instant.now());
  }

  /** The call this device takes part in, or null. */
  public Call call(String callId) {
    return calls.get(callId);
  }

  /**
   * Calls a user: POST /api/calls, then the MediaSession's offer as call-user. Blocks for the REST part
   * (run it off the main thread); {@link Call#signaled()} completes when the server has the offer. In
   * glare the returned call has {@link Call#replacedBy()} set and nothing is sent.
   */
  public Call dial(String calleeId, String media, MediaSession session) throws ApiException {
    VoipApi.CallStart start = api.initiateCall(calleeId, media);
    Call call = new Call(start.callId(), true, session);
    if (start.replacedBy() != null || "ended".equals(start.state())) {
      call.replacedBy = start.replacedBy();
      call.signaled.completeExceptionally(new ApiException(409, "CALL_REPLACED", "replaced by " + start.replacedBy()));
      return call;
    }
    calls.put(call.callId, call);
    session.createOffer(false, sdpTo(call.signaled, sdp -> signaling.request("call-user", new JSONObject()
        .put("callId", call.callId)
        .put("offer", new JSONObject().put("type", "offer").put("sdp", sdp)))));
    call.signaled.whenComplete((ack, err) -> {
      if (err != null) finish(call.callId);
    });
    return call;
  }

  /** Answers a ringing call with this device: the MediaSession's answer to the offer, as accept-call. */
  public Call accept(String callId, MediaSession session) {
    SignalingEvent.IncomingCall incoming = ringing.remove(callId);
    Call call = new Call(callId, false, session);
    if (incoming == null) {
      call.signaled.completeExceptionally(new ApiException(0, "CALL_NOT_FOUND", "no ringing call " + callId));
      return call;
    }
    calls.put(callId, call);
    session.createAnswer(incoming.offerSdp(), sdpTo(call.signaled, sdp -> signaling.request("accept-call", new JSONObject()
        .put("callId", callId)
        .put("answer", new JSONObject().put("type", "answer").put("sdp", sdp)))));
    call.signaled.whenComplete((ack, err) -> {
      if (err != null) finish(callId);
      else call.answered = true;
    });
    return call;
  }

  /** Declines a ringing call (every device of this user stops ringing); reason {@code declined} or {@code busy}. */
  public CompletableFuture<JSONObject> reject(String callId, String reason) {
    ringing.remove(callId);
    return signaling.request("reject-call", new JSONObject().put("callId", callId).put("reason", reason));
  }

  /** Ends a call this device placed or answered (cancelled while it rings, hangup after). */
  public CompletableFuture<JSONObject> hangUp(String callId) {
    Call call = calls.get(callId);
    boolean stillRinging = call != null && call.outgoing && !call.answered;
    return signaling.request("end-call", new JSONObject()
        .put("callId", callId)
        .put("reason", stillRinging ? "cancelled" : "hangup"))
        .whenComplete((ack, err) -> {
          if (err == null) finish(callId);
        });
  }

  private void finish(String callId) {
    ringing.remove(callId);
    Call call = calls.remove(callId);
    if (call != null) call.media.close();
  }

  /** Media work for each call event, then the app's listeners. */
  private void onSignalingEvent(SignalingEvent e) {
    if (e instanceof SignalingEvent.CallEvent ce) {
      Call call = calls.get(ce.callId());
      if (ce instanceof SignalingEvent.IncomingCall in) ringing.put(in.callId(), in);
      else if (ce instanceof SignalingEvent.Accepted a) {
        if (call != null) {
          call.answered = true;
          call.media.setRemoteAnswer(a.answerSdp());
        }
      } else if (ce instanceof SignalingEvent.RemoteCandidate rc) {
        if (call != null) call.media.addRemoteCandidate(rc.candidate());
      } else if (ce instanceof SignalingEvent.Renegotiated r) {
        if (call != null && "offer".equals(r.type())) {
          // The peer restarted ICE: answer it with ours.
          call.media.createAnswer(r.sdp(), sdpTo(new CompletableFuture<>(), sdp -> signaling.request("renegotiate",
              new JSONObject()
                  .put("callId", call.callId)
                  .put("description", new JSONObject().put("type", "answer").put("sdp", sdp)))));
        } else if (call != null && "answer".equals(r.type())) call.media.setRemoteAnswer(r.sdp());
      } else if (ce instanceof SignalingEvent.Ended || ce instanceof SignalingEvent.Rejected) {
        finish(ce.callId());
      } else if (ce instanceof SignalingEvent.AnsweredElsewhere) {
        ringing.remove(ce.callId());
        if (call != null && !call.outgoing && !call.answered) finish(ce.callId());
      }
    }
    for (SignalingClient.Listener l : listeners) l.onEvent(e);
  }
}
