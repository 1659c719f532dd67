// Where the app keeps the session between starts. On Android: encrypted with a key from the Android
// Keystore (docs/ANDROID.md); the library never writes tokens anywhere else.
package voip.client;

public interface TokenStore {
  /** The saved tokens, or null when signed out. */
  Tokens load();

  /** Called after login and after every refresh (refresh tokens rotate: keep only the newest). */
  void save(Tokens tokens);

  /** Called on logout and when the server refuses the refresh token (session lost or revoked). */
  void clear();

  /** A store that forgets everything when the process dies (tests, or an app that signs in every time). */
  final class InMemory implements TokenStore {
    private volatile Tokens tokens;

    @Override
    public Tokens load() {
      return tokens;
    }

    @Override
    public void save(Tokens t) {
      tokens = t;
    }

    @Override
    public void clear() {
      tokens = null;
    }
  }
}
