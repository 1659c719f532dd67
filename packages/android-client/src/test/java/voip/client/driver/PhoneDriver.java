// A phone made of the library, driven from test/stack.test.ts over stdin/stdout (one JSON object a
// line): commands in, their results and every SignalingEvent out (lines starting "@@ "). Media is a
// fake MediaSession with hand-made SDP (no WebRTC on a desktop JVM); the network goes through a local
// TCP relay the test can black-hole, which is what a network switch looks like to the phone: the old
// link stops carrying anything, without a close.
package voip.client.driver;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.json.JSONObject;
import voip.client.ApiException;
import voip.client.Backoff;
import voip.client.IceCandidate;
import voip.client.MediaSession;
import voip.client.PushMessage;
import voip.client.SignalingClient;
import voip.client.SignalingEvent;
import voip.client.TokenStore;
import voip.client.VoipClient;

public final class PhoneDriver {
  private static final PrintStream OUT = new PrintStream(System.out, true, StandardCharsets.UTF_8);
  private static VoipClient client;
  private static TcpRelay relay;

  static synchronized void out(JSONObject o) {
    OUT.println("@@ " + o);
  }

  /** Hand-made SDP in place of org.webrtc; reports what the library gave it. */
  static MediaSession fakeMedia(String tag) {
    return new MediaSession() {
      int n;

      @Override
      public void createOffer(boolean iceRestart, SdpCallback cb) {
        cb.onSdp("v=0\r\no=- " + (++n) + " 1 IN IP4 127.0.0.1\r\ns=" + tag + (iceRestart ? "-restart" : "-offer") + "\r\n");
      }

      @Override
      public void createAnswer(String offer, SdpCallback cb) {
        out(new JSONObject().put("media", "remote-offer").put("sdp", offer));
        cb.onSdp("v=0\r\no=- " + (++n) + " 1 IN IP4 127.0.0.1\r\ns=" + tag + "-answer\r\n");
      }

      @Override
      public void setRemoteAnswer(String sdp) {
        out(new JSONObject().put("media", "remote-answer").put("sdp", sdp));
      }

      @Override
      public void addRemoteCandidate(IceCandidate c) {
        out(new JSONObject().put("media", "remote-candidate").put("candidate", c == null ? JSONObject.NULL : c.candidate()));
      }

      @Override
      public void close() {
        out(new JSONObject().put("media", "closed"));
      }
    };
  }

  static JSONObject eventJson(SignalingEvent e) {
    JSONObject o = new JSONObject().put("event", e.getClass().getSimpleName());
    for (var c : e.getClass().getRecordComponents()) {
      try {
        Object v = c.getAccessor().invoke(e);
        if (v instanceof SignalingEvent.Caller caller) v = new JSONObject().put("id", caller.id()).put("displayName", caller.displayName());
        else if (v instanceof IceCandidate ic) v = ic.candidate();
        o.put(c.getName(), v == null ? JSONObject.NULL : v);
      } catch (ReflectiveOperationException err) {
        throw new IllegalStateException(err);
      }
    }
    return o;
  }

