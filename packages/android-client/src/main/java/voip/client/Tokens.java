// The signed-in session's credentials: what a TokenStore keeps between app starts.
package voip.client;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.json.JSONObject;

/**
 * @param accessToken short-lived JWT sent as Bearer and in the socket handshake
 * @param refreshToken opaque, rotated on every use (a second use revokes the session)
 * @param expiresAtMs when the access token stops being accepted (its {@code exp}, ms since epoch)
 */
public record Tokens(String accessToken, String refreshToken, long expiresAtMs) {
  /** From an API answer {accessToken, refreshToken, expiresIn}; expiry read from the JWT's exp when present. */
  public static Tokens fromPair(JSONObject pair, long nowMs) {
    String access = pair.getString("accessToken");
    long exp = jwtExpiryMs(access);
    return new Tokens(
        access, pair.getString("refreshToken"), exp > 0 ? exp : nowMs + pair.optLong("expiresIn", 900) * 1000);
  }

  /** The JWT's {@code exp} in ms, read without verifying (the server verifies; we only schedule); 0 if unreadable. */
  public static long jwtExpiryMs(String jwt) {
    String[] parts = jwt.split("\\.");
    if (parts.length < 2) return 0;
    try {
      byte[] json = Base64.getUrlDecoder().decode(parts[1]);
      return new JSONObject(new String(json, StandardCharsets.UTF_8)).optLong("exp", 0) * 1000;
    } catch (RuntimeException e) {
      return 0;
    }
  }

  /** The session id ({@code sid}) the access token belongs to, or null. */
  public String sessionId() {
    String[] parts = accessToken.split("\\.");
    if (parts.length < 2) return null;
    try {
      return new JSONObject(new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8))
          .optString("sid", null);
    } catch (RuntimeException e) {
      return null;
    }
  }

  /** A JSON form for a TokenStore that keeps one string (e.g. encrypted with a Keystore key). */
  public String toJson() {
    return new JSONObject()
        .put("accessToken", accessToken)
        .put("refreshToken", refreshToken)
        .put("expiresAtMs", expiresAtMs)
        .toString();
  }

  public static Tokens fromJson(String json) {
    JSONObject o = new JSONObject(json);
    return new Tokens(o.getString("accessToken"), o.getString("refreshToken"), o.getLong("expiresAtMs"));
  }

  @Override
  public String toString() {
    return "Tokens(expiresAtMs=" + expiresAtMs + ")"; // never the secrets themselves
  }
}
