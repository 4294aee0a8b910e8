/**
 * Checks of a weekly availability before it is sent: each range ends after it starts, its slot
 * length fits the API's bounds, and ranges of one day do not overlap (the API refuses both).
 */
import type { AvailabilityRule } from "./api";

export type RangeProblem = "endBeforeStart" | "missingTime" | "slotLength" | "overlap";

const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

/** The problem of each range (by index); empty when the whole week can be sent. */
export function checkRanges(rules: AvailabilityRule[]): Map<number, RangeProblem> {
  const problems = new Map<number, RangeProblem>();
  rules.forEach((rule, index) => {
    if (!TIME.test(rule.start) || !TIME.test(rule.end)) problems.set(index, "missingTime");
    else if (rule.end <= rule.start) problems.set(index, "endBeforeStart");
    else if (!Number.isInteger(rule.slot_minutes) || rule.slot_minutes < 5 || rule.slot_minutes > 480) {
      problems.set(index, "slotLength");
    }
  });
  rules.forEach((rule, index) => {
    if (problems.has(index)) return;
    const overlaps = rules.some(
      (other, otherIndex) =>
        otherIndex !== index &&
        !problems.has(otherIndex) &&
        other.weekday === rule.weekday &&
        other.start < rule.end &&
        rule.start < other.end,
    );
    if (overlaps) problems.set(index, "overlap");
  });
  return problems;
}
