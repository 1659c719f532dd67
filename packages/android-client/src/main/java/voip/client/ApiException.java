// API.md's error shape as an exception: HTTP status (0 for network, time-out or socket errors), the
// SNAKE_CASE code the app switches on, the message, and the x-request-id to quote in a bug report.
package voip.client;

public final class ApiException extends Exception {
  private final int status;
  private final String code;
  private final String requestId;

  public ApiException(int status, String code, String message) {
    this(status, code, message, null);
  }

  public ApiException(int status, String code, String message, String requestId) {
    super(message);
    this.status = status;
    // The app switches on the code: a caller that had none still gives it one to switch on.
    this.code = code == null ? "INTERNAL" : code;
    this.requestId = requestId;
  }

  /** HTTP status, or 0 when no HTTP answer came (network, time-out, socket ack). */
  public int status() {
    return status;
  }

  /** API.md's error code, e.g. CALLEE_BUSY, TOKEN_EXPIRED, NETWORK_ERROR, TIMEOUT, DISCONNECTED. */
  public String code() {
    return code;
  }

  public String requestId() {
    return requestId;
  }

  @Override
  public String toString() {
    return "ApiException(" + status + " " + code + ": " + getMessage() + ")";
  }
}
