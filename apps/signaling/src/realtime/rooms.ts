// Room names: every socket joins its user's room and its device's room, so a message can address a user
// (all devices) or one device, on whichever instance it is connected.
export const userRoom = (userId: string) => `user:${userId}`;
export const clientRoom = (userId: string, clientId: string) => `client:${userId}:${clientId}`;
