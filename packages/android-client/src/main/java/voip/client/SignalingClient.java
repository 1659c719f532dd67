// The Socket.io connection to the signaling service, with reconnection driven here rather than by
// socket.io-client: every try's handshake carries a fresh access token, the stable clientId and the
// newest resumeToken (so the server restores the session and its calls within the resume window); an
// expired token is refreshed instead of counted as a failure; the back-off is seed 001's (1/2/4/8/16 s,
// five tries, with jitter); server-shutdown sets the delay; heartbeats at the server's interval find a link
// that died silently (a network switch); requests sent while away are queued and, if they were in flight
// on a link that died, sent again in order (the server's handlers are idempotent). Mirrors the TypeScript
// SDK (packages/client/src/signaling-client.ts). All state lives on one thread.
package voip.client;

import io.socket.client.Ack;
import io.socket.client.IO;
import io.socket.client.Socket;
import io.socket.engineio.client.transports.WebSocket;
import java.net.URI;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import okhttp3.OkHttpClient;
import org.json.JSONObject;

public final class SignalingClient {
  private static final Logger LOG = Logger.getLogger(SignalingClient.class.getName());
  /** connect_error codes that retrying with the same credentials cannot fix. */
  private static final Set<String> FATAL_CODES = Set.of("UNAUTHORIZED", "SESSION_REVOKED");

  public enum State { DISCONNECTED, CONNECTING, CONNECTED, RECONNECTING, FAILED }

  public interface Listener {
    void onEvent(SignalingEvent event);
  }

  /** What the client needs to know; {@link #defaults} gives API.md's values. */
  public record Options(long connectTimeoutMs, long ackTimeoutMs, boolean heartbeat, Backoff backoff) {
    public static Options defaults() {
      return new Options(10_000, 10_000, true, Backoff.standard());
    }
  }

  private static final class Pending {
    final String event;
    final JSONObject payload;
    final CompletableFuture<JSONObject> result = new CompletableFuture<>();
    long sendId;
    ScheduledFuture<?> timer;

    Pending(String event, JSONObject payload) {
      this.event = event;
      this.payload = payload;
    }
  }

  private final String url;
  private final String clientId;
  private final RestClient rest;
  private final OkHttpClient http;
  private final Options opts;
  private final ScheduledExecutorService loop;
  private final CopyOnWriteArrayList<Listener> listeners = new CopyOnWriteArrayList<>();

  // Everything below is touched on `loop` only.
  private State state = State.DISCONNECTED;
  private int attempt;
  private Socket socket;
  private okhttp3.WebSocket webSocket;
  private String resumeToken;
  /**
   * The highest {@code seq} received in this session, sent as {@code auth.lastSeq} on every handshake (0 at
   * first): the server numbers what it sends this device and, on a resume, replays what a link that died
   * silently swallowed. A message at or below it is a duplicate and dropped; a fresh session starts at 0.
   */
  private long lastSeq = 0;
  private String sessionId;
  private long generation;
  private boolean refreshedThisTry;
  private Long reconnectNotBefore;
  private ScheduledFuture<?> retryTimer, tryTimer, heartbeatTimer, shutdownTimer;
  private final Deque<Pending> queue = new ArrayDeque<>();
  private final Set<Pending> inflight = new LinkedHashSet<>();
  private long sendSeq;

