import { act, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { renderScreen } from "../../test/render";
import ConversationPage from "./ConversationPage";
import type { ServerEvent } from "./protocol";

/** A WebSocket that records what the page sends and lets the test play the server. */
class FakeSocket {
  static OPEN = 1;
  static last: FakeSocket | null = null;
  readyState = 0;
  binaryType = "blob";
  sent: unknown[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string | ArrayBuffer }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.last = this;
  }
  send(data: string | ArrayBuffer) {
    this.sent.push(typeof data === "string" ? JSON.parse(data) : data);
  }
  close() {
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  receive(event: ServerEvent) {
    this.onmessage?.({ data: JSON.stringify(event) });
  }
}

beforeEach(() => {
  sessionStorage.clear();
  vi.stubGlobal("WebSocket", FakeSocket);
  vi.spyOn(globalThis, "fetch").mockImplementation(async () =>
    Response.json({ subject: "guest-1", roles: ["patient"], guest: true, permissions: [], expires_at: "", csrf_token: "t", guest_upgrade_pending: false }),
  );
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

it("sends typed text and shows the triage card when the result arrives", async () => {
  const user = userEvent.setup();
  renderScreen(<ConversationPage />, { path: "/talk" });

  await user.click(screen.getByRole("radio", { name: "Type" }));
  await user.click(await screen.findByRole("button", { name: "Start" }));
  const socket = FakeSocket.last!;
  expect(socket.url).toMatch(/\/ws\/v1\/conversation$/);
  act(() => socket.open());
  expect(socket.sent[0]).toEqual({ type: "session.start", language: "en", channel: "text" });
  expect(screen.getByTestId("conversation")).toHaveAttribute("data-connection", "open");

  act(() => {
    socket.receive({ type: "session.started", session_id: "s1", resumed: false, stage: "chief_complaint", language: "en", audio_retention_consent: false });
    socket.receive({ type: "assistant.text", text: "What brings you here?", stage: "chief_complaint", interruptible: true, quick_replies: [], utterance_id: "u1" });
  });
  await user.type(screen.getByRole("textbox", { name: "Type your message" }), "I have a sore throat{Enter}");
  expect(socket.sent[1]).toEqual({ type: "text", text: "I have a sore throat" });
  const log = screen.getByRole("log", { name: "Conversation" });
  expect(within(log).getAllByTestId("chat-message").map((m) => m.dataset.from)).toEqual(["assistant", "patient"]);
  expect(screen.getByRole("textbox", { name: "Type your message" })).toHaveValue("");

  act(() =>
    socket.receive({ type: "triage.result", level: "consultation", instruction: "See a doctor this week.", reasons: [], conditions: [], disclaimer: "Not a diagnosis.", assessment_id: "a1", emergency_number: null, bookable: true }),
  );
  expect(within(log).getByTestId("triage-card")).toHaveTextContent("See a doctor this week.");
  expect(JSON.parse(sessionStorage.getItem("voiceassist.conversation")!)).toMatchObject({ sessionId: "s1" });
});

it("explains a busy assistant and offers to try again", async () => {
  const user = userEvent.setup();
  renderScreen(<ConversationPage />, { path: "/talk" });
  await user.click(screen.getByRole("radio", { name: "Type" }));
  await user.click(await screen.findByRole("button", { name: "Start" }));
  const socket = FakeSocket.last!;
  act(() => {
    socket.open();
    socket.receive({ type: "error", code: "voice.service_busy", message: "Busy", fatal: true });
    socket.onclose?.({ code: 1013 });
  });
  expect(screen.getByRole("alert")).toHaveTextContent("The assistant is busy right now");
  expect(screen.getByTestId("conversation")).toHaveAttribute("data-connection", "closed");
  await user.click(screen.getByRole("button", { name: "Try again" }));
  expect(FakeSocket.last).not.toBe(socket);
});

it("reconnects after an unexpected close and resumes the same conversation", async () => {
  const user = userEvent.setup();
  renderScreen(<ConversationPage />, { path: "/talk" });
  await user.click(screen.getByRole("radio", { name: "Type" }));
  await user.click(await screen.findByRole("button", { name: "Start" }));
  const first = FakeSocket.last!;
  act(() => {
    first.open();
    first.receive({ type: "session.started", session_id: "s9", resumed: false, stage: "interview", language: "en", audio_retention_consent: false });
  });
  vi.useFakeTimers();
  try {
    act(() => first.onclose?.({ code: 1006 }));
    expect(screen.getByTestId("connection-status")).toHaveTextContent("Reconnecting");
    act(() => vi.advanceTimersByTime(1000));
  } finally {
    vi.useRealTimers();
  }
  const second = FakeSocket.last!;
  expect(second).not.toBe(first);
  act(() => second.open());
  expect(second.sent[0]).toMatchObject({ type: "session.start", session_id: "s9" });
  expect(screen.getByTestId("conversation")).toHaveAttribute("data-connection", "open");
});
