// Media stays in the app: the library asks this interface for SDP and hands it the peer's, and the app
// implements it with org.webrtc's PeerConnection (docs/ANDROID.md has a Kotlin version). Local ICE
// candidates go the other way: the app's PeerConnection.Observer passes them to Call.sendCandidate.
package voip.client;

public interface MediaSession {
  /** Where the app answers an SDP request (from any thread). */
  interface SdpCallback {
    void onSdp(String sdp);

    void onError(String message);
  }

  /** Create an offer and set it as the local description; {@code iceRestart} after a network change. */
  void createOffer(boolean iceRestart, SdpCallback callback);

  /** Set the peer's offer as the remote description, create an answer and set it as the local one. */
  void createAnswer(String remoteOfferSdp, SdpCallback callback);

  /** Set the peer's answer as the remote description. */
  void setRemoteAnswer(String sdp);

  /** Add the peer's candidate; null marks the end of its candidates. */
  void addRemoteCandidate(IceCandidate candidate);

  /** The call is over: close the PeerConnection and release the audio focus and camera. */
  void close();
}
