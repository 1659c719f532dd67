// The recordings collection: one document per recording asked for. Every state change is a conditional
// update on the state it leaves (findOneAndUpdate with `state` in the filter), so two instances, a
// retried request or a re-delivered job cannot apply one twice.
import type {
  Recording,
  RecordingFailReason,
  RecordingState,
  RecordingStopReason,
} from '@voip/contracts/media';
import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';

export interface RecordingDoc {
  _id: string;
  callId: string;
  participants: string[];
  requestedBy: string;
  requestedAt: Date;
  consentDeadline: Date;
  consentedBy: string[];
  state: RecordingState;
  /** The media instance holding the Janus room while recording. */
  owner: string | null;
  startedAt: Date | null;
  stoppedAt: Date | null;
  stopReason: RecordingStopReason | null;
  failReason: RecordingFailReason | null;
  durationMs: number | null;
  sizeBytes: number | null;
  /** The finished file's name in RECORDINGS_DIR/files (ready only). */
  file: string | null;
  expiresAt: Date | null;
  deletedBy: string | null;
}

const schema = new Schema<RecordingDoc>(
  {
    _id: { type: String, required: true },
    callId: { type: String, required: true, index: true },
    participants: { type: [String], required: true },
    requestedBy: { type: String, required: true },
    requestedAt: { type: Date, required: true },
    consentDeadline: { type: Date, required: true },
    consentedBy: { type: [String], default: [] },
    state: { type: String, required: true, index: true },
    owner: { type: String, default: null },
    startedAt: { type: Date, default: null },
    stoppedAt: { type: Date, default: null },
    stopReason: { type: String, default: null },
    failReason: { type: String, default: null },
    durationMs: { type: Number, default: null },
    sizeBytes: { type: Number, default: null },
    file: { type: String, default: null },
    expiresAt: { type: Date, default: null },
    deletedBy: { type: String, default: null },
  },
  { collection: 'recordings', versionKey: false },
);

export function createRecordingRepository(conn: Connection) {
  const model: Model<RecordingDoc> = conn.models.Recording ?? conn.model<RecordingDoc>('Recording', schema);
  return {
    model,
    create: (doc: RecordingDoc) => model.create(doc).then((d) => d.toObject() as RecordingDoc),
    get: (id: string) => model.findById(id).lean<RecordingDoc>().exec(),
    forCall: (callId: string) =>
      model.find({ callId }).sort({ requestedAt: 1 }).lean<RecordingDoc[]>().exec(),
    /** Applies `set` only if the recording is still in one of `from`; null when it was not. */
    transition: (id: string, from: RecordingState[], set: Partial<RecordingDoc>, extra: object = {}) =>
      model
        .findOneAndUpdate({ _id: id, state: { $in: from } }, { $set: set, ...extra }, { new: true })
        .lean<RecordingDoc>()
        .exec(),
    inStates: (states: RecordingState[], filter: object = {}) =>
      model
        .find({ state: { $in: states }, ...filter })
        .lean<RecordingDoc[]>()
        .exec(),
  };
}

export type RecordingRepository = ReturnType<typeof createRecordingRepository>;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toRecordingView(d: RecordingDoc): Recording {
  return {
    recordingId: d._id,
    callId: d.callId,
    state: d.state,
    requestedBy: d.requestedBy,
    requestedAt: d.requestedAt.toISOString(),
    consentedBy: d.consentedBy,
    startedAt: iso(d.startedAt),
    stoppedAt: iso(d.stoppedAt),
    stopReason: d.stopReason,
    failReason: d.failReason,
    durationMs: d.state === 'ready' ? d.durationMs : null,
    sizeBytes: d.state === 'ready' ? d.sizeBytes : null,
    expiresAt: d.state === 'ready' ? iso(d.expiresAt) : null,
  };
}
