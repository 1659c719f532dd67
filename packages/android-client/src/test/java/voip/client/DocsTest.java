// docs/ANDROID.md may only name library API that exists: every Class.member of the library and every
// call on the variables the guide uses (voip, api, signaling, call, e, push, ...) is looked up by
// reflection here, so a rename in the library that the guide does not follow fails the build.
package voip.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Member;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class DocsTest {
  static final Path GUIDE = Path.of("../../docs/ANDROID.md");
  static final List<Class<?>> LIBRARY = List.of(VoipClient.class, VoipClient.Call.class, SignalingClient.class,
      SignalingEvent.class, VoipApi.class, RestClient.class, TokenStore.class, Tokens.class, MediaSession.class,
      PushMessage.class, IceCandidate.class, Backoff.class, ApiException.class);
  /** The guide's variable names and the library type each stands for. */
  static final Map<String, List<Class<?>>> VARIABLES = Map.of(
      "voip", List.of(VoipClient.class),
      "api", List.of(VoipApi.class),
      "signaling", List.of(SignalingClient.class),
      "call", List.of(VoipClient.Call.class),
      "activeCall", List.of(VoipClient.Call.class),
      "why", List.of(ApiException.class),
      "candidate", List.of(IceCandidate.class),
      "tokens", List.of(Tokens.class),
      "e", eventRecords(SignalingEvent.class),
      "push", eventRecords(PushMessage.class));

  static List<Class<?>> eventRecords(Class<?> sealed) {
    List<Class<?>> out = new ArrayList<>();
    for (Class<?> c : sealed.getDeclaredClasses()) if (c.isRecord()) out.add(c);
    return out;
  }

  static boolean hasMember(Class<?> c, String name) {
    return Stream.of(c.getMethods(), c.getFields(), c.getConstructors())
            .flatMap(Arrays::stream)
            .map(Member::getName)
            .anyMatch(name::equals)
        || Arrays.stream(c.getClasses()).anyMatch(n -> n.getSimpleName().equals(name));
  }

  @Test
  void everyLibraryNameInTheGuideExists() throws Exception {
    String guide = Files.readString(GUIDE);
    List<String> missing = new ArrayList<>();
    int checked = 0;
    for (Class<?> c : LIBRARY) {
      Matcher m = Pattern.compile("\\b" + Pattern.quote(c.getSimpleName()) + "\\.([A-Za-z_]\\w*)").matcher(guide);
      while (m.find()) {
        // VoipClient.Call is listed on its own; a top-level name must not match a nested one's prefix.
        if (m.start() > 0 && guide.charAt(m.start() - 1) == '.') continue;
        checked++;
        if (!hasMember(c, m.group(1))) missing.add(c.getSimpleName() + "." + m.group(1));
      }
    }
    for (var v : VARIABLES.entrySet()) {
      Matcher m = Pattern.compile("(?<![\\w.])" + v.getKey() + "\\??\\.([A-Za-z_]\\w*)\\(").matcher(guide);
      while (m.find()) {
        checked++;
        String name = m.group(1);
        if (v.getValue().stream().noneMatch(c -> hasMember(c, name))) missing.add(v.getKey() + "." + name + "()");
      }
    }
    assertEquals(List.of(), missing, "docs/ANDROID.md names API the library does not have");
    assertTrue(checked > 40, "only " + checked + " references found: is the guide still there?");
  }
}
