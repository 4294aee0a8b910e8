/**
 * The audio arithmetic of the conversation socket: the microphone gives Float32 blocks of any
 * length, the server takes PCM16 little-endian frames of a fixed duration, and the reply audio
 * comes back as PCM16 to be played as Float32. Kept free of Web Audio so it can be tested.
 */

/** Float32 samples in [-1, 1] as PCM16 little-endian bytes (clipped). */
export function floatToPcm16(samples: Float32Array): ArrayBuffer {
  const buffer = new ArrayBuffer(samples.length * 2);
  const view = new DataView(buffer);
  samples.forEach((sample, index) => {
    const clipped = Math.max(-1, Math.min(1, sample));
    view.setInt16(index * 2, clipped < 0 ? clipped * 0x8000 : clipped * 0x7fff, true);
  });
  return buffer;
}

/** PCM16 little-endian bytes as Float32 samples in [-1, 1] (a trailing odd byte is ignored). */
export function pcm16ToFloat(bytes: ArrayBuffer): Float32Array<ArrayBuffer> {
  const view = new DataView(bytes);
  const samples = new Float32Array(Math.floor(bytes.byteLength / 2));
  for (let index = 0; index < samples.length; index += 1) {
    samples[index] = view.getInt16(index * 2, true) / 0x8000;
  }
  return samples;
}

/** Root mean square of a block: the loudness shown by the level meter. */
export function rms(samples: Float32Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (const sample of samples) sum += sample * sample;
  return Math.sqrt(sum / samples.length);
}

/**
 * Cuts a stream of Float32 blocks into frames of `frameMs` at `sampleRate`, each handed over as
 * PCM16 bytes. What does not fill a frame waits for the next block.
 */
export class PcmFramer {
  readonly frameSamples: number;
  private pending: Float32Array;
  private filled = 0;

  constructor(
    sampleRate: number,
    frameMs: number,
    private readonly onFrame: (frame: ArrayBuffer) => void,
  ) {
    this.frameSamples = Math.round((sampleRate * frameMs) / 1000);
    this.pending = new Float32Array(this.frameSamples);
  }

  push(block: Float32Array): void {
    let offset = 0;
    while (offset < block.length) {
      const take = Math.min(this.frameSamples - this.filled, block.length - offset);
      this.pending.set(block.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      if (this.filled === this.frameSamples) {
        this.onFrame(floatToPcm16(this.pending));
        this.filled = 0;
      }
    }
  }

  /** Drop a partial frame (the microphone was turned off mid-frame). */
  reset(): void {
    this.filled = 0;
  }
}
