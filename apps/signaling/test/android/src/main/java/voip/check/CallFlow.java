// A whole call between two "phones", each speaking Socket.io through io.socket:socket.io-client (the
// library the Android app uses), each on its own signaling instance. Prints CALL_FLOW_OK on success;
// any missing event, refused ack or time-out prints the reason and exits 1.
// With CA_FILE set (a PEM certificate authority), the URLs may be https:// (WSS): OkHttp trusts that
// authority alone, as an Android app does with a network security config naming its CA.
package voip.check;

import io.socket.client.Ack;
import io.socket.client.IO;
import io.socket.client.Socket;
import io.socket.engineio.client.transports.WebSocket;
import java.io.FileInputStream;
import java.io.InputStream;
import java.net.URI;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import okhttp3.OkHttpClient;
import org.json.JSONObject;

public final class CallFlow {
  private static final long TIMEOUT_S = 15;

  /** One device: a socket plus a queue per server event, so no event is missed before we wait for it. */
  static final class Phone {
    final String name;
    final Socket socket;
    final Map<String, BlockingQueue<JSONObject>> events = new ConcurrentHashMap<>();

    Phone(String name, String url, String token, String clientId, OkHttpClient http) {
      this.name = name;
      IO.Options opts = IO.Options.builder()
          .setTransports(new String[] {WebSocket.NAME})
          .setReconnection(false)
          .setAuth(Map.of("token", token, "clientId", clientId))
          .build();
      if (http != null) {
        // The same OkHttp client for the WebSocket and for polling, trusting the given authority.
        opts.webSocketFactory = http;
        opts.callFactory = http;
      }
      this.socket = IO.socket(URI.create(url), opts);
      for (String ev : new String[] {"session", "incoming-call", "call-ringing", "call-accepted", "ice-candidate",
          "call-ended", "call-answered-elsewhere", "peer-reconnecting", "peer-reconnected"}) {
        events.put(ev, new LinkedBlockingQueue<>());
        socket.on(ev, args -> events.get(ev).add((JSONObject) args[0]));
      }
      socket.on(Socket.EVENT_CONNECT_ERROR, args -> {
        Object err = args[0];
        // The transport error's cause says why (e.g. a certificate OkHttp does not trust).
        Throwable cause = err instanceof Throwable ? ((Throwable) err).getCause() : null;
        fail(name + " connect_error: " + err + (cause != null ? " caused by " + cause : ""));
      });
    }

    JSONObject await(String event) throws InterruptedException {
      JSONObject p = events.get(event).poll(TIMEOUT_S, TimeUnit.SECONDS);
      if (p == null) fail(name + " did not receive " + event);
      return p;
    }

    JSONObject call(String event, JSONObject payload) throws InterruptedException {
      BlockingQueue<JSONObject> reply = new LinkedBlockingQueue<>();
      socket.emit(event, new Object[] {payload}, (Ack) args -> reply.add((JSONObject) args[0]));
      JSONObject ack = reply.poll(TIMEOUT_S, TimeUnit.SECONDS);
      if (ack == null) fail(name + ": no ack for " + event);
      if (!ack.optBoolean("ok")) fail(name + ": " + event + " refused: " + ack);
      return ack;
    }
  }

  static void fail(String why) {
    System.out.println("CALL_FLOW_FAILED " + why);
    System.out.flush();
    System.exit(1);
  }

  static void expect(boolean cond, String why) {
    if (!cond) fail(why);
  }

  /** An OkHttp client that trusts only the CA in CA_FILE, or null when it is not set (plain ws://). */
  static OkHttpClient httpClient() throws Exception {
    String caFile = System.getenv("CA_FILE");
    if (caFile == null || caFile.isEmpty()) return null;
    X509Certificate ca;
    try (InputStream in = new FileInputStream(caFile)) {
      ca = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
    KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
    store.load(null, null);
    store.setCertificateEntry("voip-local-ca", ca);
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(store);
    X509TrustManager trust = (X509TrustManager) tmf.getTrustManagers()[0];
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(null, new javax.net.ssl.TrustManager[] {trust}, null);
    return new OkHttpClient.Builder()
        .sslSocketFactory(tls.getSocketFactory(), trust)
        .readTimeout(1, TimeUnit.MINUTES)
        .build();
  }

  static String env(String name) {
    String v = System.getenv(name);
    if (v == null || v.isEmpty()) fail("missing env " + name);
    return v;
  }

  public static void main(String[] argv) throws Exception {
    String callId = env("CALL_ID");
    OkHttpClient http = httpClient();
    Phone caller = new Phone("caller", env("CALLER_URL"), env("CALLER_TOKEN"), "android-caller-0001", http);
    Phone callee = new Phone("callee", env("CALLEE_URL"), env("CALLEE_TOKEN"), "android-callee-0001", http);
    caller.socket.connect();
    callee.socket.connect();
    expect(caller.await("session").has("resumeToken"), "session without resumeToken");
    callee.await("session");

    JSONObject offer = new JSONObject().put("type", "offer").put("sdp", "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n");
    caller.call("call-user", new JSONObject().put("callId", callId).put("offer", offer));

    JSONObject incoming = callee.await("incoming-call");
    expect(callId.equals(incoming.getString("callId")), "incoming-call for another call");
    expect(incoming.getJSONObject("offer").getString("sdp").equals(offer.getString("sdp")), "offer changed on the way");
    expect(callId.equals(caller.await("call-ringing").getString("callId")), "call-ringing for another call");

    JSONObject answer = new JSONObject().put("type", "answer").put("sdp", "v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\n");
    callee.call("accept-call", new JSONObject().put("callId", callId).put("answer", answer));
    JSONObject accepted = caller.await("call-accepted");
    expect(accepted.getJSONObject("answer").getString("sdp").equals(answer.getString("sdp")), "answer changed on the way");

    JSONObject c1 = new JSONObject().put("candidate", "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host")
        .put("sdpMid", "0").put("sdpMLineIndex", 0);
    caller.call("ice-candidate", new JSONObject().put("callId", callId).put("candidate", c1));
    expect(callee.await("ice-candidate").getJSONObject("candidate").getString("candidate").equals(c1.getString("candidate")),
        "caller candidate changed on the way");
    JSONObject c2 = new JSONObject().put("candidate", "candidate:2 1 udp 2122260223 192.0.2.2 54401 typ host")
        .put("sdpMid", "0").put("sdpMLineIndex", 0);
    callee.call("ice-candidate", new JSONObject().put("callId", callId).put("candidate", c2));
    expect(caller.await("ice-candidate").getJSONObject("candidate").getString("candidate").equals(c2.getString("candidate")),
        "callee candidate changed on the way");

    JSONObject hb = caller.call("heartbeat", new JSONObject());
    expect(hb.has("serverTime"), "heartbeat ack without serverTime");

    caller.call("end-call", new JSONObject().put("callId", callId).put("reason", "hangup"));
    expect("hangup".equals(callee.await("call-ended").getString("reason")), "callee: wrong end reason");
    expect("hangup".equals(caller.await("call-ended").getString("reason")), "caller: wrong end reason");

    caller.socket.disconnect();
    callee.socket.disconnect();
    System.out.println("CALL_FLOW_OK");
    System.out.flush();
    System.exit(0);
  }
}
