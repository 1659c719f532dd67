// How a recording's changes reach devices (issue 18): the media service publishes `recording.changed` on
// the bus, and every instance tells its own sockets of the call's participants, as for call-ended.
import type { BusEventData } from '@voip/contracts/bus-events';
import type { RecordingEventName } from '@voip/contracts/media';
import type { Signaling } from '../realtime/context.js';
import { userRoom } from '../realtime/rooms.js';

/** What this instance does with a `recording.changed` event: emit it to its sockets of those users. */
export function fanOutRecordingChanged(ctx: Signaling, d: BusEventData<'recording.changed'>): void {
  const event = d.event as RecordingEventName;
  ctx.io.local.to(d.userIds.map(userRoom)).emit(event, d.payload as never);
}
