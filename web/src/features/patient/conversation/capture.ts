/**
 * The microphone: runs the capture worklet and hands over PCM16 frames of FRAME_MS at the
 * context's rate, plus the loudness of each block for the level meter.
 *
 * Echo cancellation stays on by default: hands-free on a laptop's speakers would otherwise hear
 * the assistant's own voice and barge in on it. Noise suppression is off (it smears the
 * consonants the recogniser needs). A raw microphone (all three off) is used when
 * localStorage `voiceassist.rawMicrophone` is "1": a headset user who wants the cleanest signal,
 * and the browser tests, whose fake capture device plays a file that browser processing would
 * distort.
 */
import workletUrl from "./capture-worklet.ts?worker&url";
import { PcmFramer, rms } from "./pcm";

export const FRAME_MS = 40;

export type MicProblem = "denied" | "missing" | "unsupported";

export interface Capture {
  stop(): void;
}

/** Why getUserMedia failed, in the terms the screen explains. */
export function micProblem(error: unknown): MicProblem {
  if (error instanceof DOMException) {
    if (error.name === "NotAllowedError" || error.name === "SecurityError") return "denied";
    if (error.name === "NotFoundError" || error.name === "OverconstrainedError") return "missing";
  }
  return "unsupported";
}

export const RAW_MICROPHONE_KEY = "voiceassist.rawMicrophone";

/** Whether the browser's own audio processing is turned off (see the module comment). */
export function rawMicrophone(): boolean {
  try {
    return window.localStorage.getItem(RAW_MICROPHONE_KEY) === "1";
  } catch {
    return false; // storage blocked: keep the safe default
  }
}

export async function startCapture(
  context: AudioContext,
  onFrame: (frame: ArrayBuffer) => void,
  onLevel: (level: number) => void,
): Promise<Capture> {
  if (!navigator.mediaDevices?.getUserMedia || !context.audioWorklet) {
    throw new DOMException("no microphone API", "NotSupportedError");
  }
  const raw = rawMicrophone();
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: {
      echoCancellation: !raw,
      noiseSuppression: false,
      autoGainControl: !raw,
      channelCount: 1,
    },
  });
  try {
    await context.audioWorklet.addModule(workletUrl);
  } catch (error) {
    stream.getTracks().forEach((track) => track.stop());
    throw error;
  }
  const source = context.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(context, "voiceassist-capture", {
    numberOfInputs: 1,
    numberOfOutputs: 0,
    channelCount: 1,
    channelCountMode: "explicit",
  });
  const framer = new PcmFramer(context.sampleRate, FRAME_MS, onFrame);
  node.port.onmessage = (event: MessageEvent<Float32Array>) => {
    framer.push(event.data);
    onLevel(rms(event.data));
  };
  source.connect(node);
  return {
    stop() {
      node.port.onmessage = null;
      source.disconnect();
      node.disconnect();
      stream.getTracks().forEach((track) => track.stop());
      onLevel(0);
    },
  };
}
