import { backoffMs } from "./backoff";

it("doubles the reconnect delay up to 30 seconds", () => {
  expect([0, 1, 2, 3, 4, 5, 9].map(backoffMs)).toEqual([
    1000, 2000, 4000, 8000, 16000, 30000, 30000,
  ]);
});
