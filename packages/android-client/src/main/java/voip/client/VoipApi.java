// The REST surface of API.md the app needs: auth, own profile and other users, contacts, push devices,
// calls, history and ICE servers. Answers the library acts on are typed (CallStart, IceServer,
// HistoryPage); the rest are org.json objects exactly as API.md describes them. Calls block.
package voip.client;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.json.JSONArray;
import org.json.JSONObject;

public final class VoipApi {
  private final RestClient rest;

  public VoipApi(RestClient rest) {
    this.rest = rest;
  }

  public RestClient rest() {
    return rest;
  }

  private static String seg(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  // ---- auth ----

  /** Signs in; the tokens go to the TokenStore. Returns the user object. 401 INVALID_CREDENTIALS on a bad password. */
  public JSONObject login(String username, String password) throws ApiException {
    JSONObject res = (JSONObject) rest.requestAnonymous(
        "POST", "/api/auth/login", new JSONObject().put("username", username).put("password", password));
    rest.setTokens(Tokens.fromPair(res, System.currentTimeMillis()));
    return res.getJSONObject("user");
  }

  /** Creates an account and signs in. 409 USERNAME_TAKEN. */
  public JSONObject register(String username, String password, String displayName) throws ApiException {
    JSONObject res = (JSONObject) rest.requestAnonymous(
        "POST",
        "/api/auth/register",
        new JSONObject().put("username", username).put("password", password).put("displayName", displayName));
    rest.setTokens(Tokens.fromPair(res, System.currentTimeMillis()));
    return res.getJSONObject("user");
  }

  /** Ends this session on the server (its sockets are disconnected) and clears the TokenStore, even offline. */
  public void logout() throws ApiException {
    signOut("/api/auth/logout");
  }

  /** Ends every session of this account (a stolen phone) and clears the TokenStore. */
  public void logoutAll() throws ApiException {
    signOut("/api/auth/logout-all");
  }

  /** The TokenStore is cleared whatever the server answers: the user asked to be signed out. */
  private void signOut(String path) throws ApiException {
    if (!rest.signedIn()) return;
    try {
      rest.request("POST", path, null, null);
    } finally {
      rest.setTokens(null);
    }
  }

  // ---- users ----

  public JSONObject me() throws ApiException {
    return (JSONObject) rest.request("GET", "/api/users/me", null, null);
  }

  public JSONObject updateMe(JSONObject patch) throws ApiException {
    return (JSONObject) rest.request("PATCH", "/api/users/me", null, patch);
  }

  /** A public profile with {@code presence}. 404 USER_NOT_FOUND. */
  public JSONObject user(String userId) throws ApiException {
    return (JSONObject) rest.request("GET", "/api/users/" + seg(userId), null, null);
  }

  public Object searchUsers(String query, int limit) throws ApiException {
    return rest.request("GET", "/api/users/search", Map.of("q", query, "limit", String.valueOf(limit)), null);
  }

  /** {@code {id: {status, lastSeenAt}}} for up to API.md's limit of ids. */
  public JSONObject presence(List<String> userIds) throws ApiException {
    return (JSONObject) rest.request("GET", "/api/users/presence", Map.of("ids", String.join(",", userIds)), null);
  }

  // ---- contacts ----

  public Object contacts() throws ApiException {
    return rest.request("GET", "/api/users/me/contacts", null, null);
  }

  public JSONObject addContact(String userId) throws ApiException {
    return (JSONObject) rest.request("PUT", "/api/users/me/contacts/" + seg(userId), null, null);
  }

  public void removeContact(String userId) throws ApiException {
    rest.request("DELETE", "/api/users/me/contacts/" + seg(userId), null, null);
  }

  // ---- push devices ----

  /**
   * Registers this install's FCM token. Use the signaling clientId as deviceId (what
   * {@link VoipClient#registerPushToken} does): the server then skips the cancel push for a device that is
   * connected, which hears the news on its socket.
   */
  public JSONObject putDevice(String deviceId, String platform, String pushToken) throws ApiException {
    return (JSONObject) rest.request(
        "PUT",
        "/api/users/me/devices/" + seg(deviceId),
        null,
        new JSONObject().put("platform", platform).put("pushToken", pushToken));
  }

  public void deleteDevice(String deviceId) throws ApiException {
    rest.request("DELETE", "/api/users/me/devices/" + seg(deviceId), null, null);
  }

  public Object devices() throws ApiException {
    return rest.request("GET", "/api/users/me/devices", null, null);
  }

  // ---- calls ----

  /** What POST /api/calls answers. {@code replacedBy} is set in glare: switch to that call (you are its callee). */
  public record CallStart(String callId, String state, String expiresAt, String replacedBy, List<IceServer> iceServers) {}

  /** One RTCIceServer: what the app gives org.webrtc's PeerConnection.IceServer.builder. */
  public record IceServer(List<String> urls, String username, String credential) {
    static IceServer from(JSONObject o) {
      List<String> urls = new ArrayList<>();
      Object u = o.get("urls");
      if (u instanceof JSONArray a) for (int i = 0; i < a.length(); i++) urls.add(a.getString(i));
      else urls.add(String.valueOf(u));
      return new IceServer(List.copyOf(urls), o.optString("username", null), o.optString("credential", null));
    }

    static List<IceServer> listFrom(JSONArray a) {
      List<IceServer> out = new ArrayList<>();
      if (a != null) for (int i = 0; i < a.length(); i++) out.add(from(a.getJSONObject(i)));
      return List.copyOf(out);
    }
  }

  /** Starts a call: 404 USER_NOT_FOUND, 403 BLOCKED, 409 CALLER_BUSY / CALLEE_BUSY, 429 RATE_LIMITED. */
  public CallStart initiateCall(String calleeId, String media) throws ApiException {
    JSONObject r = (JSONObject) rest.request(
        "POST", "/api/calls", null, new JSONObject().put("calleeId", calleeId).put("media", media));
    return new CallStart(
        r.getString("callId"),
        r.getString("state"),
        r.optString("expiresAt", null),
        r.optString("replacedBy", null),
        IceServer.listFrom(r.optJSONArray("iceServers")));
  }

  /** The call, for its participants; 404 CALL_NOT_FOUND otherwise (also how a woken phone checks a call it missed). */
  public JSONObject call(String callId) throws ApiException {
    return (JSONObject) rest.request("GET", "/api/calls/" + seg(callId), null, null);
  }

  public record HistoryPage(List<JSONObject> items, String nextCursor) {}

  /** Call history, newest first; pass the previous page's nextCursor as {@code before} (null for the first page). */
  public HistoryPage history(String before, int limit) throws ApiException {
    Map<String, String> q = new LinkedHashMap<>();
    if (before != null) q.put("before", before);
    q.put("limit", String.valueOf(limit));
    JSONObject r = (JSONObject) rest.request("GET", "/api/calls", q, null);
    List<JSONObject> items = new ArrayList<>();
    JSONArray a = r.getJSONArray("items");
    for (int i = 0; i < a.length(); i++) items.add(a.getJSONObject(i));
    return new HistoryPage(List.copyOf(items), r.isNull("nextCursor") ? null : r.optString("nextCursor", null));
  }

  /** Fresh STUN/TURN servers (time-limited credentials), scoped to callId when given (e.g. before an ICE restart). */
  public List<IceServer> iceServers(String callId) throws ApiException {
    JSONObject r = (JSONObject) rest.request(
        "GET", "/api/calls/ice-servers", callId == null ? null : Map.of("callId", callId), null);
    return IceServer.listFrom(r.getJSONArray("iceServers"));
  }
}
