// The caller's push devices: GET /api/users/me/devices, PUT and DELETE /me/devices/:deviceId.
// A push token lives on one device only: registering it here takes it away from wherever it was.
import { errorResponses } from '@voip/contracts/common';
import { Device, DeviceParams, DevicesResponse, PutDeviceBody } from '@voip/contracts/users';
import type { App } from '@voip/kit/app';
import type { DeviceRecord } from '../../devices/device-repository.js';

const toDevice = (d: DeviceRecord) => ({
  deviceId: d.deviceId,
  platform: d.platform,
  pushToken: d.pushToken,
  updatedAt: d.updatedAt.toISOString(),
});

export default async function deviceRoutes(app: App) {
  app.get(
    '/me/devices',
    {
      preHandler: app.requireAuth(),
      schema: { response: { 200: DevicesResponse, ...errorResponses(401, 503) } },
    },
    async (request) => ({ items: (await app.domain.devices.list(request.principal!.id)).map(toDevice) }),
  );

  app.put(
    '/me/devices/:deviceId',
    {
      preHandler: app.requireAuth(),
      schema: {
        params: DeviceParams,
        body: PutDeviceBody,
        response: { 200: Device, ...errorResponses(400, 401, 503) },
      },
    },
    async (request) => {
      const userId = request.principal!.id;
      const { device, moved } = await app.domain.devices.put({
        userId,
        deviceId: request.params.deviceId,
        platform: request.body.platform,
        pushToken: request.body.pushToken,
        updatedAt: new Date(),
      });
      if (moved) request.log.info({ deviceId: device.deviceId }, 'push token moved here from another device');
      const dropped = await app.domain.devices.trim(userId, app.domain.limits.maxDevices);
      if (dropped > 0)
        request.log.info({ dropped }, 'oldest push devices dropped over the per-account limit');
      return toDevice(device);
    },
  );

  app.delete(
    '/me/devices/:deviceId',
    {
      preHandler: app.requireAuth(),
      schema: { params: DeviceParams, response: errorResponses(400, 401, 503) },
    },
    async (request, reply) => {
      await app.domain.devices.remove(request.principal!.id, request.params.deviceId);
      return reply.code(204).send();
    },
  );
}
