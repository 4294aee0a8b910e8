import type { ServerEvent } from "../protocol";
import { type Action, initialState, reducer } from "./state";

const run = (...actions: Action[]) => actions.reduce(reducer, initialState);

const question: ServerEvent = {
  type: "assistant.text",
  text: "Where does it hurt?",
  stage: "interview",
  interruptible: true,
  quick_replies: [{ text: "Head" }],
  utterance_id: "u1",
};

describe("conversation reducer", () => {
  it("turns transcripts and answers into chat bubbles", () => {
    const state = run(
      { type: "session.started", session_id: "s1", resumed: false, stage: "consent", language: "en", audio_retention_consent: true },
      { type: "transcript.partial", text: "my hea", turn: 1 },
      { type: "transcript.partial", text: "my head", turn: 1 },
    );
    expect(state.partial).toBe("my head");
    expect(state.consent).toBe(true);
    const after = run(
      { type: "transcript.final", text: "my head hurts", turn: 1 },
      question,
    );
    expect(after.log.map((item) => item.kind === "message" && [item.from, item.text])).toEqual([
      ["patient", "my head hurts"],
      ["assistant", "Where does it hurt?"],
    ]);
    expect(after.partial).toBe("");
    expect(after.stage).toBe("interview");
    expect(after.quickReplies).toEqual([{ text: "Head" }]);
  });

  it("waits for the answer after the patient's turn", () => {
    const waiting = run({ type: "local.sent", text: "yes" });
    expect(waiting.awaitingReply).toBe(true);
    expect(reducer(waiting, question).awaitingReply).toBe(false);
  });

  it("keeps a booking pending until it is confirmed or refused", () => {
    const pending = run({ type: "local.slotSelected" });
    expect(pending.bookingPending).toBe(true);
    const refused = reducer(pending, { type: "error", code: "x", message: "Taken", fatal: false });
    expect(refused).toMatchObject({ bookingPending: false, notice: { message: "Taken" } });
  });

  it("separates fatal errors from those the conversation survives", () => {
    const busy = run({ type: "error", code: "voice.service_busy", message: "Busy", fatal: true });
    expect(busy.fatal?.code).toBe("voice.service_busy");
    expect(busy.notice).toBeNull();
  });

  it("records the withdrawal of the audio consent", () => {
    const state = run(
      { type: "local.connecting", consent: true },
      { type: "audio.retention", consent: false, recordings_deleted: 2 },
    );
    expect(state).toMatchObject({ consent: false, retention: { recordings_deleted: 2 } });
  });
});
