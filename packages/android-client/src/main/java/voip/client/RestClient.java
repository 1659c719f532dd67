// HTTP to the public API (through Nginx) over OkHttp: bearer tokens from the app's TokenStore, API.md's
// error shape as ApiException, and access-token refresh that is proactive (before expiry) and
// single-flight (one POST /refresh however many threads need it at once), because refresh tokens rotate
// and a second concurrent use would revoke the whole session. Calls block: run them off the main thread.
package voip.client;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.ResponseBody;
import org.json.JSONException;
import org.json.JSONObject;
import org.json.JSONTokener;

public final class RestClient {
  private static final MediaType JSON = MediaType.parse("application/json; charset=utf-8");

  /** Told when the session is gone for good (refresh token refused, or revoked): show the sign-in screen. */
  public interface SessionListener {
    void onSessionLost(ApiException why);
  }

  private final HttpUrl base;
  private final OkHttpClient http;
  private final TokenStore store;
  private final long refreshMarginMs;
  private final LongSupplier clock;
  private final CopyOnWriteArrayList<SessionListener> listeners = new CopyOnWriteArrayList<>();
  private final Object lock = new Object();
  private Tokens tokens;
  private CompletableFuture<Tokens> refreshing;

  /**
   * @param baseUrl public base URL, e.g. https://voip.example.com (the library adds /api/...)
   * @param http the app's OkHttpClient (share it: one connection pool, the app's TLS settings)
   * @param refreshMarginMs how long before {@code exp} a token counts as expired (refresh before expiry)
   */
  public RestClient(String baseUrl, OkHttpClient http, TokenStore store, long refreshMarginMs, LongSupplier clock) {
    HttpUrl parsed = HttpUrl.parse(baseUrl.replaceAll("/+$", ""));
    if (parsed == null) throw new IllegalArgumentException("not an http(s) URL: " + baseUrl);
    this.base = parsed;
    this.http = http;
    this.store = store;
    this.refreshMarginMs = refreshMarginMs;
    this.clock = clock;
    this.tokens = store.load();
  }

  public RestClient(String baseUrl, OkHttpClient http, TokenStore store) {
    this(baseUrl, http, store, 30_000, System::currentTimeMillis);
  }

  public static OkHttpClient defaultHttpClient() {
    return new OkHttpClient.Builder()
        .connectTimeout(10, TimeUnit.SECONDS)
        .readTimeout(15, TimeUnit.SECONDS)
        .writeTimeout(15, TimeUnit.SECONDS)
        .build();
  }

  public String baseUrl() {
    return base.toString().replaceAll("/+$", "");
  }

  OkHttpClient http() {
    return http;
  }

  public void addSessionListener(SessionListener l) {
    listeners.add(l);
  }

  public Tokens tokens() {
    synchronized (lock) {
      return tokens;
    }
  }

  public boolean signedIn() {
    return tokens() != null;
  }

  /** Keeps new tokens (login) or forgets them (null: logout), in memory and in the app's store. */
  public void setTokens(Tokens t) {
    synchronized (lock) {
      tokens = t;
    }
    if (t != null) store.save(t);
    else store.clear();
  }

  /** A usable access token: the stored one, or a fresh one when it is within the margin of its expiry. */
  public String accessToken() throws ApiException {
    Tokens t = tokens();
    if (t == null) throw new ApiException(401, "UNAUTHORIZED", "not signed in");
    if (t.expiresAtMs() - refreshMarginMs <= clock.getAsLong()) return refresh().accessToken();
    return t.accessToken();
  }

