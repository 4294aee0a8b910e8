/**
 * Plays the assistant's reply audio: each PCM16 frame becomes an AudioBuffer at the rate
 * announced by `audio.start` (Web Audio resamples to the device) and is scheduled right after
 * the previous one, so the reply plays without gaps. `flush` stops everything at once (stop
 * button, barge-in). It counts the milliseconds actually played.
 */
import { pcm16ToFloat } from "./pcm";

interface Scheduled {
  source: AudioBufferSourceNode;
  startsAt: number;
  seconds: number;
}

export class Playback {
  private sampleRate = 24_000;
  private nextStart = 0;
  private readonly queue = new Set<Scheduled>();
  private streaming = false;
  playedMs = 0;

  constructor(
    private readonly context: AudioContext,
    private readonly onChange: () => void,
  ) {}

  /** The assistant is speaking: a reply is arriving or still queued. */
  get speaking(): boolean {
    return this.streaming || this.queue.size > 0;
  }

  begin(sampleRate: number): void {
    this.sampleRate = sampleRate;
    this.streaming = true;
    if (this.context.state === "suspended") void this.context.resume();
    this.onChange();
  }

  enqueue(bytes: ArrayBuffer): void {
    const samples = pcm16ToFloat(bytes);
    if (samples.length === 0) return;
    const buffer = this.context.createBuffer(1, samples.length, this.sampleRate);
    buffer.copyToChannel(samples, 0);
    const source = this.context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.context.destination);
    const startsAt = Math.max(this.context.currentTime + 0.03, this.nextStart);
    const item: Scheduled = { source, startsAt, seconds: buffer.duration };
    source.onended = () => {
      if (!this.queue.delete(item)) return;
      this.playedMs += item.seconds * 1000;
      this.onChange();
    };
    this.queue.add(item);
    source.start(startsAt);
    this.nextStart = startsAt + buffer.duration;
  }

  /** The reply's last frame arrived; what is queued plays out. */
  end(): void {
    this.streaming = false;
    this.onChange();
  }

  /** Stop at once and drop what is queued. */
  flush(): void {
    const now = this.context.currentTime;
    for (const item of this.queue) {
      this.playedMs += Math.min(Math.max(now - item.startsAt, 0), item.seconds) * 1000;
      item.source.onended = null;
      item.source.stop();
    }
    this.queue.clear();
    this.nextStart = 0;
    this.streaming = false;
    this.onChange();
  }
}
