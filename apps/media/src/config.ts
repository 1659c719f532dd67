// The media service's configuration, read once from the environment (apps/media/README.md lists it).
import {
  type ConfigOf,
  env,
  rateLimitConfigSpec,
  serviceConfigSpec,
  streamOutageConfigSpec,
} from '@voip/kit/config';

export const configSpec = {
  ...serviceConfigSpec(3010),
  ...streamOutageConfigSpec,
  /** Janus's HTTP API (infra/janus: the HTTP transport, loopback or the private network). */
  JANUS_URL: env.url('http://127.0.0.1:8088/janus', ['http', 'https']),
  /** Janus's api_secret (and the VideoRoom admin_key): every request to Janus carries it. */
  JANUS_API_SECRET: env.secret(16),
  /** One request to Janus (create, attach, message) must answer within this long. */
  JANUS_TIMEOUT_MS: env.int(5_000, { min: 100, max: 60_000 }),
  /** How often Janus is probed (`info`); a probe failing while recording stops the recordings. */
  JANUS_PROBE_INTERVAL_MS: env.int(1_000, { min: 100, max: 60_000 }),
  /** The folder Janus writes recordings into (`raw/`) and finished files go (`files/`); shared with Nginx. */
  RECORDINGS_DIR: env.string(),
  /** HMAC-SHA256 key of download links. */
  RECORDING_LINK_SECRET: env.secret(24),
  /** How long a download link is valid. */
  RECORDING_LINK_TTL_SECONDS: env.int(300, { min: 10, max: 86_400 }),
  /** Finished recordings are deleted this many days after they were made (0: kept until deleted). */
  RECORDING_RETENTION_DAYS: env.int(30, { min: 0, max: 3650 }),
  /** How long the other participant has to consent before the request lapses (recording-stopped cancelled). */
  RECORDING_CONSENT_TIMEOUT_MS: env.int(60_000, { min: 1_000, max: 600_000 }),
  /** Longest recording; past it the recording is stopped as if a participant had. */
  RECORDING_MAX_DURATION_MS: env.int(4 * 3600_000, { min: 5_000 }),
  /** Requests to record per user per window: RECORDING_RATE_LIMIT, RECORDING_RATE_WINDOW_MS. */
  ...rateLimitConfigSpec('RECORDING', 20),
  /** Post-processing jobs left pending this long by a dead or restarted instance are taken over. */
  RECORDING_JOB_CLAIM_IDLE_MS: env.int(60_000, { min: 500 }),
  RECORDING_JOB_MAX_DELIVERIES: env.int(5, { min: 1, max: 100 }),
  /** How long janus-pp-rec or ffmpeg may run on one recording. */
  RECORDING_JOB_TIMEOUT_MS: env.int(10 * 60_000, { min: 1_000 }),
  /** How often retention and lapsed requests are swept. */
  RECORDING_SWEEP_INTERVAL_MS: env.int(60_000, { min: 100 }),
  JANUS_PP_REC: env.string('janus-pp-rec'),
  FFMPEG: env.string('ffmpeg'),
  FFPROBE: env.string('ffprobe'),
};

export type Config = ConfigOf<typeof configSpec>;
