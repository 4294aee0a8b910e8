import { PcmFramer, floatToPcm16, pcm16ToFloat, rms } from "./pcm";

describe("PCM16 conversion", () => {
  it("writes little-endian 16-bit samples, clipped", () => {
    const view = new DataView(floatToPcm16(new Float32Array([0, 1, -1, 2, 0.5])));
    expect([0, 1, 2, 3, 4].map((i) => view.getInt16(i * 2, true))).toEqual([
      0, 32767, -32768, 32767, 16383,
    ]);
    expect(view.getUint8(2)).toBe(0xff); // low byte first
  });

  it("reads PCM16 back as floats", () => {
    const samples = pcm16ToFloat(floatToPcm16(new Float32Array([0, -1, 0.25])));
    expect(Array.from(samples)).toEqual([0, -1, expect.closeTo(0.25, 3)]);
  });

  it("measures loudness", () => {
    expect(rms(new Float32Array([0.5, -0.5]))).toBeCloseTo(0.5);
    expect(rms(new Float32Array())).toBe(0);
  });
});

describe("PcmFramer", () => {
  it("cuts blocks of any size into frames of the requested duration", () => {
    const frames: ArrayBuffer[] = [];
    const framer = new PcmFramer(48_000, 40, (frame) => frames.push(frame));
    expect(framer.frameSamples).toBe(1920);
    for (let i = 0; i < 40; i += 1) framer.push(new Float32Array(128)); // 5120 samples
    expect(frames).toHaveLength(2);
    expect(frames.every((frame) => frame.byteLength === 3840)).toBe(true);
    framer.reset();
    framer.push(new Float32Array(1919));
    expect(frames).toHaveLength(2);
  });
});
