// Auth against a real local HTTP server (the JDK's): refresh before expiry, one refresh for concurrent
// callers, a refused refresh signs out and tells the app, logout clears the store even if the server fails.
package voip.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.json.JSONObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class RestClientTest {
  HttpServer server;
  String base;
  final AtomicInteger refreshes = new AtomicInteger();
  final AtomicInteger logouts = new AtomicInteger();
  volatile int refreshStatus = 200;
  volatile String validRefresh = "r0";
  final AtomicReference<String> lastBearer = new AtomicReference<>();

  static String jwt(long expSeconds, String tag) {
    Base64.Encoder e = Base64.getUrlEncoder().withoutPadding();
    return e.encodeToString("{\"alg\":\"ES256\"}".getBytes(StandardCharsets.UTF_8)) + "."
        + e.encodeToString(("{\"exp\":" + expSeconds + ",\"sid\":\"S1\",\"t\":\"" + tag + "\"}").getBytes(StandardCharsets.UTF_8))
        + ".sig";
  }

  static void reply(HttpExchange x, int status, String body) throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    x.getResponseHeaders().add("content-type", "application/json");
    x.getResponseHeaders().add("x-request-id", "req-1");
    x.sendResponseHeaders(status, b.length == 0 ? -1 : b.length);
    if (b.length > 0) x.getResponseBody().write(b);
    x.close();
  }

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setExecutor(Executors.newFixedThreadPool(8));
    server.createContext("/api/auth/refresh", x -> {
      String body = new String(x.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      int n = refreshes.incrementAndGet();
      try {
        Thread.sleep(150); // long enough for every concurrent caller to pile up behind it
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      String presented = new JSONObject(body).getString("refreshToken");
      if (refreshStatus != 200 || !presented.equals(validRefresh)) {
        reply(x, 401, "{\"error\":{\"code\":\"SESSION_REVOKED\",\"message\":\"refresh token reused\"}}");
        return;
      }
      validRefresh = "r" + n;
      long exp = System.currentTimeMillis() / 1000 + 900;
      reply(x, 200, new JSONObject().put("accessToken", jwt(exp, "a" + n)).put("refreshToken", validRefresh)
          .put("expiresIn", 900).toString());
    });
    server.createContext("/api/users/me", x -> {
      lastBearer.set(x.getRequestHeaders().getFirst("authorization"));
      reply(x, 200, "{\"id\":\"U1\"}");
    });
    server.createContext("/api/auth/logout", x -> {
      logouts.incrementAndGet();
      reply(x, 503, "{\"error\":{\"code\":\"UPSTREAM_UNAVAILABLE\",\"message\":\"auth is down\"}}");
    });
    server.start();
    base = "http://127.0.0.1:" + server.getAddress().getPort();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  TokenStore storeWith(long expiresAtMs) {
    TokenStore s = new TokenStore.InMemory();
    s.save(new Tokens(jwt(expiresAtMs / 1000, "a0"), "r0", expiresAtMs));
    return s;
  }

  @Test
  void refreshesBeforeExpiryOnceForConcurrentCallers() throws Exception {
    // Expires in 10 s, inside the 30 s margin: the next request refreshes first.
    TokenStore store = storeWith(System.currentTimeMillis() + 10_000);
    VoipApi api = new VoipApi(new RestClient(base, RestClient.defaultHttpClient(), store));
    ExecutorService pool = Executors.newFixedThreadPool(8);
    CountDownLatch go = new CountDownLatch(1);
    List<Future<JSONObject>> results = new ArrayList<>();
    for (int i = 0; i < 8; i++) results.add(pool.submit(() -> {
      go.await();
      return api.me();
    }));
    go.countDown();
    for (Future<JSONObject> f : results) assertEquals("U1", f.get().getString("id"));
    pool.shutdown();
    assertEquals(1, refreshes.get(), "one POST /refresh for eight callers");
    assertEquals("r1", store.load().refreshToken(), "the rotated refresh token is stored");
    assertEquals("Bearer " + store.load().accessToken(), lastBearer.get());
  }

  @Test
  void aValidTokenIsNotRefreshed() throws Exception {
    TokenStore store = storeWith(System.currentTimeMillis() + 600_000);
    new VoipApi(new RestClient(base, RestClient.defaultHttpClient(), store)).me();
    assertEquals(0, refreshes.get());
  }

  @Test
  void aRefusedRefreshSignsOutAndTellsTheApp() {
    refreshStatus = 401;
    TokenStore store = storeWith(System.currentTimeMillis() - 1000);
    RestClient rest = new RestClient(base, RestClient.defaultHttpClient(), store);
    AtomicReference<ApiException> lost = new AtomicReference<>();
    rest.addSessionListener(lost::set);
    ApiException e = assertThrows(ApiException.class, () -> new VoipApi(rest).me());
    assertEquals("SESSION_REVOKED", e.code());
    assertEquals(401, e.status());
    assertNull(store.load());
    assertEquals("SESSION_REVOKED", lost.get().code());
  }

  @Test
  void logoutForgetsTheTokensEvenWhenTheServerFails() {
    TokenStore store = storeWith(System.currentTimeMillis() + 600_000);
    VoipApi api = new VoipApi(new RestClient(base, RestClient.defaultHttpClient(), store));
    ApiException e = assertThrows(ApiException.class, api::logout);
    assertEquals("UPSTREAM_UNAVAILABLE", e.code());
    assertEquals("req-1", e.requestId());
    assertEquals(1, logouts.get());
    assertNull(store.load());
    assertNull(api.rest().tokens());
  }
}
