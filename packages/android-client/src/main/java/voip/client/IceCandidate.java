// One ICE candidate as signaling carries it (RTCIceCandidateInit); the app maps it to and from
// org.webrtc.IceCandidate(sdpMid, sdpMLineIndex, sdp).
package voip.client;

import org.json.JSONObject;

public record IceCandidate(String candidate, String sdpMid, Integer sdpMLineIndex) {
  /** null for the end-of-candidates marker. */
  static IceCandidate fromJson(JSONObject o) {
    if (o == null) return null;
    return new IceCandidate(
        o.getString("candidate"),
        o.isNull("sdpMid") ? null : o.optString("sdpMid", null),
        o.has("sdpMLineIndex") && !o.isNull("sdpMLineIndex") ? o.getInt("sdpMLineIndex") : null);
  }

  JSONObject toJson() {
    JSONObject o = new JSONObject().put("candidate", candidate);
    o.put("sdpMid", sdpMid == null ? JSONObject.NULL : sdpMid);
    o.put("sdpMLineIndex", sdpMLineIndex == null ? JSONObject.NULL : sdpMLineIndex);
    return o;
  }
}