  /**
   * @param url public base URL (Nginx), e.g. https://voip.example.com; {@code /socket.io} is the path
   * @param clientId stable per-install id (generate once, keep in app storage): one user, several devices
   */
  public SignalingClient(String url, String clientId, RestClient rest, Options opts) {
    if (!clientId.matches("[A-Za-z0-9_-]{8,64}")) throw new IllegalArgumentException("clientId: 8-64 of [A-Za-z0-9_-]");
    this.url = url.replaceAll("/+$", "");
    this.clientId = clientId;
    this.rest = rest;
    this.http = rest.http();
    this.opts = opts;
    this.loop = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "voip-signaling");
      t.setDaemon(true);
      return t;
    });
  }

  public String clientId() {
    return clientId;
  }

  public void addListener(Listener l) {
    listeners.add(l);
  }

  public void removeListener(Listener l) {
    listeners.remove(l);
  }

  /** The current state, read on any thread (a snapshot). */
  public State state() {
    return onLoop(() -> state);
  }

  /** The server's session id of the current connection (diagnostics), or null. */
  public String sessionId() {
    return onLoop(() -> sessionId);
  }

  private <T> T onLoop(java.util.concurrent.Callable<T> c) {
    try {
      return loop.submit(c).get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Connects (no-op unless disconnected or failed). */
  public void connect() {
    loop.execute(() -> {
      if (state != State.DISCONNECTED && state != State.FAILED) return;
      state = State.CONNECTING;
      attempt = 0;
      tryConnect();
    });
  }

  /** Leaves for good: the server treats this as the device going away, not as a network drop. */
  public void disconnect() {
    loop.execute(() -> close(null, null));
  }

  /** Releases the thread; the client cannot be used afterwards. */
  public void shutdown() {
    loop.execute(() -> close(null, null));
    loop.shutdown();
  }

  /**
   * The device's network changed (Android's ConnectivityManager.NetworkCallback): the socket may be
   * bound to a network that is gone, so drop it now and resume on the new one instead of waiting for
   * the heartbeat to notice; also skips a back-off wait.
   */
  public void onNetworkChanged() {
    loop.execute(() -> {
      if (state == State.CONNECTED) lost("NETWORK_CHANGED", "network changed", false, 0L);
      else if (state == State.RECONNECTING && retryTimer != null) {
        retryTimer.cancel(false);
        retryTimer = null;
        tryConnect();
      } else if (state == State.FAILED) connect();
    });
  }

  /** Drops the transport as a network failure would (the server keeps the session); tests use this. */
  public void dropTransport() {
    loop.execute(() -> {
      if (state == State.CONNECTED) lost("TRANSPORT_DROPPED", "transport dropped", false, null);
    });
  }

  /**
   * Sends a client event and completes with its ack; {@code ok: false} completes exceptionally with an
   * ApiException carrying the server's code (FORBIDDEN, INVALID_STATE, VALIDATION_FAILED...).
   */
  public CompletableFuture<JSONObject> request(String event, JSONObject payload) {
    Pending p = new Pending(event, payload);
    loop.execute(() -> {
      if (state == State.DISCONNECTED || state == State.FAILED) {
        p.result.completeExceptionally(
            new ApiException(0, "DISCONNECTED", "cannot send " + event + ": signaling is " + state));
        return;
      }
      if (ready()) send(p);
      else queue.add(p);
    });
    return p.result;
  }

  // ---- internals (on `loop`) ----

  private boolean ready() {
    return state == State.CONNECTED && socket != null && socket.connected();
  }

  private void emit(SignalingEvent e) {
    for (Listener l : listeners) {
      try {
        l.onEvent(e);
      } catch (RuntimeException err) {
        LOG.log(Level.WARNING, "signaling listener threw on " + e, err);
      }
    }
  }

  private void send(Pending p) {
    long sendId = ++sendSeq;
    p.sendId = sendId;
    inflight.add(p);
    p.timer = loop.schedule(() -> {
      if (p.sendId != sendId || !inflight.remove(p)) return;
      p.result.completeExceptionally(new ApiException(0, "TIMEOUT", "no ack for " + p.event));
    }, opts.ackTimeoutMs(), TimeUnit.MILLISECONDS);
    socket.emit(p.event, new Object[] {p.payload}, (Ack) args -> loop.execute(() -> {
      if (p.sendId != sendId || !inflight.remove(p)) return;
      p.timer.cancel(false);
      JSONObject ack = args.length > 0 && args[0] instanceof JSONObject o ? o : new JSONObject();
      if (ack.optBoolean("ok")) p.result.complete(ack);
      else {
        JSONObject err = ack.optJSONObject("error");
        p.result.completeExceptionally(new ApiException(
            0,
            err != null ? err.optString("code", "REJECTED") : "REJECTED",
            err != null ? err.optString("message", p.event + " was refused") : p.event + " was refused"));
      }
    }));
  }

  private void flush() {
    List<Pending> queued = new ArrayList<>(queue);
    queue.clear();
    for (Pending p : queued) send(p);
  }

  /** Requests sent on a link that died go out again after reconnecting, ahead of later ones, in order. */
  private void requeueInflight() {
    List<Pending> list = new ArrayList<>(inflight);
    inflight.clear();
    list.sort(Comparator.comparingLong(p -> p.sendId));
    for (int i = list.size() - 1; i >= 0; i--) {
      Pending p = list.get(i);
      if (p.timer != null) p.timer.cancel(false);
      p.sendId = 0;
      queue.addFirst(p);
    }
  }

  private void failAll(String code, String message) {
    List<Pending> all = new ArrayList<>(inflight);
    all.addAll(queue);
    inflight.clear();
    queue.clear();
    for (Pending p : all) {
      if (p.timer != null) p.timer.cancel(false);
      p.sendId = -1;
      p.result.completeExceptionally(new ApiException(0, code, message));
    }
  }

  private void tryConnect() {
    long gen = ++generation;
    refreshedThisTry = false;
    // The access token may need a refresh (an HTTP call): not on this thread.
    offLoop(gen, rest::accessToken, (token, cause) -> {
      if (cause != null) {
        boolean fatal = cause instanceof ApiException a && a.status() == 401;
        String code = cause instanceof ApiException a ? a.code() : "TOKEN_UNAVAILABLE";
        lost(code, String.valueOf(cause.getMessage()), fatal, null);
        return;
      }
      openSocket(gen, token);
    });
  }

  /** A blocking REST call, e.g. one that may refresh the token. */
  private interface RestCall<T> {
    T call() throws ApiException;
  }

  /**
   * Runs {@code call} off the loop (it blocks on HTTP) and hands its result, or what it threw, back on
   * the loop; dropped if a newer try or a close has moved the generation on from {@code gen} meanwhile.
   */
  private <T> void offLoop(long gen, RestCall<T> call, java.util.function.BiConsumer<T, Throwable> then) {
    CompletableFuture.supplyAsync(() -> {
      try {
        return call.call();
      } catch (ApiException e) {
        throw new java.util.concurrent.CompletionException(e);
      }
    }).whenComplete((result, err) -> loop.execute(() -> {
      if (gen != generation) return;
      then.accept(result, err == null ? null : err.getCause() != null ? err.getCause() : err);
    }));
  }

  private void openSocket(long gen, String token) {
    disposeSocket();
    Map<String, String> auth = new LinkedHashMap<>();
    auth.put("token", token);
    auth.put("clientId", clientId);
    if (resumeToken != null) auth.put("resumeToken", resumeToken);
    auth.put("lastSeq", Long.toString(lastSeq));
    IO.Options o = IO.Options.builder()
        .setPath("/socket.io")
        .setTransports(new String[] {WebSocket.NAME})
        .setReconnection(false)
        .setForceNew(true)
        .setTimeout(opts.connectTimeoutMs())
        // Nginx hashes on it so a session's requests reach the same instance.
        .setQuery("clientId=" + clientId)
        .setAuth(auth)
        .build();
    o.callFactory = http;
    // Keeps the WebSocket so a lost link can be cut without the socket.io goodbye (which the server
    // would take as this device leaving for good and end its calls).
    o.webSocketFactory = (request, listener) -> {
      okhttp3.WebSocket ws = http.newWebSocket(request, listener);
      loop.execute(() -> webSocket = ws);
      return ws;
    };
    Socket s = IO.socket(URI.create(url), o);
    socket = s;
    s.on(Socket.EVENT_CONNECT_ERROR, args -> loop.execute(() -> {
      if (socket != s || gen != generation) return;
      String[] ce = connectError(args);
      if ("TOKEN_EXPIRED".equals(ce[0]) && !refreshedThisTry) {
        // Not a network failure: a new token, and go again at once.
        refreshedThisTry = true;
        offLoop(gen, rest::refresh, (fresh, cause) -> {
          if (cause != null) {
            lost("TOKEN_EXPIRED", String.valueOf(cause.getMessage()), cause instanceof ApiException a && a.status() == 401, null);
          } else {
            long g = ++generation;
            // What the store holds now, not the refresh's answer: a logout may have raced it.
            Tokens t = rest.tokens();
            if (t == null) lost("UNAUTHORIZED", "signed out", true, null);
            else openSocket(g, t.accessToken());
          }
        });
        return;
      }
      lost(ce[0], ce[1], FATAL_CODES.contains(ce[0]), null);
    }));
    s.on(Socket.EVENT_DISCONNECT, args -> loop.execute(() -> {
      if (socket != s) return;
      String reason = args.length > 0 ? String.valueOf(args[0]) : "disconnect";
      if ("io client disconnect".equals(reason)) return;
      lost("DISCONNECTED", reason, false, null);
    }));
    for (String name : SignalingEvent.SERVER_EVENTS) {
      s.on(name, args -> {
        JSONObject p = args.length > 0 && args[0] instanceof JSONObject j ? j : new JSONObject();
        loop.execute(() -> {
          if (socket == s) onServerEvent(name, p);
        });
      });
    }
    tryTimer = loop.schedule(() -> {
      if (gen == generation && state != State.CONNECTED) lost("TIMEOUT", "no session from the server in time", false, null);
    }, opts.connectTimeoutMs(), TimeUnit.MILLISECONDS);
    s.connect();
  }

  /** [code, message] of a connect_error: the server's {message, data: {code}} or a transport error. */
  private static String[] connectError(Object[] args) {
    Object a = args.length > 0 ? args[0] : null;
    if (a instanceof JSONObject o) {
      JSONObject data = o.optJSONObject("data");
      String code = data != null ? data.optString("code", "CONNECT_FAILED") : "CONNECT_FAILED";
      return new String[] {code, o.optString("message", code)};
    }
    return new String[] {"CONNECT_FAILED", a instanceof Throwable t ? String.valueOf(t.getMessage()) : String.valueOf(a)};
  }

  private void onServerEvent(String name, JSONObject p) {
    long seq = p != null ? p.optLong("seq", 0) : 0;
    if (seq > 0) {
      if (seq <= lastSeq) return; // already had it: a replay after a resume
      lastSeq = seq;
    }
    switch (name) {
      case "session" -> {
        boolean resumed = p.optBoolean("resumed", false);
        if (!resumed) lastSeq = 0; // a fresh session numbers from 1 again
        resumeToken = p.getString("resumeToken");
        sessionId = p.optString("sessionId", null);
        if (tryTimer != null) tryTimer.cancel(false);
        state = State.CONNECTED;
        attempt = 0;
        startHeartbeat(p.optLong("heartbeatIntervalMs", 0));
        flush();
        emit(new SignalingEvent.Connected(sessionId, resumed, p.optLong("resumeWindowMs"), p.optLong("heartbeatIntervalMs")));
        return;
      }
      case "server-shutdown" -> {
        long after = p.optLong("reconnectAfterMs", 0);
        // Reconnect at the time the server asked for, elsewhere, even if it keeps this socket open till then.
        reconnectNotBefore = System.currentTimeMillis() + after;
        if (shutdownTimer != null) shutdownTimer.cancel(false);
        Socket s = socket;
        shutdownTimer = loop.schedule(() -> {
          if (socket == s && state == State.CONNECTED) lost("SERVER_SHUTDOWN", "server shutting down", false, null);
        }, after, TimeUnit.MILLISECONDS);
      }
      case "session-revoked" -> {
        emit(SignalingEvent.parse(name, p));
        String reason = p.optString("reason", "revoked");
        close("SESSION_REVOKED", reason);
        rest.sessionLost(new ApiException(401, "SESSION_REVOKED", reason));
        return;
      }
      default -> { }
    }
    SignalingEvent e = SignalingEvent.parse(name, p);
    if (e != null) emit(e);
  }

  /** @param delayOverride the next try's delay, or null for the back-off step */
  private void lost(String code, String message, boolean fatal, Long delayOverride) {
    if (state == State.DISCONNECTED || state == State.FAILED) return;
    if (state == State.RECONNECTING && retryTimer != null) return; // already waiting
    generation++;
    if (tryTimer != null) tryTimer.cancel(false);
    stopHeartbeat();
    requeueInflight();
    int next = state == State.RECONNECTING ? attempt + 1 : 1;
    Socket dead = socket;
    socket = null;
    if (dead != null) dead.off();
    // Whatever is left of the link goes, without a goodbye: the next try opens a fresh one (maybe to
    // another instance) and resumes the session.
    if (webSocket != null) webSocket.cancel();
    webSocket = null;
    if (fatal || next > Backoff.MAX_ATTEMPTS) {
      state = State.FAILED;
      failAll(code, "signaling failed: " + message);
      emit(new SignalingEvent.Failed(code, message));
      return;
    }
    long now = System.currentTimeMillis();
    long delay = delayOverride != null ? delayOverride
        : reconnectNotBefore != null ? Math.max(0, reconnectNotBefore - now)
        : opts.backoff().delayMs(next - 1);
    reconnectNotBefore = null;
    state = State.RECONNECTING;
    attempt = next;
    LOG.fine(() -> "signaling lost (" + code + "), try " + next + " in " + delay + " ms");
    retryTimer = loop.schedule(() -> {
      retryTimer = null;
      tryConnect();
    }, delay, TimeUnit.MILLISECONDS);
    emit(new SignalingEvent.Reconnecting(next, delay, code));
  }

  private void close(String code, String message) {
    generation++;
    if (retryTimer != null) retryTimer.cancel(false);
    if (tryTimer != null) tryTimer.cancel(false);
    if (shutdownTimer != null) shutdownTimer.cancel(false);
    retryTimer = tryTimer = shutdownTimer = null;
    stopHeartbeat();
    disposeSocket();
    resumeToken = null;
    lastSeq = 0;
    sessionId = null;
    reconnectNotBefore = null;
    failAll(code != null ? code : "DISCONNECTED", message != null ? message : "signaling disconnected");
    state = State.DISCONNECTED;
  }

  private void disposeSocket() {
    Socket s = socket;
    socket = null;
    webSocket = null;
    if (s != null) {
      s.off();
      s.disconnect();
    }
  }

  private void startHeartbeat(long intervalMs) {
    stopHeartbeat();
    if (!opts.heartbeat() || intervalMs <= 0) return;
    heartbeatTimer = loop.scheduleAtFixedRate(() -> {
      if (!ready()) return;
      Socket s = socket;
      // Heartbeats are not queued or resent: one that goes unanswered means the link is dead.
      boolean[] answered = {false};
      // lastSeq: a cumulative ack, so the server keeps less to replay.
      s.emit("heartbeat", new Object[] {new JSONObject().put("lastSeq", lastSeq)},
          (Ack) args -> loop.execute(() -> answered[0] = true));
      loop.schedule(() -> {
        if (!answered[0] && socket == s && state == State.CONNECTED) lost("HEARTBEAT_TIMEOUT", "heartbeat unanswered", false, null);
      }, Math.min(intervalMs, opts.ackTimeoutMs()), TimeUnit.MILLISECONDS);
    }, intervalMs, intervalMs, TimeUnit.MILLISECONDS);
  }

  private void stopHeartbeat() {
    if (heartbeatTimer != null) heartbeatTimer.cancel(false);
    heartbeatTimer = null;
  }
}
