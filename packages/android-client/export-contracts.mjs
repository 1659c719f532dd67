// Writes target/contracts.json from the built @voip/contracts: the socket event names and payload
// schemas, the push payloads and the connect_error codes, as JSON Schema. The Java tests (ContractsTest)
// read it, so a change in packages/contracts the library does not follow fails this package's build.
import { mkdirSync, writeFileSync } from 'node:fs';
import { PushSchemas } from '@voip/contracts/push';
import { ClientEventSchemas, ConnectErrorCode, ServerEventSchemas } from '@voip/contracts/socket';

const plain = (schema) => JSON.parse(JSON.stringify(schema));
const map = (schemas) => Object.fromEntries(Object.entries(schemas).map(([k, v]) => [k, plain(v)]));

mkdirSync(new URL('./target/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./target/contracts.json', import.meta.url),
  `${JSON.stringify(
    {
      serverEvents: map(ServerEventSchemas),
      clientEvents: map(ClientEventSchemas),
      push: map(PushSchemas),
      connectErrorCodes: [...ConnectErrorCode],
    },
    null,
    2,
  )}\n`,
);