  static Object run(JSONObject cmd) throws Exception {
    switch (cmd.getString("cmd")) {
      case "start": {
        relay = new TcpRelay(cmd.getString("host"), cmd.getInt("port"));
        // The stack's Nginx speaks TLS with a certificate of its local CA for "localhost" (the relay is on loopback).
        String caFile = cmd.optString("caFile", "");
        String base = (caFile.isEmpty() ? "http://127.0.0.1:" : "https://localhost:") + relay.port();
        SignalingClient.Options opts = new SignalingClient.Options(8000, 8000, true, Backoff.standard());
        okhttp3.OkHttpClient http = voip.client.RestClient.defaultHttpClient();
        if (!caFile.isEmpty()) http = trusting(http, caFile);
        client = new VoipClient(base, cmd.getString("clientId"), new TokenStore.InMemory(), http, opts);
        client.addListener(e -> out(eventJson(e)));
        client.addSessionListener(why -> out(new JSONObject().put("event", "SessionLost").put("code", why.code())));
        return new JSONObject().put("relayPort", relay.port());
      }
      case "login":
        return client.api().login(cmd.getString("username"), cmd.getString("password"));
      case "connect":
        client.connect();
        return true;
      case "dial": {
        VoipClient.Call call = client.dial(cmd.getString("calleeId"), cmd.optString("media", "audio"), fakeMedia("java"));
        call.signaled().get();
        return new JSONObject().put("callId", call.callId());
      }
      case "accept":
        client.accept(cmd.getString("callId"), fakeMedia("java")).signaled().get();
        return true;
      case "reject":
        client.reject(cmd.getString("callId"), "declined").get();
        return true;
      case "hangUp":
        client.hangUp(cmd.getString("callId")).get();
        return true;
      case "candidate": {
        // Not awaited: a candidate sent while the link is down is queued and its ack comes later.
        String callId = cmd.getString("callId");
        String cand = cmd.getString("candidate");
        client.call(callId).sendCandidate(new IceCandidate(cand, "0", 0)).whenComplete((ack, err) ->
            out(new JSONObject().put("event", "CandidateAck").put("candidate", cand).put("ok", err == null)));
        return true;
      }
      case "restartIce":
        client.call(cmd.getString("callId")).restartIce().get();
        return true;
      case "blackhole":
        relay.blackholeExisting();
        return true;
      case "registerPush":
        return client.registerPushToken(cmd.getString("token"));
      case "parsePush": {
        Map<String, String> data = new HashMap<>();
        JSONObject d = cmd.getJSONObject("data");
        for (String k : d.keySet()) data.put(k, d.getString(k));
        PushMessage m = VoipClient.parsePush(data);
        return m == null ? JSONObject.NULL : new JSONObject().put("kind", m.getClass().getSimpleName()).put("callId", m.callId());
      }
      case "state":
        return client.signaling().state().name();
      case "signedIn":
        return client.api().rest().signedIn();
      case "logout":
        client.logout();
        return true;
      default:
        throw new IllegalArgumentException("unknown command " + cmd);
    }
  }

  public static void main(String[] args) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    out(new JSONObject().put("ready", true));
    for (String line; (line = in.readLine()) != null; ) {
      JSONObject cmd = new JSONObject(line);
      JSONObject reply = new JSONObject().put("id", cmd.getInt("id"));
      try {
        reply.put("result", run(cmd));
      } catch (Exception e) {
        Throwable c = e.getCause() != null && e instanceof java.util.concurrent.ExecutionException ? e.getCause() : e;
        reply.put("error", c instanceof ApiException a ? a.code() : String.valueOf(c));
      }
      out(reply);
    }
    System.exit(0);
  }

  /** The app's OkHttpClient, trusting (only) the CA in the PEM file: what an app pinning its own CA does. */
  static okhttp3.OkHttpClient trusting(okhttp3.OkHttpClient http, String caFile) throws Exception {
    java.security.cert.CertificateFactory cf = java.security.cert.CertificateFactory.getInstance("X.509");
    java.security.KeyStore ks = java.security.KeyStore.getInstance(java.security.KeyStore.getDefaultType());
    ks.load(null, null);
    try (java.io.InputStream in = new java.io.FileInputStream(caFile)) {
      int i = 0;
      for (java.security.cert.Certificate c : cf.generateCertificates(in)) ks.setCertificateEntry("ca" + i++, c);
    }
    javax.net.ssl.TrustManagerFactory tmf =
        javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    javax.net.ssl.X509TrustManager tm = (javax.net.ssl.X509TrustManager) tmf.getTrustManagers()[0];
    javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
    ctx.init(null, new javax.net.ssl.TrustManager[] {tm}, null);
    return http.newBuilder().sslSocketFactory(ctx.getSocketFactory(), tm).build();
  }
}
