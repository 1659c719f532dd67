// The library against packages/contracts, exported to target/contracts.json at build time
// (export-contracts.mjs): same event names both ways, same reasons and push types, and a parser that
// needs nothing the schemas do not promise (a minimal payload built from each schema parses). A change
// in the contracts the library does not follow fails this package's build.
package voip.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.json.JSONArray;
import org.json.JSONObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ContractsTest {
  static JSONObject contracts;

  @BeforeAll
  static void load() throws Exception {
    String file = System.getProperty("voip.contracts", "target/contracts.json");
    contracts = new JSONObject(Files.readString(Path.of(file)));
  }

  static Set<String> keys(JSONObject o) {
    return new TreeSet<>(o.keySet());
  }

  /** The string values a schema allows: const, enum, or a union (anyOf) of those. */
  static Set<String> literals(JSONObject schema) {
    Set<String> out = new TreeSet<>();
    if (schema.has("const")) out.add(schema.getString("const"));
    JSONArray e = schema.optJSONArray("enum");
    if (e != null) for (int i = 0; i < e.length(); i++) out.add(e.getString(i));
    JSONArray any = schema.optJSONArray("anyOf");
    if (any != null) for (int i = 0; i < any.length(); i++) out.addAll(literals(any.getJSONObject(i)));
    return out;
  }

  /** The smallest value a schema accepts: required properties only, first literal of each union. */
  static Object sample(JSONObject s) {
    if (s.has("const")) return s.get("const");
    JSONArray any = s.optJSONArray("anyOf");
    if (any != null) {
      for (int i = 0; i < any.length(); i++)
        if (!"null".equals(any.getJSONObject(i).optString("type"))) return sample(any.getJSONObject(i));
      return JSONObject.NULL;
    }
    switch (s.optString("type")) {
      case "object": {
        JSONObject o = new JSONObject();
        JSONObject props = s.optJSONObject("properties");
        JSONArray req = s.optJSONArray("required");
        if (req != null) for (int i = 0; i < req.length(); i++) {
          String k = req.getString(i);
          o.put(k, sample(props.getJSONObject(k)));
        }
        return o;
      }
      case "string":
        return "date-time".equals(s.optString("format")) ? "2099-01-01T00:00:00.000Z" : "X1";
      case "integer":
      case "number":
        return 1;
      case "boolean":
        return true;
      case "array":
        return new JSONArray();
      default:
        return JSONObject.NULL;
    }
  }

  @Test
  void handlesEveryServerEventAndSendsOnlyClientEventsOfTheContract() {
    assertEquals(keys(contracts.getJSONObject("serverEvents")), new TreeSet<>(SignalingEvent.SERVER_EVENTS));
    assertEquals(keys(contracts.getJSONObject("clientEvents")), new TreeSet<>(SignalingEvent.CLIENT_EVENTS));
  }

  @Test
  void parsesAMinimalPayloadOfEveryServerEvent() {
    JSONObject events = contracts.getJSONObject("serverEvents");
    for (String name : events.keySet()) {
      JSONObject payload = (JSONObject) sample(events.getJSONObject(name));
      SignalingEvent e = SignalingEvent.parse(name, payload);
      if (name.equals("session")) assertNull(e);
      else assertNotNull(e, name + " parsed from " + payload);
    }
  }

  @Test
  void knowsEveryEndReason() {
    JSONObject reason = contracts.getJSONObject("serverEvents").getJSONObject("call-ended")
        .getJSONObject("properties").getJSONObject("reason");
    assertEquals(literals(reason), new TreeSet<>(SignalingEvent.END_REASONS));
  }

  @Test
  void readsBothPushesOfTheContract() {
    JSONObject push = contracts.getJSONObject("push");
    assertEquals(Set.of(PushMessage.TYPE_WAKE_UP, PushMessage.TYPE_CANCEL), keys(push));
    JSONObject cancel = push.getJSONObject(PushMessage.TYPE_CANCEL);
    assertEquals(literals(cancel.getJSONObject("properties").getJSONObject("reason")), new TreeSet<>(PushMessage.CANCEL_REASONS));
    for (String type : push.keySet()) {
      JSONObject sample = (JSONObject) sample(push.getJSONObject(type));
      Map<String, String> data = new HashMap<>();
      for (String k : sample.keySet()) data.put(k, String.valueOf(sample.get(k)));
      PushMessage m = PushMessage.parse(data, Instant.parse("2030-01-01T00:00:00Z"));
      assertNotNull(m, type + " from " + data);
      assertEquals(type.equals(PushMessage.TYPE_WAKE_UP) ? PushMessage.WakeUp.class : PushMessage.Cancel.class, m.getClass());
      // Past its expiresAt a push means nothing any more.
      assertNull(PushMessage.parse(data, Instant.parse("2100-01-01T00:00:00Z")));
    }
  }

  @Test
  void knowsTheConnectErrorCodesItTreatsAsFatal() {
    JSONArray codes = contracts.getJSONArray("connectErrorCodes");
    Set<String> all = new TreeSet<>();
    for (int i = 0; i < codes.length(); i++) all.add(codes.getString(i));
    for (String fatal : Set.of("UNAUTHORIZED", "SESSION_REVOKED")) assertEquals(true, all.contains(fatal), fatal);
  }
}
