// A loopback TCP relay in front of Nginx. blackholeExisting() makes every open connection stop carrying
// bytes in both directions while staying open (no FIN, no RST): what the phone's old link looks like
// after it moved from Wi-Fi to mobile data. New connections are relayed normally.
package voip.client.driver;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

final class TcpRelay {
  private final ServerSocket server;
  private final List<AtomicBoolean> live = new CopyOnWriteArrayList<>();

  TcpRelay(String host, int port) throws IOException {
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread t = new Thread(() -> {
      while (!server.isClosed()) {
        try {
          Socket down = server.accept();
          Socket up = new Socket(host, port);
          AtomicBoolean holed = new AtomicBoolean();
          live.add(holed);
          pump(down, up, holed);
          pump(up, down, holed);
        } catch (IOException e) {
          return;
        }
      }
    }, "relay-accept");
    t.setDaemon(true);
    t.start();
  }

  int port() {
    return server.getLocalPort();
  }

  void blackholeExisting() {
    for (AtomicBoolean h : live) h.set(true);
    live.clear();
  }

  private static void pump(Socket from, Socket to, AtomicBoolean holed) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[16 * 1024];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        for (int n; (n = in.read(buf)) >= 0; ) {
          if (holed.get()) continue; // swallowed: the link is dead, but nobody is told
          out.write(buf, 0, n);
          out.flush();
        }
        if (!holed.get()) to.shutdownOutput();
      } catch (IOException e) {
        // the other side went away
      }
    }, "relay-pump");
    t.setDaemon(true);
    t.start();
  }
}
