// Post-processing of a stopped recording (the `recording.process` job of the recording-jobs stream): each
// of Janus's .mjr files (one per participant and medium) → janus-pp-rec → Opus / WebM (VP8), then ffmpeg
// muxes them, without re-encoding, into one WebM (both participants' audio and video tracks), written
// under a temporary name and renamed only when ffprobe has read it. Only then is the recording `ready`:
// a half-written file is never listed. Idempotent: a re-delivered job (the service restarted mid-way)
// starts again from Janus's files, or only marks `ready` when the file is already in place.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyBaseLogger as Logger } from 'fastify';
import { rawDirOf } from '../janus/rooms.js';
import type { RecordingFlow } from './recording-flow.js';
import type { RecordingRepository } from './repository.js';

const run = promisify(execFile);

export interface PostProcessDeps {
  repo: RecordingRepository;
  flow: RecordingFlow;
  recordingsDir: string;
  retentionDays: number;
  timeoutMs: number;
  tools: { janusPpRec: string; ffmpeg: string; ffprobe: string };
  log: Logger;
  onFailure: (kind: string) => void;
  onReady: () => void;
}

/** Duration (ms) and the kinds of stream ffprobe finds in a file. */
export async function probe(ffprobe: string, file: string, timeoutMs = 30_000) {
  const { stdout } = await run(
    ffprobe,
    ['-v', 'error', '-show_entries', 'format=duration:stream=codec_type,codec_name', '-of', 'json', file],
    { timeout: timeoutMs },
  );
  const out = JSON.parse(stdout) as {
    format?: { duration?: string };
    streams?: { codec_type: string; codec_name: string }[];
  };
  return {
    durationMs: Math.round(Number(out.format?.duration ?? 0) * 1000),
    streams: (out.streams ?? []).map((s) => ({ type: s.codec_type, codec: s.codec_name })),
  };
}

export function createPostProcessor(d: PostProcessDeps) {
  const filesDir = join(d.recordingsDir, 'files');

  async function convert(rawDir: string, work: string): Promise<string[]> {
    const mjrs = (await readdir(rawDir).catch(() => [] as string[])).filter((f) => f.endsWith('.mjr')).sort();
    const outputs: string[] = [];
    for (const f of mjrs) {
      const kind = /-audio(-\d+)?\.mjr$/.test(f) ? 'audio' : /-video(-\d+)?\.mjr$/.test(f) ? 'video' : null;
      if (!kind) continue;
      const out = join(work, f.replace(/\.mjr$/, kind === 'audio' ? '.opus' : '.webm'));
      try {
        await run(d.tools.janusPpRec, [join(rawDir, f), out], { timeout: d.timeoutMs });
        if ((await stat(out)).size > 0) outputs.push(out);
      } catch (err) {
        // A file with no media (a side that never sent that kind) is skipped, not a failure.
        d.log.warn(
          { file: f, err: (err as Error).message.slice(0, 300) },
          'janus-pp-rec could not convert a file',
        );
      }
    }
    return outputs;
  }

  /** The job: idempotent, safe to run again after a crash at any point. */
  async function process(recordingId: string): Promise<void> {
    const rec = await d.repo.get(recordingId);
    if (!rec || rec.state !== 'processing') return;
    const final = `${recordingId}.webm`;
    const finalPath = join(filesDir, final);
    await mkdir(filesDir, { recursive: true });
    const done = await stat(finalPath).catch(() => null);
    if (!done) {
      const work = join(d.recordingsDir, 'work', `${recordingId}.${randomBytes(4).toString('hex')}`);
      await mkdir(work, { recursive: true });
      try {
        const inputs = await convert(rawDirOf(d.recordingsDir, recordingId), work);
        if (inputs.length === 0) {
          d.log.warn({ recordingId }, 'nothing was recorded');
          await markFailed(recordingId);
          return;
        }
        const partial = join(filesDir, `.${recordingId}.${randomBytes(4).toString('hex')}.partial.webm`);
        const args = ['-y', '-v', 'error'];
        for (const i of inputs) args.push('-i', i);
        for (let i = 0; i < inputs.length; i++) args.push('-map', String(i));
        args.push('-c', 'copy', '-f', 'webm', partial);
        try {
          await run(d.tools.ffmpeg, args, { timeout: d.timeoutMs });
          await probe(d.tools.ffprobe, partial);
          await rename(partial, finalPath);
        } catch (err) {
          await rm(partial, { force: true });
          d.log.warn(
            { recordingId, err: (err as Error).message.slice(0, 500) },
            'ffmpeg could not mux the recording',
          );
          await markFailed(recordingId);
          return;
        }
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    }
    const info = await probe(d.tools.ffprobe, finalPath);
    const size = (await stat(finalPath)).size;
    const expiresAt = d.retentionDays > 0 ? new Date(Date.now() + d.retentionDays * 86_400_000) : null;
    const ready = await d.repo.transition(recordingId, ['processing'], {
      state: 'ready',
      file: final,
      durationMs: info.durationMs,
      sizeBytes: size,
      expiresAt,
    });
    await rm(rawDirOf(d.recordingsDir, recordingId), { recursive: true, force: true });
    if (!ready) return;
    d.onReady();
    d.log.info({ recordingId, durationMs: info.durationMs, sizeBytes: size }, 'recording ready');
    await d.flow.emit(ready, 'recording-ready', {
      callId: ready.callId,
      recordingId,
      durationMs: info.durationMs,
      sizeBytes: size,
    });
  }

  async function markFailed(recordingId: string) {
    const failed = await d.repo.transition(recordingId, ['processing'], {
      state: 'failed',
      failReason: 'post-processing-failed',
    });
    d.onFailure('post-processing-failed');
    if (failed)
      await d.flow.emit(failed, 'recording-failed', {
        callId: failed.callId,
        recordingId,
        reason: 'post-processing-failed',
      });
  }

  return { process };
}