  /**
   * Exchanges the refresh token for a new pair. Concurrent callers share one request. A refused refresh
   * token (401) clears the store and tells the SessionListeners.
   */
  public Tokens refresh() throws ApiException {
    CompletableFuture<Tokens> mine;
    Tokens current;
    boolean leader = false;
    synchronized (lock) {
      current = tokens;
      if (current == null) throw new ApiException(401, "UNAUTHORIZED", "not signed in");
      if (refreshing == null) {
        refreshing = new CompletableFuture<>();
        leader = true;
      }
      mine = refreshing;
    }
    if (leader) {
      try {
        JSONObject pair =
            (JSONObject) send("POST", "/api/auth/refresh", null, new JSONObject().put("refreshToken", current.refreshToken()), null);
        Tokens fresh = Tokens.fromPair(pair, clock.getAsLong());
        boolean keep;
        synchronized (lock) {
          // A logout that raced this refresh wins: do not resurrect the session.
          keep = tokens == current;
          if (keep) tokens = fresh;
          refreshing = null;
        }
        if (keep) store.save(fresh);
        mine.complete(fresh);
      } catch (ApiException e) {
        boolean lost;
        synchronized (lock) {
          lost = e.status() == 401 && tokens == current;
          if (lost) tokens = null;
          refreshing = null;
        }
        if (lost) {
          store.clear();
          for (SessionListener l : listeners) l.onSessionLost(e);
        }
        mine.completeExceptionally(e);
      }
    }
    try {
      return mine.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof ApiException a) throw a;
      throw new ApiException(0, "INTERNAL", String.valueOf(e.getCause()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ApiException(0, "INTERRUPTED", "interrupted while refreshing");
    }
  }

  /** Tells the listeners the session is gone (signaling's session-revoked) and forgets the tokens. */
  void sessionLost(ApiException why) {
    setTokens(null);
    for (SessionListener l : listeners) l.onSessionLost(why);
  }

  /** One authenticated call; on 401 TOKEN_EXPIRED refreshes (single-flight) and retries once. */
  public Object request(String method, String path, Map<String, String> query, Object body) throws ApiException {
    String token = accessToken();
    try {
      return send(method, path, query, body, token);
    } catch (ApiException e) {
      if (e.status() != 401 || !"TOKEN_EXPIRED".equals(e.code())) throw e;
      Tokens now = tokens();
      String fresh = now != null && !now.accessToken().equals(token) ? now.accessToken() : refresh().accessToken();
      return send(method, path, query, body, fresh);
    }
  }

  /** A call without credentials (login, register). */
  public Object requestAnonymous(String method, String path, Object body) throws ApiException {
    return send(method, path, null, body, null);
  }

  private Object send(String method, String path, Map<String, String> query, Object body, String token)
      throws ApiException {
    HttpUrl.Builder url = base.newBuilder().encodedPath(base.encodedPath().replaceAll("/+$", "") + path);
    if (query != null) query.forEach((k, v) -> {
      if (v != null) url.addQueryParameter(k, v);
    });
    Request.Builder req = new Request.Builder().url(url.build()).header("accept", "application/json");
    if (token != null) req.header("authorization", "Bearer " + token);
    RequestBody rb = body == null ? null : RequestBody.create(JSON, body.toString());
    if (rb == null && ("POST".equals(method) || "PUT".equals(method) || "PATCH".equals(method)))
      rb = RequestBody.create(null, new byte[0]);
    req.method(method, rb);
    try (Response res = http.newCall(req.build()).execute()) {
      String requestId = res.header("x-request-id");
      ResponseBody rbody = res.body();
      String text = rbody == null ? "" : rbody.string();
      Object parsed = null;
      if (!text.isEmpty()) {
        try {
          parsed = new JSONTokener(text).nextValue();
        } catch (JSONException e) {
          parsed = null;
        }
      }
      if (!res.isSuccessful()) {
        JSONObject err = parsed instanceof JSONObject o ? o.optJSONObject("error") : null;
        String code = err != null ? err.optString("code", codeForStatus(res.code())) : codeForStatus(res.code());
        String message = err != null ? err.optString("message", method + " " + path) : method + " " + path + " failed with " + res.code();
        throw new ApiException(res.code(), code, message, requestId);
      }
      return parsed;
    } catch (InterruptedIOException e) {
      throw new ApiException(0, "TIMEOUT", method + " " + path + ": " + e.getMessage());
    } catch (IOException e) {
      throw new ApiException(0, "NETWORK_ERROR", method + " " + path + ": " + e.getMessage());
    }
  }

  /** A code for error answers without API.md's body (e.g. Nginx's own 502 page). */
  static String codeForStatus(int status) {
    return switch (status) {
      case 401 -> "UNAUTHORIZED";
      case 403 -> "FORBIDDEN";
      case 404 -> "NOT_FOUND";
      case 413 -> "PAYLOAD_TOO_LARGE";
      case 429 -> "RATE_LIMITED";
      case 502, 503 -> "UPSTREAM_UNAVAILABLE";
      case 504 -> "UPSTREAM_TIMEOUT";
      default -> status >= 500 ? "INTERNAL" : "BAD_REQUEST";
    };
  }
}
