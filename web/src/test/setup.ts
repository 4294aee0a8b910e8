// Vitest: DOM matchers for every test, and the real translations (English by default).
import "@testing-library/jest-dom/vitest";
import "../i18n";
